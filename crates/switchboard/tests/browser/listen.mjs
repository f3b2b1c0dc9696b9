// Drives Debian chromium (playwright-core) through supervision on the
// supervisor page: on the agent's live call, Listen rings the supervisor's
// phone (the test answers it), Whisper switches mode, Leave hangs it up.
// Usage: node listen.mjs <base-url> <chromium-path> <user> <password> <agent-name>
// stdout: one JSON object; exit code 0 = every check passed.
import { chromium } from 'playwright-core';

const [base, exe, user, password, agentName] = process.argv.slice(2);
const out = { checks: {} };
const WAIT = 30000;

const browser = await chromium.launch({
  executablePath: exe || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'],
});
try {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  page.on('dialog', async (d) => { out.dialog = d.message(); await d.dismiss(); });
  page.on('pageerror', (e) => { out.page_error = String(e); });
  await page.goto(`${base}/login?lang=en`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.goto(`${base}/supervisor?lang=en`);
  const row = page.locator('#agents tbody tr', { has: page.locator('th', { hasText: agentName }) });
  await row.waitFor({ timeout: WAIT });
  const status = row.locator('.monitor-status');
  const listen = row.getByRole('button', { name: 'Listen' });
  // Enabled once the agent's live voice call shows in the row.
  await page.waitForFunction((r) => {
    const b = [...document.querySelectorAll('#agents tbody tr')]
      .find((tr) => tr.querySelector('th')?.textContent.includes(r));
    const l = b && [...b.querySelectorAll('button')].find((x) => x.textContent === 'Listen');
    return l && !l.disabled;
  }, agentName, { timeout: WAIT });
  out.checks.on_a_call = ((await row.locator('td[data-key="current"]').textContent()) || '').includes('voice');
  await listen.click();
  await status.filter({ hasText: 'Monitoring: Listen' }).waitFor({ timeout: WAIT });
  out.checks.listening = true;
  await row.getByRole('button', { name: 'Whisper' }).click();
  await status.filter({ hasText: 'Monitoring: Whisper' }).waitFor({ timeout: WAIT });
  out.checks.whispering = true;
  await row.getByRole('button', { name: 'Leave' }).click();
  await page.waitForFunction((r) => {
    const b = [...document.querySelectorAll('#agents tbody tr')]
      .find((tr) => tr.querySelector('th')?.textContent.includes(r));
    return b && b.querySelector('.monitor-status').textContent.trim() === '';
  }, agentName, { timeout: WAIT });
  out.checks.left = true;
} catch (e) {
  out.error = String(e && e.message || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
const ok = !out.error && !out.dialog && !out.page_error
  && Object.values(out.checks).every((v) => v === true) && Object.keys(out.checks).length === 4;
process.exit(ok ? 0 : 1);
