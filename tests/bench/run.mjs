// Browser benchmark of issue 6: Acorn (dist/, the built Query view, driven through window.acorn)
// against DuckDB-Wasm (tests/bench/duckdb-*.html, from tests/bench/package.json), in the same headless Debian Chromium
// (playwright-core, no browser download), on the same generated data served from 127.0.0.1.
//
//   node tests/bench/run.mjs        (scripts/bench-browser.sh sets up npm deps first)
//
// npm: playwright-core resolves from the root node_modules (root package.json, installed by
// scripts/setup.sh); DuckDB-Wasm lives in tests/bench/node_modules (tests/bench/package.json, only
// installed by scripts/bench-browser.sh, so CI's `npm ci` does not fetch its ~250 MB).
//
// Environment:
//   ACORN_BENCH_ROWS     comma-separated row counts (default 100000,1000000)
//   ACORN_BENCH_RUNS     cold runs per workload, each in a fresh browser profile (default 3)
//   ACORN_BENCH_WARM     warm repeats of W3–W6 after the first (cold) query of a page (default 4)
//   ACORN_BENCH_TIMEOUT  seconds one workload may take before it counts as FAILED (default 900)
//   CHROMIUM             the browser binary (default /usr/bin/chromium)
//
// Workloads (Acorn SQL goes through window.acorn.submit/status or window.acorn.sql; DuckDB runs
// the same statements on its table):
//   W1 ingest over HTTP: NDJSON plain and gzip, CSV (Acorn: INSERT … PARTITIONED BY DAY; DuckDB:
//      CREATE TABLE AS SELECT … read_json / read_csv with the same 24 column types)
//   W2 the docs' example INSERT of wikipedia.json.gz (submit → SUCCESS)
//   W3 GROUP BY channel with COUNT/SUM; W4 filtered GROUP BY on two keys ORDER BY … LIMIT 10;
//   W5 exact COUNT(DISTINCT "user"); W6 SELECT … WHERE … LIMIT 100
//   ceiling: at the smallest size, one thread decoding the NDJSON with serde_json alone and with
//      Acorn's reader, in Acorn's own wasm (POST /acorn/v1/bench/decode; decode only)
// W3–W6 answers are compared after normalisation (rows sorted, numbers as numbers): a difference
// marks the workload INVALID and is printed. A workload that fails prints FAILED and its reason.
//
// Prints one table and writes it as JSON to target/bench-out/browser-bench.json.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { COLUMNS, ensureData, ROOT } from './gen-data.mjs';
import { startServer } from './server.mjs';

const env = process.env;
const ROWS = (env.ACORN_BENCH_ROWS ?? '100000,1000000').split(',').map((s) => Number(s.trim()));
const RUNS = Number(env.ACORN_BENCH_RUNS ?? 3);
const WARM = Number(env.ACORN_BENCH_WARM ?? 4);
const TIMEOUT_MS = Number(env.ACORN_BENCH_TIMEOUT ?? 900) * 1000;
const SHARED = env.ACORN_SHARED ?? join(ROOT, '..', 'shared');
const OUT_DIR = join(ROOT, 'target', 'bench-out');
if (ROWS.some((n) => !Number.isInteger(n) || n <= 0) || !(RUNS >= 1) || !(WARM >= 0)) {
  console.error('ACORN_BENCH_ROWS must be positive integers, ACORN_BENCH_RUNS ≥ 1, ACORN_BENCH_WARM ≥ 0');
  process.exit(2);
}

// ── SQL ────────────────────────────────────────────────────────────────────────────────────

const SIGNATURE = JSON.stringify(COLUMNS.map(([name, type]) => ({ name, type })));
const DUCK_COLUMNS = `{${COLUMNS.map(([n, t]) => `'${n}': '${t === 'long' ? 'BIGINT' : 'VARCHAR'}'`).join(', ')}}`;
const FORMATS = {
  json: { label: 'NDJSON', file: 'json', acorn: '{"type":"json"}', duck: 'malloy', gzip: false },
  gz: { label: 'NDJSON.gz', file: 'json.gz', acorn: '{"type":"json"}', duck: 'malloy', gzip: true },
  csv: { label: 'CSV', file: 'csv', acorn: '{"type":"csv","findColumnsFromHeader":true}', duck: 'official', gzip: false },
};

