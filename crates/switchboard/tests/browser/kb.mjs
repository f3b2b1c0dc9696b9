// Drives Debian chromium (playwright-core) through the chatbot's knowledge
// base admin page: an admin signs in, opens /admin/knowledge-base from
// /admin, sends the new-article form once with a blank answer (refused,
// the message next to the field), then fills it and adds the article.
// Usage: node kb.mjs <base-url> <chromium-path> <admin> <password> <id> <question> <answer>
// stdout: one JSON object; exit code 0 = every check passed.
import { chromium } from 'playwright-core';

const [base, exe, user, password, id, question, answer] = process.argv.slice(2);
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
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: WAIT });
  await page.goto(`${base}/admin`);
  await page.locator('#kb-link').click();
  await page.waitForURL(/\/admin\/knowledge-base$/, { timeout: WAIT });
  const rows = page.locator('#kb-table tbody tr');
  out.demo_articles = await rows.count();
  out.checks.demo_articles_listed = out.demo_articles > 0;

  // A blank answer: refused, the message next to the answer field.
  await page.getByLabel('Article id').fill(id);
  await page.getByLabel('Language').selectOption('fr');
  await page.getByLabel('Questions (one per line)').fill(question);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.locator('#form-errors').waitFor({ timeout: WAIT });
  const answerField = page.getByLabel('Answer');
  out.checks.answer_marked_invalid = (await answerField.getAttribute('aria-invalid')) === 'true';
  out.checks.answer_message_shown = (await page.locator('#kb-answer-err').textContent()).includes('characters');
  out.checks.typed_values_kept = (await page.getByLabel('Questions (one per line)').inputValue()) === question;

  // Filled in: added, listed.
  await answerField.fill(answer);
  await page.getByLabel('Tags (comma-separated)').fill('parakou, ouverture');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const row = page.locator('#kb-table tbody tr', { hasText: id });
  await row.waitFor({ timeout: WAIT });
  out.checks.article_listed = (await row.textContent()).includes(question);
  out.checks.one_more_row = (await rows.count()) === out.demo_articles + 1;
  out.checks.no_error_banner = (await page.locator('#form-errors').count()) === 0;
} catch (e) {
  out.error = String(e && e.message || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
const ok = !out.error && !out.dialog && Object.values(out.checks).every((v) => v === true)
  && Object.keys(out.checks).length === 7;
process.exit(ok ? 0 : 1);
