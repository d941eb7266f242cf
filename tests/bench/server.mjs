// Static server of the browser benchmark (issue 6), on 127.0.0.1, same origin for everything:
//   /                 dist/ (Acorn's built page, served as is; see WORKER_PROBE below)
//   /bench/           tests/bench/ (the DuckDB-Wasm pages), including
//   /bench/node_modules/  tests/bench/node_modules/ (DuckDB-Wasm and apache-arrow, loaded by those
//                     pages; the benchmark's own npm project, tests/bench/package.json, installed by
//                     scripts/bench-browser.sh; the root node_modules is not served)
//   /bench-data/      target/bench-data/ (generated input)
//   /data/            ../shared/data/druid (the docs' wikipedia.json.gz; ACORN_SHARED overrides)
// Like tests/e2e/serve.py it sends the cross-origin isolation headers of Trunk.toml, correct MIME
// types and no caching; unlike it, it answers HEAD and single `Range: bytes=a-b` requests (both
// engines read HTTP input by ranges) and streams large files without copying them in memory.
//
//   node tests/bench/server.mjs [--port 8091]       (standalone, for poking at the pages)
import { createServer } from 'node:http';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR, ROOT } from './gen-data.mjs';

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.cjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.map': 'application/json',
  '.csv': 'text/csv', '.gz': 'application/gzip', '.ts': 'text/plain',
};

/**
 * Prepended to dist/msq-worker_loader.js (only as served; dist/ is not touched): keeps every
 * WebAssembly.Memory the worker instantiates in `self.__benchMemories`, so the runner can read
 * each worker's wasm memory size through page.workers(). Wasm memory never shrinks, so its size
 * after a workload is that worker's peak.
 */
const WORKER_PROBE = `(function(){var W=WebAssembly;self.__benchMemories=[];
function keep(r){try{var inst=r&&r.instance?r.instance:r;var ex=inst&&inst.exports;if(ex){for(var k in ex){if(ex[k] instanceof W.Memory){self.__benchMemories.push(ex[k]);}}}}catch(e){}return r;}
var i=W.instantiate,s=W.instantiateStreaming;
W.instantiate=function(){return i.apply(this,arguments).then(keep);};
if(s){W.instantiateStreaming=function(){return s.apply(this,arguments).then(keep);};}})();\n`;

function mounts(shared) {
  return [
    ['/bench/', join(ROOT, 'tests', 'bench')],
    ['/bench-data/', DATA_DIR],
    ['/data/', join(shared, 'data', 'druid')],
    ['/', join(ROOT, 'dist')],
  ];
}

/** The file a URL path names, or null when it escapes its mount. */
function resolvePath(table, urlPath) {
  let clean;
  try {
    clean = decodeURIComponent(urlPath.split('?', 1)[0].split('#', 1)[0]);
  } catch {
    return null;
  }
  for (const [prefix, dir] of table) {
    if (!clean.startsWith(prefix)) continue;
    const rel = normalize(clean.slice(prefix.length) || 'index.html').replace(/^([/\\])+/, '');
    if (rel.startsWith('..')) return null;
    const file = join(dir, rel === '.' ? 'index.html' : rel);
    return file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

/** Starts the server; resolves to { url, close() }. Port 0 picks a free port. */
export function startServer({ port = 0, shared = process.env.ACORN_SHARED ?? join(ROOT, '..', 'shared') } = {}) {
  const table = mounts(shared);
  const server = createServer((req, res) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    const file = resolvePath(table, req.url);
    if (!file || !existsSync(file) || !statSync(file).isFile()) return send(res, 404, `not found: ${req.url}`);
    const type = MIME[extname(file)] ?? 'application/octet-stream';
    const size = statSync(file).size;

    if (req.url.split('?')[0] === '/msq-worker_loader.js') {
      const body = Buffer.concat([Buffer.from(WORKER_PROBE), readFileSync(file)]);
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length });
      return res.end(req.method === 'HEAD' ? undefined : body);
    }

    // A single range `bytes=a-b`, `bytes=a-` or `bytes=-n`; anything else (several ranges, other
    // units, `bytes=-`, b < a) is ignored and answered with the whole file, as RFC 9110 allows.
    const m = req.headers.range ? /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(req.headers.range) : null;
    const range = m && (m[1] !== '' || m[2] !== '')
      && !(m[1] !== '' && m[2] !== '' && Number(m[2]) < Number(m[1])) ? m : null;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const headers = { 'Content-Type': type, 'Accept-Ranges': 'bytes' };
    if (range) {
      if (range[1] === '') { // suffix range: the last N bytes
        start = Math.max(0, size - Number(range[2]));
      } else {
        start = Number(range[1]);
        if (range[2] !== '') end = Math.min(end, Number(range[2]));
      }
      if (start > end || start >= size) {
        return send(res, 416, 'range not satisfiable', { 'Accept-Ranges': 'bytes', 'Content-Range': `bytes */${size}` });
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['Content-Length'] = end - start + 1;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || size === 0) return res.end();
    const stream = createReadStream(file, { start, end, highWaterMark: 1 << 20 });
    stream.on('error', (err) => res.destroy(err));
    res.on('close', () => stream.destroy());
    return stream.pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address();
      resolve({
        url: `http://127.0.0.1:${bound}`,
        close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(done); }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8091;
  const { url } = await startServer({ port });
  console.log(`bench server on ${url}/ (Acorn), ${url}/bench/duckdb-malloy.html, ${url}/bench/duckdb-official.html`);
}