function acornInsert(ds, url, format) {
  return `INSERT INTO ${ds} SELECT TIME_PARSE("timestamp") AS __time, * FROM TABLE(EXTERN(`
    + `'{"type":"http","uris":["${url}"]}', '${format}', '${SIGNATURE}')) PARTITIONED BY DAY`;
}

function duckIngest(ds, name, kind, columns = DUCK_COLUMNS) {
  const reader = kind === 'csv'
    ? `read_csv('${name}', header=true, delim=',', quote='"', auto_detect=false, columns=${columns})`
    : `read_json('${name}', format='newline_delimited', columns=${columns})`;
  return `CREATE TABLE ${ds} AS SELECT CAST("timestamp" AS TIMESTAMP) AS __time, * FROM ${reader}`;
}

/** The docs' example INSERT, verbatim from sql-ingestion-api.md, its URL pointed at /data/. */
function docsInsert(origin) {
  const spec = readFileSync(join(SHARED, 'spec', 'sql-ingestion-api.md'), 'utf8');
  const body = spec.match(/```json\n(\{\n  "query": "INSERT INTO wikipedia[\s\S]*?\n\})\n```/);
  if (!body) throw new Error('the docs example INSERT was not found in sql-ingestion-api.md');
  return JSON.parse(body[1]).query.replace('https://druid.apache.org/data/', `${origin}/data/`);
}
const DOCS_ROWS = 24433;
const DOCS_DUCK_COLUMNS = DUCK_COLUMNS; // the docs' signature: the same 24 names, the same types

/**
 * W3–W6: [id, title, Acorn SQL, DuckDB SQL, Acorn context]. `{T}` is replaced by the table.
 * W6's filter keeps about 0.006 % of the rows (6 at 100k, 62 at 1M), so LIMIT 100 does not cut
 * and both engines must return the same set of rows whatever their scan order.
 */
const QUERIES = [
  ['W3', 'GROUP BY channel, COUNT/SUM',
    'SELECT channel, COUNT(*) AS cnt, SUM(added) AS added FROM {T} GROUP BY channel',
    'SELECT channel, COUNT(*) AS cnt, CAST(SUM(added) AS BIGINT) AS added FROM {T} GROUP BY channel', {}],
  ['W4', 'filtered GROUP BY 2 keys, ORDER BY … LIMIT 10',
    `SELECT channel, namespace, COUNT(*) AS cnt, SUM(delta) AS delta FROM {T} WHERE isRobot = 'false' AND added > 1000 `
      + 'GROUP BY channel, namespace ORDER BY cnt DESC, channel, namespace LIMIT 10',
    `SELECT channel, namespace, COUNT(*) AS cnt, CAST(SUM(delta) AS BIGINT) AS delta FROM {T} WHERE isRobot = 'false' AND added > 1000 `
      + 'GROUP BY channel, namespace ORDER BY cnt DESC, channel, namespace LIMIT 10', {}],
  ['W5', 'COUNT(DISTINCT "user"), exact',
    'SELECT COUNT(DISTINCT "user") AS users FROM {T}',
    'SELECT COUNT(DISTINCT "user") AS users FROM {T}', { useApproximateCountDistinct: false }],
  ['W6', 'SELECT … WHERE … LIMIT 100',
    `SELECT "timestamp", channel, "user", page, added, deleted, comment, cityName FROM {T} `
      + `WHERE channel = '#de.wikipedia' AND added >= 1998 AND deleted < 150 LIMIT 100`,
    `SELECT "timestamp", channel, "user", page, added, deleted, comment, cityName FROM {T} `
      + `WHERE channel = '#de.wikipedia' AND added >= 1998 AND deleted < 150 LIMIT 100`, {}],
];

// ── Browser helpers ────────────────────────────────────────────────────────────────────────

const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;
const short = (n) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));

