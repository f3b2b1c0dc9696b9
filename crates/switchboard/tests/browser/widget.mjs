// Drives Debian chromium (playwright-core) through the web chat widget on the
// demo page /chat. Usage: node widget.mjs <base-url> <chromium-path>
// stderr: "VISITOR <id>" once the visitor's message is acknowledged; the Rust
// test then queues an agent reply to that visitor.
// stdout: one JSON object; exit code 0 = every check passed.
//   - the widget is one script tag; its button opens the panel;
//   - a message with markup is sent, acknowledged, rendered as text;
//   - no agent online: the offline notice shows;
//   - the agent's reply arrives live;
//   - after a reload (same visitor id from localStorage) the conversation
//     comes back from the server.
import { chromium } from 'playwright-core';

const [base, exe] = process.argv.slice(2);
const out = { checks: {} };
const WAIT = 30000;
const TEXT = '<b>Bonjour</b> depuis le widget';

const browser = await chromium.launch({
  executablePath: exe || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'],
});
try {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  page.on('dialog', async (d) => { out.dialog = d.message(); await d.dismiss(); });
  await page.goto(`${base}/webchat`);
  await page.getByRole('button', { name: 'Chat with us' }).click();
  const input = page.getByPlaceholder('Your message…');
  await input.fill(TEXT);
  await input.press('Enter');
  // Acknowledged: nothing pending in localStorage.
  await page.waitForFunction(() => localStorage.getItem('sb_pending') === '[]', null, { timeout: WAIT });
  out.checks.acknowledged = true;
  await page.getByText('No advisor is online', { exact: false }).waitFor({ timeout: WAIT });
  out.checks.offline_notice = true;
  out.checks.markup_as_text = (await page.locator('b', { hasText: 'Bonjour' }).count()) === 0
    && (await page.getByText(TEXT, { exact: false }).count()) > 0;
  const visitor = await page.evaluate(() => localStorage.getItem('sb_visitor'));
  process.stderr.write(`VISITOR ${visitor}\n`);
  await page.getByText('Bonjour, un conseiller vous répond.', { exact: false }).waitFor({ timeout: WAIT });
  out.checks.reply_live = true;
  await page.reload();
  await page.getByRole('button', { name: 'Chat with us' }).click();
  await page.getByText(TEXT, { exact: false }).waitFor({ timeout: WAIT });
  out.checks.history_after_reload = true;
  out.checks.same_visitor = visitor === await page.evaluate(() => localStorage.getItem('sb_visitor'));
} catch (e) {
  out.error = String(e && e.message || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
const ok = !out.error && !out.dialog && Object.values(out.checks).every((v) => v === true)
  && Object.keys(out.checks).length === 6;
process.exit(ok ? 0 : 1);
