// Drives Debian chromium (playwright-core) through preview dialling on the
// agent desktop.
// Usage: node preview.mjs <base-url> <chromium-path> <agent> <password> <first-number> <second-number>
// Prints READY on stderr once the desktop is live (the test then starts a
// preview campaign); stdout: one JSON object; exit code 0 = every check passed.
//   - the preview card shows the campaign's first contact;
//   - Skip shows the second contact;
//   - Call dials it and the card goes away.
import { chromium } from 'playwright-core';

const [base, exe, agent, password, first, second] = process.argv.slice(2);
const out = { checks: {} };
const WAIT = 30000;

const browser = await chromium.launch({
  executablePath: exe || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'],
});
try {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  page.on('dialog', async (d) => { out.dialog = d.message(); await d.dismiss(); });
  await page.goto(`${base}/login?lang=en`);
  await page.getByLabel('Username').fill(agent);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('body[data-live="on"]').waitFor({ timeout: WAIT });
  console.error('READY');

  const card = page.getByRole('region', { name: 'Next campaign call' });
  await card.waitFor({ state: 'visible', timeout: WAIT });
  out.checks.first_shown = (await page.locator('#preview-number').textContent()) === first;
  out.checks.campaign_named = (await page.locator('#preview-campaign').textContent()) === 'Relance preview';
  await page.getByRole('button', { name: 'Skip' }).click();
  await page.locator('#preview-number', { hasText: second }).waitFor({ timeout: WAIT });
  out.checks.second_shown = true;
  await page.getByRole('button', { name: 'Call', exact: true }).click();
  await card.waitFor({ state: 'hidden', timeout: WAIT });
  out.checks.card_gone = true;
  out.checks.no_error = ((await page.locator('#msg').textContent()) || '') === '';
} catch (e) {
  out.error = String(e && e.message || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
const ok = !out.error && !out.dialog && Object.values(out.checks).every((v) => v === true)
  && Object.keys(out.checks).length === 5;
process.exit(ok ? 0 : 1);