function withTimeout(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** A fresh profile and page (cold: no cache, no OPFS, no Service Worker; see `browser`). */
async function freshPage(browser, url, label) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console.error: ${m.text()}`); });
  page.on('crash', () => errors.push('page crashed'));
  try {
    await page.goto(url, { timeout: 60000 });
  } catch (e) {
    await context.close();
    throw new Error(`${label}: could not open ${url}: ${e.message}`);
  }
  const fail = (e) => new Error(`${label}: ${String(e.message ?? e).split('\n')[0]}`
    + `${errors.length ? ` [page errors: ${errors.slice(-3).join(' | ')}]` : ''}`);
  return { context, page, errors, fail };
}

async function acornPage(browser, origin) {
  const p = await freshPage(browser, `${origin}/`, 'Acorn page');
  try {
    await p.page.waitForFunction(() => window.acorn !== undefined, null, { timeout: 60000 });
  } catch (e) {
    await p.context.close();
    throw p.fail(new Error(`window.acorn did not appear: ${e.message}`));
  }
  // Let the page's worker pool come up so its start-up is not billed to the first workload.
  await p.page.waitForFunction(() => {
    const rows = document.querySelectorAll('.worker-row');
    return rows.length > 0 && [...rows].every((r) => r.getAttribute('data-state') === 'ready');
  }, null, { timeout: 30000 }).catch(() => {});
  return p;
}

/** Submits a task and polls its status in the page; the wall time of submit → SUCCESS. */
async function acornTask(p, sql, context) {
  try {
    return await withTimeout(p.page.evaluate(async ([query, ctx]) => {
      const t0 = performance.now();
      const { taskId } = await window.acorn.submit(query, ctx);
      for (;;) {
        const s = (await window.acorn.status(taskId)).status;
        if (s.status === 'SUCCESS') return { ms: performance.now() - t0, taskId };
        if (s.status === 'FAILED') throw new Error(`task ${taskId} FAILED: ${s.errorMsg ?? '(no errorMsg)'}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }, [sql, context]), 'Acorn task');
  } catch (e) {
    throw p.fail(e);
  }
}

async function acornSql(p, sql, context) {
  try {
    return await withTimeout(p.page.evaluate(async ([query, ctx]) => {
      const t0 = performance.now();
      const rows = await window.acorn.sql(query, ctx);
      return { ms: performance.now() - t0, rows };
    }, [sql, context]), 'Acorn sql');
  } catch (e) {
    throw p.fail(new Error(`${e.message}${e.body ? ` ${JSON.stringify(e.body)}` : ''}`));
  }
}

/**
 * One thread's NDJSON decode in Acorn's wasm (`POST /acorn/v1/bench/decode`, answered by the
 * engine worker): `reader` 'acorn' (the reader ingestion uses) or 'serde_json' (serde_json
 * alone, the issue's ceiling). The file is fetched whole first; only decoding is timed.
 */
async function acornDecode(p, url, reader) {
  const signature = COLUMNS.map(([name, type]) => ({ name, type }));
  try {
    return await withTimeout(p.page.evaluate((body) => window.acorn.request('POST', '/acorn/v1/bench/decode', body),
      { uri: url, inputFormat: { type: 'json' }, signature, reader }), 'Acorn decode');
  } catch (e) {
    throw p.fail(new Error(`${e.message}${e.body ? ` ${JSON.stringify(e.body)}` : ''}`));
  }
}

/** Every worker's wasm memory (bytes) as the loader probe saw it; wasm memory never shrinks. */
async function acornWorkerMemory(p) {
  const sizes = [];
  for (const w of p.page.workers()) {
    const s = await w.evaluate(() => (self.__benchMemories ?? []).map((m) => m.buffer.byteLength)).catch(() => []);
    if (s.length) sizes.push(Math.max(...s));
  }
  return sizes.sort((a, b) => b - a);
}

async function duckPage(browser, origin, build) {
  const p = await freshPage(browser, `${origin}/bench/duckdb-${build}.html`, `DuckDB-Wasm (${build}) page`);
  try {
    p.version = await withTimeout(p.page.evaluate(() => window.duck.ready), 'DuckDB start');
  } catch (e) {
    await p.context.close();
    throw p.fail(e);
  }
  return p;
}

async function duckIngestRun(p, args) {
  try {
    return await withTimeout(p.page.evaluate((a) => window.duck.ingest(a), args), 'DuckDB ingest');
  } catch (e) {
    throw p.fail(e);
  }
}

async function duckQuery(p, sql) {
  try {
    return await withTimeout(p.page.evaluate((q) => window.duck.query(q), sql), 'DuckDB query');
  } catch (e) {
    throw p.fail(e);
  }
}

// ── Results ────────────────────────────────────────────────────────────────────────────────

