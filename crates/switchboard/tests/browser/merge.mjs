// Drives Debian chromium (playwright-core) through customer merge and undo on
// the agent desktop, with the keyboard.
// Usage: node merge.mjs <base-url> <chromium-path> <agent> <password> <target-name> <duplicate-query>
// stdout: one JSON object; exit code 0 = every check passed.
//   - the customer card has a "Merge with…" button that opens a labelled
//     search and moves the focus into it;
//   - the duplicate (a name with markup) is found, chosen and confirmed with
//     Enter; its name shows as text in the confirmation;
//   - the timeline shows the merge entry with an Undo button, which undoes it.
import { chromium } from 'playwright-core';

const [base, exe, agent, password, target, dupQuery] = process.argv.slice(2);
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
  await page.locator('#state-badge').waitFor({ timeout: WAIT });

  // Open the target's card from the search.
  await page.getByLabel('Name, number or e-mail').fill(target);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#search-results button', { hasText: target }).first().click();
  await page.locator('#timeline').waitFor({ state: 'visible', timeout: WAIT });

  // Keyboard only from here.
  const open = page.getByRole('button', { name: 'Merge with…' });
  await open.focus();
  await page.keyboard.press('Enter');
  await page.getByLabel('Duplicate customer to merge into this one').waitFor({ timeout: WAIT });
  out.checks.expanded = (await open.getAttribute('aria-expanded')) === 'true';
  out.checks.focus_in_search = await page.evaluate(() => document.activeElement?.id === 'merge-q');
  await page.keyboard.type(dupQuery);
  await page.keyboard.press('Enter');
  const hit = page.locator('#merge-results button').first();
  await hit.waitFor({ timeout: WAIT });
  out.checks.target_not_offered = (await page.locator('#merge-results button', { hasText: target }).count()) === 0;
  await hit.focus();
  await page.keyboard.press('Enter');
  const question = page.locator('#merge-confirm-text');
  await question.waitFor({ state: 'visible', timeout: WAIT });
  out.checks.name_as_text = (await question.locator('b').count()) === 0
    && (await question.textContent()).includes('<b>');
  out.checks.focus_on_confirm = await page.evaluate(() => document.activeElement?.id === 'btn-merge-yes');
  await page.keyboard.press('Enter');
  await page.locator('#msg', { hasText: 'Customers merged.' }).waitFor({ timeout: WAIT });
  out.checks.panel_closed = await page.locator('#merge-panel').isHidden();

  // The merge entry and its Undo button.
  const entry = page.locator('#tl-items li.tl-merge').first();
  await entry.waitFor({ timeout: WAIT });
  const undo = entry.getByRole('button', { name: /^Undo merge/ });
  out.checks.undo_offered = (await undo.count()) === 1;
  await undo.focus();
  await page.keyboard.press('Enter');
  await page.locator('#msg', { hasText: 'Merge undone.' }).waitFor({ timeout: WAIT });
  const after = page.locator('#tl-items li.tl-merge').first();
  out.checks.entry_marked_undone = (await after.textContent()).includes('undone');
  out.checks.no_second_undo = (await after.getByRole('button').count()) === 0;
} catch (e) {
  out.error = String(e && e.message || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
const ok = !out.error && !out.dialog && Object.values(out.checks).every((v) => v === true)
  && Object.keys(out.checks).length === 9;
process.exit(ok ? 0 : 1);
