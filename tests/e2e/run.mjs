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
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
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
async function test(name, body) {
  const before = consoleErrors.length;
  try {
    await body();
    if (consoleErrors.length > before) {
      throw new Error(`console errors: ${consoleErrors.slice(before).join(' | ')}`);
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

await test('workers ready equals maxNumTasks − 1, from real worker replies', async () => {
  // The default context has maxNumTasks 3: a controller and two workers.
  await page.waitForFunction(
    () => document.querySelectorAll('.worker-row[data-state="ready"]').length === 2
      && document.querySelectorAll('.worker-row .check-ok').length === 2,
    null, { timeout: 30000 });
  const summary = await text('#workers-summary');
  expect(/2 of 2 workers ready/.test(summary), `summary: ${summary}`);
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

await test('no console errors over the whole session', async () => {
  expect(consoleErrors.length === 0, consoleErrors.join(' | '));
});

await browser.close();
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