/** results[key] = { workload, title, engine, rows, samples: [ms], cold: [ms], error, answer } */
const results = new Map();
/** DuckDB core version of each build, as the page reports it. */
const duckVersions = {};
function entry(workload, title, engine, rows) {
  const key = `${workload}|${engine}`;
  if (!results.has(key)) results.set(key, { workload, title, engine, rows, samples: [], cold: [], error: null, answer: null });
  return results.get(key);
}
function failed(e, err) {
  if (!e.error) e.error = String(err.message ?? err);
  console.log(`  FAILED ${e.workload} ${e.engine}: ${e.error}`);
}

function normalise(rows) {
  return rows.map((row) => JSON.stringify(Object.keys(row).sort().map((k) => {
    let v = row[k];
    if (typeof v === 'bigint') v = Number(v);
    if (typeof v === 'string' && v.trim() !== '' && /^-?\d+(\.\d+)?$/.test(v) && k !== 'timestamp') v = Number(v);
    return [k, v];
  }))).sort();
}

function compare(a, b) {
  const na = normalise(a);
  const nb = normalise(b);
  if (JSON.stringify(na) === JSON.stringify(nb)) return null;
  const onlyA = na.filter((r) => !nb.includes(r));
  const onlyB = nb.filter((r) => !na.includes(r));
  return { acornRows: na.length, duckdbRows: nb.length, onlyAcorn: onlyA.slice(0, 5), onlyDuckDB: onlyB.slice(0, 5) };
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ── The run ────────────────────────────────────────────────────────────────────────────────

async function runAcornSize(browser, origin, rows, memory) {
  for (const [kind, f] of Object.entries(FORMATS)) {
    const w1 = entry(`W1 ingest ${f.label} ${short(rows)}`, `INSERT … PARTITIONED BY DAY, ${f.label} over HTTP`, 'Acorn', rows);
    const ds = `bench_${kind}_${rows}`;
    let p;
    try {
      p = await acornPage(browser, origin);
      const url = `${origin}/bench-data/edits-${rows}.${f.file}`;
      const { ms } = await acornTask(p, acornInsert(ds, url, f.acorn), { maxNumTasks: 3 });
      const count = (await acornSql(p, `SELECT COUNT(*) AS c FROM ${ds}`, {})).rows[0]?.c;
      if (Number(count) !== rows) throw new Error(`ingested ${count} rows, expected ${rows}`);
      w1.samples.push(ms);
      w1.cold.push(ms);
      if (kind === 'json') await runQueries(rows, 'Acorn', (sql, ctx) => acornSql(p, sql.replaceAll('{T}', ds), ctx), 2);
      // Memory of the ingest and the queries, before the decode ceiling (which fetches the
      // whole file into the engine's thread and is no workload of Acorn's).
      const mem = await acornWorkerMemory(p);
      console.log(`  ${f.label} ${short(rows)}: peak wasm memory per worker ${mem.map(mib).join(', ')}`);
      memory.workers = Math.max(memory.workers, mem.length);
      mem.forEach((b, i) => { memory.peak[i] = Math.max(memory.peak[i] ?? 0, b); });
      if (p.page.workers().length) memory.pageWorkers = p.page.workers().length;
      if (kind === 'json' && rows === Math.min(...ROWS)) await runCeiling(p, url, rows);
    } catch (e) {
      failed(w1, e);
      if (kind === 'json') for (const [id, title] of QUERIES) failed(entry(`${id} ${title} ${short(rows)}`, title, 'Acorn', rows), new Error(`not run: ingest failed (${e.message})`));
    } finally {
      await p?.context.close();
    }
  }
}

async function runDuckSize(browser, origin, rows) {
  for (const [kind, f] of Object.entries(FORMATS)) {
    const engine = `DuckDB (${f.duck})`;
    const w1 = entry(`W1 ingest ${f.label} ${short(rows)}`, null, engine, rows);
    const ds = `bench_${kind}_${rows}`;
    let p;
    try {
      p = await duckPage(browser, origin, f.duck);
      const name = `edits.${kind === 'csv' ? 'csv' : 'json'}`;
      const url = `${origin}/bench-data/edits-${rows}.${f.file}`;
      const { ms } = await duckIngestRun(p, { name, url, gzip: f.gzip, sql: duckIngest(ds, name, kind === 'csv' ? 'csv' : 'json') });
      const count = (await duckQuery(p, `SELECT COUNT(*) AS c FROM ${ds}`)).rows[0]?.c;
      if (Number(count) !== rows) throw new Error(`ingested ${count} rows, expected ${rows}`);
      w1.samples.push(ms);
      w1.cold.push(ms);
      duckVersions[f.duck] = p.version.version;
      if (kind === 'json') await runQueries(rows, engine, (sql) => duckQuery(p, sql.replaceAll('{T}', ds)), 3);
    } catch (e) {
      failed(w1, e);
      if (kind === 'json') for (const [id, title] of QUERIES) failed(entry(`${id} ${title} ${short(rows)}`, title, engine, rows), new Error(`not run: ingest failed (${e.message})`));
    } finally {
      await p?.context.close();
    }
  }
}

/**
 * The decode ceiling (issue 6): serde_json alone vs Acorn's reader on the same NDJSON, one
 * thread, same wasm build. Measured at the smallest size only (the whole file is held in the
 * engine worker's memory next to everything it already holds; the rate does not depend on it).
 */
async function runCeiling(p, url, rows) {
  for (const [reader, engine] of [['serde_json', 'serde_json (wasm32)'], ['acorn', 'Acorn']]) {
    const e = entry(`ceiling: NDJSON decode, one thread ${short(rows)}`, 'JSON decode into columns, one thread', engine, rows);
    try {
      const answer = await acornDecode(p, url, reader);
      if (Number(answer.rows) !== rows) throw new Error(`${reader} decoded ${answer.rows} rows, expected ${rows}`);
      e.samples.push(Number(answer.ms));
      e.cold.push(Number(answer.ms));
    } catch (err) {
      failed(e, err);
    }
  }
}

/** W3–W6 in one page: one cold query, then WARM repeats; sqlIndex 2 = Acorn SQL, 3 = DuckDB SQL. */
async function runQueries(rows, engine, exec, sqlIndex) {
  for (const q of QUERIES) {
    const [id, title] = q;
    const e = entry(`${id} ${title} ${short(rows)}`, title, engine, rows);
    const sql = q[sqlIndex];
    try {
      for (let i = 0; i <= WARM; i += 1) {
        const { ms, rows: answer } = await exec(sql, q[4]);
        if (i === 0) e.cold.push(ms);
        if (i > 0 || WARM === 0) e.samples.push(ms);
        e.answer ??= answer;
      }
    } catch (err) {
      failed(e, err);
    }
  }
}

async function runDocs(browser, origin) {
  const a = entry('W2 docs INSERT wikipedia.json.gz', 'the docs\' example INSERT, submit → SUCCESS', 'Acorn', DOCS_ROWS);
  let p;
  try {
    p = await acornPage(browser, origin);
    const { ms } = await acornTask(p, docsInsert(origin), { maxNumTasks: 3 });
    const count = (await acornSql(p, 'SELECT COUNT(*) AS c FROM wikipedia', {})).rows[0]?.c;
    if (Number(count) !== DOCS_ROWS) throw new Error(`ingested ${count} rows, expected ${DOCS_ROWS}`);
    a.samples.push(ms);
    a.cold.push(ms);
  } catch (e) {
    failed(a, e);
  } finally {
    await p?.context.close();
  }
  const d = entry('W2 docs INSERT wikipedia.json.gz', null, 'DuckDB (malloy)', DOCS_ROWS);
  p = undefined;
  try {
    p = await duckPage(browser, origin, 'malloy');
    const { ms } = await duckIngestRun(p, { name: 'wikipedia.json', url: `${origin}/data/wikipedia.json.gz`, gzip: true, sql: duckIngest('wikipedia', 'wikipedia.json', 'json', DOCS_DUCK_COLUMNS) });
    const count = (await duckQuery(p, 'SELECT COUNT(*) AS c FROM wikipedia')).rows[0]?.c;
    if (Number(count) !== DOCS_ROWS) throw new Error(`ingested ${count} rows, expected ${DOCS_ROWS}`);
    d.samples.push(ms);
    d.cold.push(ms);
  } catch (e) {
    failed(d, e);
  } finally {
    await p?.context.close();
  }
}

function wasmSizes() {
  const dist = join(ROOT, 'dist');
  return Object.fromEntries(readdirSync(dist).filter((f) => f.endsWith('.wasm')).map((f) => {
    const bytes = readFileSync(join(dist, f));
    return [f, { bytes: bytes.length, gzip9: gzipSync(bytes, { level: 9 }).length }];
  }));
}

// ── Main ───────────────────────────────────────────────────────────────────────────────────

try {
  statSync(join(ROOT, 'dist', 'index.html'));
} catch {
  console.error('dist/ is missing: this benchmark measures the built page (trunk build --release); it does not build it.');
  process.exit(2);
}
const startedAt = new Date();
const loadBefore = loadavg();
const manifests = {};
for (const rows of ROWS) manifests[rows] = await ensureData(rows);

const server = await startServer({ shared: SHARED });
const LAUNCH = {
  executablePath: env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--disable-background-networking', '--disable-component-update', '--no-first-run',
    '--disable-sync', '--disable-quic'],
};
/**
 * Cold pages in fresh on-disk profiles: each `newContext()` launches the browser over a new
 * temporary user-data directory, removed when the context closes. Not an incognito
 * `browser.newContext()`: incognito keeps OPFS in memory in the browser process, so Acorn's
 * segment files and spilled frames would cross IPC into RAM instead of going to disk as they
 * do in a user's profile (measured: the 1M ingest took 1.3–1.6× as long).
 */
