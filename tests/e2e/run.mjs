// End-to-end tests of the Query view: the built page (dist/) served on 127.0.0.1, driven in
// Debian's headless Chromium through playwright-core (no browser download), doing what a user
// does. Prints one line per check and ends with "N passed, N failed".
//
//   node tests/e2e/run.mjs http://127.0.0.1:8090/
//
// Any console error or uncaught exception in the page (or its workers) fails the run.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const url = process.argv[2] ?? 'http://127.0.0.1:8090/';
const origin = new URL(url).origin;
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const shared = process.env.ACORN_SHARED ?? join(root, '..', 'shared');
const fixtures = join(root, 'tests', 'fixtures', 'reports');
const outDir = join(here, 'out');
mkdirSync(outDir, { recursive: true });
const fixture = (name) => readFileSync(join(fixtures, name), 'utf8');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--disable-background-networking', '--disable-component-update', '--no-first-run',
    '--disable-sync', '--disable-quic'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
const page = await context.newPage();

const consoleErrors = [];
page.on('console', (msg) => {
  if (msg.type() === 'error') consoleErrors.push(`console.error: ${msg.text()}`);
});
page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
page.on('worker', (worker) => {
  worker.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`worker console.error: ${msg.text()}`);
  });
});
let dialogs = 0;
page.on('dialog', async (d) => { dialogs += 1; await d.dismiss(); });

