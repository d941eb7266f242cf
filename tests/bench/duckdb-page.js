// The DuckDB-Wasm side of the browser benchmark (issue 6), loaded by duckdb-official.html and
// duckdb-malloy.html: those pages map the bare specifiers `duckdb` and `apache-arrow` (with
// arrow's own `flatbuffers`, `tslib`) to files under /bench/node_modules/ with an import map, so the
// same code runs on either build. Nothing is downloaded: both builds are served from the benchmark's
// own npm project, tests/bench/node_modules (tests/bench/package.json), by tests/bench/server.mjs.
//
// Installs `window.duck` (driven by tests/bench/run.mjs through playwright-core):
//   duck.ready                         resolves once the database is instantiated and connected
//   duck.ingest({ name, url, gzip, sql }) → { ms }   registers the input and runs `sql` (a CTAS);
//        plain files are registered by URL and read by DuckDB over HTTP (HEAD + Range requests);
//        gzip files are fetched and gunzipped by the browser's DecompressionStream into a buffer,
//        because neither build reads a .json.gz over HTTP correctly. `ms` includes all of that.
//   duck.query(sql) → { ms, rows }     rows as plain objects (BigInt → Number), `ms` includes
//        turning the Arrow result into those objects.
import * as duckdb from 'duckdb';

const dist = document.querySelector('meta[name="duckdb-dist"]').content;
const build = document.querySelector('meta[name="duckdb-build"]').content;

async function start() {
  // The single-threaded "eh" bundle: no pthreads (the COI bundle needs more than this page
  // offers), the same choice selectBundle makes without cross-origin-isolated threads.
  const worker = new Worker(`${dist}duckdb-browser-eh.worker.js`);
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  await db.instantiate(`${dist}duckdb-eh.wasm`);
  const conn = await db.connect();
  const version = await db.getVersion();
  return { db, conn, version };
}

const started = start();

function plain(value) {
  if (typeof value === 'bigint') return Number(value);
  if (value !== null && typeof value === 'object' && typeof value.valueOf === 'function') {
    const v = value.valueOf();
    if (typeof v === 'bigint' || typeof v === 'number') return Number(v);
  }
  return value;
}

window.duck = {
  build,
  ready: started.then(({ version }) => ({ build, version })),
  async ingest({ name, url, gzip, sql }) {
    const { db, conn } = await started;
    const t0 = performance.now();
    if (gzip) {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`fetch ${url}: HTTP ${response.status}`);
      const gunzipped = response.body.pipeThrough(new DecompressionStream('gzip'));
      const bytes = new Uint8Array(await new Response(gunzipped).arrayBuffer());
      await db.registerFileBuffer(name, bytes);
    } else {
      await db.registerFileURL(name, url, duckdb.DuckDBDataProtocol.HTTP, false);
    }
    await conn.query(sql);
    return { ms: performance.now() - t0 };
  },
  async query(sql) {
    const { conn } = await started;
    const t0 = performance.now();
    const table = await conn.query(sql);
    const names = table.schema.fields.map((f) => f.name);
    const rows = [];
    for (const row of table) {
      const out = {};
      for (const n of names) out[n] = plain(row[n]);
      rows.push(out);
    }
    return { ms: performance.now() - t0, rows };
  },
};