const browser = {
  version: () => execFileSync(LAUNCH.executablePath, ['--product-version']).toString().trim(),
  async newContext() {
    const dir = mkdtempSync(join(tmpdir(), 'acorn-bench-profile-'));
    const context = await chromium.launchPersistentContext(dir, LAUNCH);
    const close = context.close.bind(context);
    context.close = async () => {
      await close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    };
    return context;
  },
  async close() {},
};
const memoryBySize = {};
try {
  console.log(`browser benchmark: Chromium ${browser.version()}, rows ${ROWS.join(', ')}, ${RUNS} cold runs, ${WARM} warm repeats of W3–W6, server ${server.url}`);
  for (let run = 1; run <= RUNS; run += 1) {
    console.log(`run ${run}/${RUNS}: W2 docs INSERT`);
    await runDocs(browser, server.url);
    for (const rows of ROWS) {
      memoryBySize[rows] ??= { workers: 0, pageWorkers: 0, peak: [] };
      console.log(`run ${run}/${RUNS}: ${rows} rows, Acorn`);
      await runAcornSize(browser, server.url, rows, memoryBySize[rows]);
      console.log(`run ${run}/${RUNS}: ${rows} rows, DuckDB-Wasm`);
      await runDuckSize(browser, server.url, rows);
    }
  }
} finally {
  await browser.close().catch(() => {});
  await server.close();
}

