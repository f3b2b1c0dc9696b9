// Drives Debian chromium (playwright-core) through /reports and /wallboard.
// Usage: node reports.mjs <base-url> <chromium-path> <user> <password> <from> <to> <download-dir> <shots-dir>
// stdout: one JSON object; exit code 0 = the script ran to its end (the Rust
// side checks the values).
//   - /reports: set the period, choose hourly rows and the agent dimension,
//     filter a queue, show; the KPI table, the formulas and both charts
//     (a canvas with drawn pixels) appear; the xlsx and pdf links download;
//   - /wallboard: the tile of queue `general`; says READY on stderr, then
//     follows `waiting` 0 → 1 → 0 (a call the Rust side places) without a
//     reload.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [base, exe, user, password, from, to, downloads, shots] = process.argv.slice(2);
const out = { checks: {} };
const WAIT = 30000;
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: exe || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'],
});
let code = 0;
try {
  const context = await browser.newContext({ locale: 'en-US', acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Console errors, and failed requests by URL (the browser's own favicon
  // request aside: the app has none).
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(`${base}/login?lang=en`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/supervisor/, { timeout: WAIT });

  await page.getByRole('link', { name: 'Reports' }).click();
  await page.waitForFunction(() => document.body.dataset.report === 'ready', null, { timeout: WAIT });
  await page.getByLabel('From', { exact: true }).fill(from);
  await page.getByLabel('To (excluded)').fill(to);
  await page.getByLabel('Interval', { exact: true }).selectOption('hour');
  await page.getByLabel('Filter by queue').selectOption({ label: 'general' });
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForFunction(() => document.body.dataset.report === 'ready'
    && document.getElementById('export-xlsx').href.includes('interval=hour'), null, { timeout: WAIT });
  const total = page.locator('#report-table tbody tr[data-label="Total"]');
  out.checks.table = await page.locator('#report-table').getAttribute('data-table');
  out.checks.headings = await page.locator('#report-table thead th').allTextContents();
  out.checks.total_row = await total.locator('th, td').allTextContents();
  out.checks.formulas = await page.locator('#formulas').textContent();
  // Both charts: a uPlot canvas with drawn pixels, one point per interval.
  for (const id of ['chart-volume', 'chart-sl']) {
    out.checks[id] = await page.evaluate((id) => {
      const box = document.getElementById(id);
      const c = box.querySelector('canvas');
      if (!c) return { canvas: false };
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let drawn = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) drawn += 1;
      return { canvas: true, points: Number(box.dataset.points), sums: box.dataset.sums, drawn, legend: [...box.querySelectorAll('.u-legend th')].map((x) => x.textContent.trim()) };
    }, id);
  }
  // The agent dimension swaps the table without a new request.
  await page.getByLabel('By', { exact: true }).selectOption('agents');
  out.checks.agents_table = await page.locator('#report-table').getAttribute('data-table');
  out.checks.agents_headings = await page.locator('#report-table thead th').allTextContents();
  await page.screenshot({ path: `${shots}/reports.png`, fullPage: true });
  // Exports: the links download the files.
  for (const [name, label] of [['xlsx', 'Export to Excel'], ['pdf', 'Export to PDF']]) {
    const [dl] = await Promise.all([
      page.waitForEvent('download', { timeout: WAIT }),
      page.getByRole('link', { name: label }).click(),
    ]);
    const path = `${downloads}/${dl.suggestedFilename()}`;
    await dl.saveAs(path);
    out.checks[`download_${name}`] = path;
  }

  // Wallboard.
  await page.getByRole('link', { name: 'Wallboard' }).click();
  const tile = page.locator('.wb-queue[data-queue="general"]');
  await tile.waitFor({ timeout: WAIT });
  await page.waitForFunction(() => document.body.dataset.live === 'on', null, { timeout: WAIT });
  const waiting = tile.locator('dd[data-key="waiting"]');
  out.checks.tile_labels = await tile.locator('dt').allTextContents();
  out.checks.tile_sl = await tile.locator('dd[data-key="sl"]').textContent();
  out.checks.tile_font_px = await waiting.evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  const seen = [await waiting.textContent()];
  process.stderr.write('READY\n');
  const sel = '.wb-queue[data-queue="general"] dd[data-key="waiting"]';
  await page.waitForFunction((s) => document.querySelector(s).textContent === '1', sel, { timeout: WAIT });
  seen.push(await waiting.textContent());
  out.checks.longest_while_waiting = await tile.locator('dd[data-key="longest"]').textContent();
  await page.screenshot({ path: `${shots}/wallboard-waiting.png`, fullPage: true });
  await page.waitForFunction((s) => document.querySelector(s).textContent === '0', sel, { timeout: WAIT });
  seen.push(await waiting.textContent());
  out.checks.waiting_seen = seen;
  out.checks.updates = Number(await tile.getAttribute('data-updates'));
  out.errors = errors;
} catch (e) {
  out.error = String(e && e.stack || e);
  code = 1;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(code);