let passed = 0;
let failed = 0;
/// Runs one check. `allow` lists console errors the check provokes on purpose (the browser
/// logs every non-2xx fetch, e.g. a 404 input URL): those are dropped, any other fails it.
async function test(name, body, { allow = [] } = {}) {
  const before = consoleErrors.length;
  try {
    await body();
    const unexpected = consoleErrors.slice(before).filter((e) => !allow.some((re) => re.test(e)));
    consoleErrors.splice(before, consoleErrors.length - before, ...unexpected);
    if (unexpected.length > 0) {
      throw new Error(`console errors: ${unexpected.join(' | ')}`);
    }
    passed += 1;
    console.log(`✓ ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`✗ ${name}\n    ${String(err.message ?? err).split('\n').join('\n    ')}`);
    await page.screenshot({ path: join(outDir, `failed-${name.replace(/\W+/g, '-')}.png`) }).catch(() => {});
  }
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}
const text = async (selector) => (await page.locator(selector).first().innerText()).trim();

/// The docs' example INSERT, verbatim from the SQL-based ingestion API page (its request body's
/// "query"), with its input URL pointed at the sample data this server serves under `base`.
function docsInsert(base = `${origin}/data/`) {
  const spec = readFileSync(join(shared, 'spec', 'sql-ingestion-api.md'), 'utf8');
  const body = spec.match(/```json\n(\{\n  "query": "INSERT INTO wikipedia[\s\S]*?\n\})\n```/);
  if (!body) throw new Error('the docs example INSERT was not found in sql-ingestion-api.md');
  return JSON.parse(body[1]).query.replace('https://druid.apache.org/data/', base);
}

/// Types `sql` into the active tab's editor and presses Run.
async function runSql(sql) {
  await page.fill('#sql-editor', sql);
  await page.click('#run-button');
}

/// Runs `SELECT COUNT(*)` over `ds` in the page and returns the count the results table shows.
async function countRows(ds) {
  await runSql(`SELECT COUNT(*) AS "rows" FROM "${ds}"`);
  await page.waitForSelector('#results-table, #execution-error', { timeout: 30000 });
  expect(await page.locator('#results-table').count() === 1, `COUNT(*) failed: ${await text('#query-output')}`);
  return Number((await text('#results-table tbody tr td')).replace(/,/g, ''));
}

/// Opens the Load report dialog, pastes `json` and presses Load.
async function loadReport(json) {
  await page.click('#load-report-button');
  await page.fill('#load-report-text', json);
  await page.click('#load-report-submit');
}

await test('page loads with the Query view and no console errors', async () => {
  await page.goto(url);
  await page.waitForSelector('#output-placeholder', { timeout: 30000 });
  const title = await page.title();
  expect(title.includes('Acorn'), `title is ${title}`);
});

await test('the Workers panel lists the engine\'s worker threads from their own replies', async () => {
  // The engine starts its stage threads (nested Web Workers, at least two); the panel reads
  // GET /druid/indexer/v1/workers, which asks each of them.
  await page.waitForFunction(
    () => document.querySelectorAll('.worker-row[data-state="ready"]').length >= 2,
    null, { timeout: 30000 });
  const summary = await text('#workers-summary');
  expect(/\d+ of \d+ worker threads ready · maxNumTasks 3 asks for 2 workers/.test(summary), `summary: ${summary}`);
  const memory = await text('.worker-row[data-state="ready"] td:nth-child(3)');
  expect(/\d+(\.\d+)? (KiB|MiB)/.test(memory), `memory cell: ${memory}`);
});

await test('load the docs example report: 2 stages, values, graph', async () => {
  await loadReport(fixture('docs-example-report.json'));
  await page.waitForSelector('#stages-table .stage-row', { timeout: 10000 });
  const rows = page.locator('#stages-table .stage-row');
  expect((await rows.count()) === 2, `stage rows: ${await rows.count()}`);
  const r0 = await rows.nth(0).innerText();
  const r1 = await rows.nth(1).innerText();
  expect(r0.includes('scan'), `row 0: ${r0}`);
  expect(r1.includes('segmentGenerator'), `row 1: ${r1}`);
  expect(/Finished/i.test(r0) && /Finished/i.test(r1), 'both stages finished');
  expect(r0.includes('465,346'), `row 0 shows 465,346 rows: ${r0}`);
  expect(r0.includes('19,965'), `row 0 duration 19,965 ms: ${r0}`);
  expect(r1.includes('5,891'), `row 1 duration 5,891 ms: ${r1}`);
  const summary = await text('#execution-summary');
  expect(summary.includes('SUCCESS'), `summary: ${summary}`);
  const nodes = page.locator('#stage-graph .stage-node');
  expect((await nodes.count()) === 2, `graph nodes: ${await nodes.count()}`);
  expect((await page.locator('#stage-graph .stage-edge').count()) >= 1, 'graph has an edge');
  await page.screenshot({ path: join(outDir, 'docs-example-report.png') });
});

await test('expanding a stage shows per-worker counters', async () => {
  await page.locator('#stages-table .stage-row').first().click();
  await page.waitForSelector('.stage-detail .worker-table', { timeout: 5000 });
  const detail = await text('.stage-detail .worker-table');
  expect(detail.includes('Worker0') || detail.includes('Worker 0'), `detail: ${detail}`);
  expect(detail.includes('465,346'), `detail rows: ${detail}`);
});

await test('malformed JSON gets a clear message, not a blank page', async () => {
  await loadReport('{"multiStageQuery": {');
  await page.waitForSelector('#load-report-error', { timeout: 5000 });
  const msg = await text('#load-report-error');
  expect(/JSON/i.test(msg) && /line 1/i.test(msg), `message: ${msg}`);
  await page.keyboard.press('Escape');
});

await test('a JSON that is not a report is named as such', async () => {
  await loadReport('{"hello": "world"}');
  await page.waitForSelector('#load-report-error', { timeout: 5000 });
  const msg = await text('#load-report-error');
  expect(msg.includes('multiStageQuery'), `message: ${msg}`);
  await page.keyboard.press('Escape');
});

await test('a failed report shows the error pane', async () => {
  await loadReport(fixture('failed-insert-time-null.json'));
  await page.waitForSelector('#execution-error', { timeout: 5000 });
  const err = await text('#execution-error');
  expect(err.includes('InsertTimeNull'), `error pane: ${err}`);
  await page.screenshot({ path: join(outDir, 'failed-report.png') });
});

await test('SELECT results render, HTML in values stays text', async () => {
  await loadReport(fixture('select-results.json'));
  await page.waitForSelector('#results-table', { timeout: 5000 });
  const table = await text('#results-table');
  expect(table.includes('<img src=x onerror=alert(1)>'), 'the markup shows literally');
  const injected = await page.locator('img[src="x"]').count();
  expect(injected === 0, `found ${injected} injected <img> elements`);
  expect(dialogs === 0, 'no alert() ran');
  await page.screenshot({ path: join(outDir, 'select-results.png') });
});

await test('a report file opened with the file picker loads', async () => {
  await page.click('#load-report-button');
  await page.setInputFiles('#load-report-file', join(fixtures, 'running-mid-stage.json'));
  const submit = page.locator('#load-report-submit');
  if (await submit.isVisible()) await submit.click();
  await page.waitForFunction(
    () => document.querySelector('#execution-summary')?.innerText.includes('RUNNING'),
    null, { timeout: 5000 });
  expect((await page.locator('#stages-table .stage-row').count()) >= 2, 'stages shown');
});

await test('query tabs persist across a reload', async () => {
  await page.click('#tab-add');
  const tabs = page.locator('#tab-bar .query-tab-button');
  const count = await tabs.count();
  expect(count >= 2, `tabs: ${count}`);
  await page.reload();
  await page.waitForSelector('#tab-bar .query-tab-button', { timeout: 30000 });
  const after = await page.locator('#tab-bar .query-tab-button').count();
  expect(after === count, `tabs after reload: ${after}, before: ${count}`);
});

// ── The in-browser engine: Run in the Query view, the endpoints at the page's origin ─────────

await test('the run bar says the in-browser engine keeps segments in OPFS', async () => {
  await page.waitForSelector('#engine-storage', { timeout: 20000 });
  const storage = await page.locator('#engine-storage').getAttribute('data-storage');
  expect(storage === 'opfs', `storage: ${storage} (${await text('#engine-storage')})`);
  const status = await page.evaluate(() => window.acorn.request('GET', '/status'));
  expect(status.storage.kind === 'opfs' && /^acorn-/.test(status.version), JSON.stringify(status));
});

await test('the docs INSERT runs in the tab: SUCCESS, 24,433 rows into wikipedia', async () => {
  await page.click('#tab-add');
  const started = Date.now();
  await runSql(docsInsert());
  await page.waitForSelector('#ingest-success, #execution-error', { timeout: 60000 });
  const wall = Date.now() - started;
  const success = await text('#query-output');
  expect(await page.locator('#ingest-success').count() === 1, `no ingest-success pane: ${success}`);
  expect(success.includes('24,433 rows inserted into wikipedia'), `pane: ${success}`);
  const summary = await text('#execution-summary');
  expect(summary.includes('SUCCESS'), `summary: ${summary}`);
  const rows = page.locator('#stages-table .stage-row');
  expect(await rows.count() === 2, `stage rows: ${await rows.count()}`);
  expect((await rows.nth(1).innerText()).includes('segmentGenerator'), 'stage 1 is segmentGenerator');
  console.log(`    docs INSERT, click → SUCCESS pane: ${wall} ms (24,433 rows)`);
  await page.screenshot({ path: join(outDir, 'in-browser-insert-finished.png') });
});

await test('the INSERT\'s stages ran on two worker threads (scan on one, segmentGenerator on the other)', async () => {
  const workers = await page.evaluate(() => window.acorn.request('GET', '/druid/indexer/v1/workers'));
  expect(Array.isArray(workers) && workers.length >= 2, JSON.stringify(workers));
  const done = workers.map((w) => w.acorn.workOrdersRun);
  // Stage 0's worker runs on thread 0 and stage 1's on thread 1 (host_of = (stage + worker) % threads),
  // so stage 1 read stage 0's frames over the threads' own MessageChannel.
  expect(done[0] >= 1 && done[1] >= 1, `work orders per thread: ${JSON.stringify(done)}`);
  expect(workers.every((w) => w.worker.host.startsWith('stage-worker-') && w.acorn.state === 'ready'), JSON.stringify(workers));
  await page.waitForFunction(
    () => [...document.querySelectorAll('.worker-row .worker-done')].filter((c) => Number(c.textContent) >= 1).length >= 2,
    null, { timeout: 5000 });
});

await test('SELECT COUNT(*) FROM wikipedia answers 24433 with typed headers', async () => {
  expect(await countRows('wikipedia') === 24433, 'count is 24433');
  const header = await text('#results-table thead');
  expect(header.includes('rows') && header.includes('BIGINT'), `header: ${header}`);
});

await test('after a reload the datasource is still there and queryable', async () => {
  await page.reload();
  await page.waitForSelector('#sql-editor', { timeout: 30000 });
  expect(await countRows('wikipedia') === 24433, 'count after reload is 24433');
});

await test("fetch('/druid/v2/sql/task') from page script: taskId, then SUCCESS; bad SQL is a 400", async () => {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20000 });
  const answer = await page.evaluate(async () => {
    const post = (body) => fetch('/druid/v2/sql/task', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    const submitted = await (await post({
      query: 'SELECT channel, COUNT(*) AS edits FROM wikipedia GROUP BY 1 ORDER BY 2 DESC LIMIT 3',
      context: { maxNumTasks: 3 },
    })).json();
    let status;
    for (let i = 0; i < 200; i += 1) {
      status = await (await fetch(`/druid/indexer/v1/task/${submitted.taskId}/status`)).json();
      if (status.status.status !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const report = await (await fetch(`/druid/indexer/v1/task/${submitted.taskId}/reports`)).json();
    const bad = await post({ query: 'SELEC 1' });
    const viaApi = await window.acorn.sql('SELECT COUNT(*) AS c FROM wikipedia');
    return { submitted, status, report, bad: { status: bad.status, body: await bad.json() }, viaApi };
  });
  expect(/^query-/.test(answer.submitted.taskId) && answer.submitted.state === 'RUNNING', JSON.stringify(answer.submitted));
  expect(answer.status.status.status === 'SUCCESS', JSON.stringify(answer.status));
  const results = answer.report.multiStageQuery.payload.results;
  expect(results.results.length === 3 && results.signature[1].name === 'edits', JSON.stringify(results).slice(0, 300));
  expect(answer.bad.status === 400 && /SELEC/.test(answer.bad.body.errorMessage), JSON.stringify(answer.bad));
  expect(answer.viaApi[0].c === 24433, `window.acorn.sql: ${JSON.stringify(answer.viaApi)}`);
}, { allow: [/status of 400/] });

await test('an input URL that is 404 fails with the error pane naming it', async () => {
  await runSql(docsInsert(`${origin}/data/missing/`));
  await page.waitForSelector('#ingest-success, #execution-error', { timeout: 30000 });
  const err = await text('#execution-error');
  expect(err.includes(`${origin}/data/missing/wikipedia.json.gz`) && err.includes('404'), `error pane: ${err}`);
}, { allow: [/status of 404/] });

await test('cancel a long ingest: FAILED/Canceled, the earlier wikipedia unchanged', async () => {
  await runSql(docsInsert(`${origin}/slow/`));
  await page.waitForSelector('#stages-table .stage-row', { timeout: 30000 });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: join(outDir, 'in-browser-insert-running.png') });
  const live = await text('#execution-summary');
  expect(live.includes('RUNNING'), `summary while running: ${live}`);
  await page.click('#cancel-button');
  await page.waitForSelector('#execution-error', { timeout: 30000 });
  const err = await text('#execution-error');
  expect(err.includes('Canceled'), `error pane: ${err}`);
  expect((await text('#execution-summary')).includes('FAILED'), 'summary says FAILED');
  expect(await countRows('wikipedia') === 24433, 'wikipedia still has 24433 rows');
}, { allow: [/ERR_ABORTED|net::ERR|aborted/i] });

await test('results: copy a cell, download every row as CSV and JSON', async () => {
  await runSql('SELECT __time, page, added FROM wikipedia WHERE channel = \'#en.wikipedia\' LIMIT 120');
  await page.waitForSelector('#results-table', { timeout: 30000 });
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
  const csvText = readFileSync(await csv.path(), 'utf8');
  const lines = csvText.split('\r\n').filter((l) => l.length > 0);
  expect(lines[0] === '__time,page,added', `CSV header: ${lines[0]}`);
  expect(lines.length === 121, `CSV has ${lines.length - 1} rows, not 120 (all pages)`);
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
  const rows = JSON.parse(readFileSync(await json.path(), 'utf8'));
  expect(rows.length === 120 && /^\d{4}-\d\d-\d\dT/.test(rows[0].__time), `JSON rows: ${rows.length}`);
  await page.locator('#results-table td.result-cell[data-row="0"][data-col="1"]').click();
  await page.click('#cell-copy');
  await page.waitForSelector('#copy-note', { timeout: 5000 });
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  expect(clip === rows[0].page, `clipboard ${JSON.stringify(clip)} vs ${JSON.stringify(rows[0].page)}`);
});

await test('EXPLAIN draws the stage graph before running; bad SQL shows the error', async () => {
  await page.fill('#sql-editor', 'SELECT channel, COUNT(*) AS c FROM wikipedia GROUP BY 1 ORDER BY 2 DESC LIMIT 5');
  await page.click('#explain-button');
  await page.waitForSelector('#explain-pane, #execution-error', { timeout: 30000 });
  const nodes = await page.locator('#explain-graph g.stage-node').count();
  const stages = await page.locator('#explain-stages tr.explain-stage-row').count();
  expect(nodes === 3 && stages === 3, `graph nodes ${nodes}, stage rows ${stages}`);
  expect((await text('#explain-stages')).includes('groupByPreShuffle'), 'stage table names processors');
  await page.screenshot({ path: join(outDir, 'explain.png') });
  await page.fill('#sql-editor', 'SELEC 1');
  await page.click('#explain-button');
  await page.waitForSelector('#execution-error', { timeout: 30000 });
  expect((await text('#execution-error')).includes('SELEC'), 'error names the bad statement');
}, { allow: [/status of 400/] });

await test('files picked or dropped are local input: listed, queried, removed, kept over a reload', async () => {
  const data = join(shared, 'data', 'druid');
  await page.setInputFiles('#file-input', [join(data, 'wikipedia.json.gz'), join(data, 'wikipedia_index_data1.json')]);
  await page.waitForSelector('.files-row[data-name="wikipedia.json.gz"]', { timeout: 30000 });
  const snippet = await text('.files-row[data-name="wikipedia.json.gz"] .files-snippet');
  expect(snippet.includes('{"type":"local","files":["/wikipedia.json.gz"]}'), `snippet: ${snippet}`);
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['a,b\n1,2\n'], 'dropped.csv', { type: 'text/csv' }));
    const target = document.querySelector('#sql-editor');
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForSelector('.files-row[data-name="dropped.csv"]', { timeout: 30000 });
  const counts = await page.evaluate(async () => {
    const q = (src) => `SELECT COUNT(*) AS c FROM TABLE(EXTERN('${src}', '{"type":"json"}')) EXTEND ("page" VARCHAR)`;
    const gz = await window.acorn.sql(q('{"type":"local","files":["/wikipedia.json.gz"]}'));
    const glob = await window.acorn.sql(q('{"type":"local","baseDir":"/","filter":"wikipedia_index_*.json"}'));
    let missing = '';
    try { await window.acorn.sql(q('{"type":"local","files":["/nope.json"]}')); } catch (e) { missing = e.message; }
    return { gz: gz[0].c, glob: glob[0].c, missing };
  });
  expect(counts.gz === 24433 && counts.glob === 3, JSON.stringify(counts));
  expect(counts.missing.includes('nope.json'), `missing-file error: ${counts.missing}`);
  await page.click('.files-row[data-name="dropped.csv"] .files-remove');
  await page.waitForSelector('.files-row[data-name="dropped.csv"]', { state: 'detached', timeout: 10000 });
  await page.reload();
  await page.waitForSelector('.files-row[data-name="wikipedia.json.gz"]', { timeout: 30000 });
  expect(await page.locator('.files-row').count() === 2, 'two files after the reload');
}, { allow: [/status of 400/] });

await test('datasource browser lists wikipedia with columns and segments', async () => {
  await page.click('#datasources-refresh');
  const item = page.locator('#datasources-list li.ds-item[data-datasource="wikipedia"]');
  await item.waitFor({ timeout: 10000 });
  const summary = await item.locator('.ds-summary').innerText();
  expect(/1 segment · 24,433 rows/.test(summary), `summary: ${summary}`);
  await item.locator('.ds-toggle').click();
  await item.locator('.ds-columns').waitFor();
  const columns = await item.locator('.ds-columns').innerText();
  expect(/channel\s+VARCHAR/.test(columns) && /added\s+BIGINT/.test(columns), `columns: ${columns}`);
  const segments = await item.locator('.ds-segments').innerText();
  expect(segments.includes('2016-06-27/2016-06-28'), `segments: ${segments}`);
  await page.screenshot({ path: join(outDir, 'datasources-and-tasks.png') });
});

await test('recent tasks survive a reload and reopen a task report', async () => {
  const insert = page.locator('#recent-tasks-list li.recent-task', { hasText: 'wikipedia' }).filter({ hasText: 'SUCCESS' }).first();
  await insert.waitFor({ timeout: 10000 });
  const taskId = await insert.getAttribute('data-task-id');
  await page.reload();
  await page.waitForSelector('#recent-tasks-list li.recent-task', { timeout: 30000 });
  await page.locator(`#recent-tasks-list li[data-task-id="${taskId}"] .recent-task-button`).click();
  await page.waitForSelector('#ingest-success', { timeout: 10000 });
  expect((await text('#ingest-success')).includes('24,433 rows inserted into wikipedia'), 'the INSERT report is back');
});

await test('drop a datasource after confirming: gone from the browser and from SQL', async () => {
  const item = page.locator('#datasources-list li.ds-item[data-datasource="wikipedia"]');
  await item.waitFor({ timeout: 10000 });
  await item.locator('.ds-drop').click();
  expect((await item.locator('.ds-confirm').innerText()).includes('Drop wikipedia?'), 'asks first');
  await item.locator('.ds-confirm-drop').click();
  await page.waitForSelector('#datasources-list li.ds-item[data-datasource="wikipedia"]', { state: 'detached', timeout: 10000 });
  const error = await page.evaluate(async () => {
    try { await window.acorn.sql('SELECT COUNT(*) FROM wikipedia'); return 'no error'; } catch (e) { return `${e.status} ${e.message}`; }
  });
  expect(error.startsWith('400') && /wikipedia/.test(error), `querying the dropped datasource: ${error}`);
});

await test('no console errors over the whole session', async () => {
  expect(consoleErrors.length === 0, consoleErrors.join(' | '));
});

await browser.close();
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