// Validity: W3–W6 answers of Acorn vs DuckDB (malloy, the NDJSON table).
const table = [];
const invalid = [];
const workloads = [...new Set([...results.values()].map((e) => e.workload))];
for (const w of workloads) {
  const rowsOf = [...results.values()].filter((e) => e.workload === w);
  const acorn = rowsOf.find((e) => e.engine === 'Acorn');
  const duck = rowsOf.find((e) => e.engine !== 'Acorn');
  let validity = null;
  if (/^W[3-6]/.test(w)) {
    if (acorn?.answer && duck?.answer) {
      const diff = compare(acorn.answer, duck.answer);
      validity = diff ? 'INVALID' : 'valid';
      if (diff) invalid.push({ workload: w, diff });
    } else {
      validity = 'not compared';
    }
  }
  const stats = (e) => {
    if (!e || e.error || e.samples.length === 0) return null;
    const med = median(e.samples);
    return { min_ms: Math.min(...e.samples), median_ms: med, rows_per_s: e.rows / (med / 1000) };
  };
  const sa = stats(acorn);
  const sd = stats(duck);
  for (const e of [acorn, duck].filter(Boolean)) {
    const s = e === acorn ? sa : sd;
    table.push({
      workload: w, title: e.title ?? acorn?.title ?? null, engine: e.engine, rows: e.rows, runs: e.samples.length,
      min_ms: s?.min_ms ?? null, median_ms: s?.median_ms ?? null, rows_per_s: s?.rows_per_s ?? null,
      cold_ms: e.cold, samples_ms: e.samples, answer_rows: e.answer ? e.answer.length : null,
      acorn_over_duckdb: e === acorn && sa && sd ? sa.rows_per_s / sd.rows_per_s : null,
      status: e.error ? 'FAILED' : 'ok', error: e.error, validity,
    });
  }
}

// Print.
const fmt = (v, d = 0) => (v === null || v === undefined ? '' : v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const head = ['workload', 'engine', 'runs', 'min ms', 'median ms', 'rows/s', 'Acorn÷DuckDB', 'answers'];
const lines = table.map((r) => [
  r.workload, r.engine, String(r.runs), r.status === 'ok' ? fmt(r.min_ms, 1) : r.status === 'FAILED' ? 'FAILED' : 'null',
  r.status === 'ok' ? fmt(r.median_ms, 1) : r.status === 'FAILED' ? 'FAILED' : 'null',
  r.status === 'ok' ? fmt(r.rows_per_s) : r.status === 'FAILED' ? 'FAILED' : 'not measured',
  r.acorn_over_duckdb !== null ? `${r.acorn_over_duckdb.toFixed(2)}×` : '', r.validity ?? '',
]);
const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
const pad = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log('');
console.log(pad(head));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const l of lines) console.log(pad(l));
console.log('');
console.log('rows/s = rows ÷ median; Acorn÷DuckDB = Acorn rows/s ÷ DuckDB rows/s (> 1: Acorn faster). '
  + `W1/W2: one cold page per run; W3–W6: ${WARM > 0 ? `${WARM} warm repeats per page after one cold query (cold times in the JSON)` : 'the cold query'}. `
  + 'ceiling: the same ratio is Acorn\'s reader ÷ serde_json alone (decode only, one thread, in the engine worker).');
for (const r of table.filter((x) => x.status === 'FAILED')) console.log(`FAILED ${r.workload} · ${r.engine}: ${r.error}`);
for (const i of invalid) {
  console.log(`INVALID ${i.workload}: answers differ (Acorn ${i.diff.acornRows} rows, DuckDB ${i.diff.duckdbRows} rows)`);
  for (const r of i.diff.onlyAcorn) console.log(`  only Acorn:  ${r}`);
  for (const r of i.diff.onlyDuckDB) console.log(`  only DuckDB: ${r}`);
}
const sizes = wasmSizes();
for (const [rows, m] of Object.entries(memoryBySize)) {
  console.log(`Acorn workers at ${short(Number(rows))} rows: ${m.workers} with wasm memory (${m.pageWorkers} workers in the page), `
    + `peak wasm memory per worker (largest first): ${m.peak.map(mib).join(', ') || 'unknown'}`);
}
console.log(`DuckDB-Wasm core versions: official build ${duckVersions.official ?? '?'}, malloy build ${duckVersions.malloy ?? '?'}`);
console.log(`wasm sizes: ${Object.entries(sizes).map(([f, s]) => `${f} ${fmt(s.bytes)} B (gzip -9 ${fmt(s.gzip9)} B)`).join('; ')}`);
if (invalid.length) console.log('RUN INVALID: the engines\' answers differ (see above)');

const chromiumVersion = (() => {
  try { return execFileSync(env.CHROMIUM ?? '/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return null; }
})();
mkdirSync(OUT_DIR, { recursive: true });
const out = {
  date: startedAt.toISOString(),
  finished: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? null, memoryBytes: totalmem(), loadavgBefore: loadBefore, loadavgAfter: loadavg() },
  chromium: chromiumVersion,
  duckdb: { official: duckVersions.official ?? null, malloy: duckVersions.malloy ?? null },
  config: { rows: ROWS, runs: RUNS, warmRepeats: WARM, acornContext: { maxNumTasks: 3 } },
  data: manifests,
  valid: invalid.length === 0,
  invalid,
  results: table,
  acornWorkers: Object.fromEntries(Object.entries(memoryBySize).map(([rows, m]) => [rows, {
    workersWithWasmMemory: m.workers, workersInPage: m.pageWorkers, peakWasmMemoryBytesPerWorker: m.peak,
  }])),
  wasmSizes: sizes,
  ceiling: (() => {
    const rowsOf = (engine) => table.find((r) => r.workload.startsWith('ceiling:') && r.engine === engine);
    const serde = rowsOf('serde_json (wasm32)');
    const acorn = rowsOf('Acorn');
    return {
      rows: serde?.rows ?? null,
      serdeJsonWasmRowsPerSecond: serde?.rows_per_s ?? null,
      acornReaderRowsPerSecond: acorn?.rows_per_s ?? null,
      acornOverSerdeJson: acorn?.acorn_over_duckdb ?? null,
    };
  })(),
};
writeFileSync(join(OUT_DIR, 'browser-bench.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote target/bench-out/browser-bench.json`);
process.exit(table.some((r) => r.status === 'FAILED') || invalid.length ? 1 : 0);
