// Drives Debian chromium (playwright-core) through the mobile agent's
// position sharing and the supervisors' map (issue 22).
// Usage: node map.mjs <base-url> <chromium-path> <agent> <agent-password>
//        <supervisor> <supervisor-password> <lat> <lon> <accuracy-m> <shots-dir>
// stdout: one JSON object; exit code 0 = the script ran to its end (the Rust
// side checks the values).
//   - a phone-sized context (390×844) with geolocation granted and set to
//     <lat>,<lon>: the agent turns "Share my position" on and waits until the
//     page says it was sent; then checks in at a customer (field visit) and
//     sees it in the customer's timeline;
//   - a desktop context (1366×900): the supervisor opens /map; the agent's
//     Leaflet marker is read back (class, fill, where it is drawn against
//     the map's own projection of <lat>,<lon>), then the agent's track of
//     today is drawn.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [base, exe, agent, agentPw, sup, supPw, latS, lonS, accS, shots] = process.argv.slice(2);
const [lat, lon, accuracy] = [Number(latS), Number(lonS), Number(accS)];
const out = { checks: {} };
const WAIT = 30000;
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: exe || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'],
});

function watchErrors(page, errors, who) {
  page.on('pageerror', (e) => errors.push(`${who}: ${e}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`${who}: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${who}: ${r.status()} ${r.url()}`);
  });
  // The map must not reach the internet: every request stays on the server.
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) errors.push(`${who}: off-site request ${r.url()}`);
  });
}

async function signIn(page, user, password, landing) {
  await page.goto(`${base}/login?lang=en`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(landing, { timeout: WAIT });
}

let code = 0;
const errors = [];
try {
  // The mobile agent.
  const phone = await browser.newContext({
    locale: 'en-US',
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    geolocation: { latitude: lat, longitude: lon, accuracy },
    permissions: ['geolocation'],
  });
  const ap = await phone.newPage();
  watchErrors(ap, errors, 'agent');
  await signIn(ap, agent, agentPw, /\/agent/);
  out.checks.geo_before = await ap.evaluate(() => document.body.dataset.geo);
  out.checks.geo_checked_before = await ap.getByLabel('Share my position').isChecked();
  await ap.getByLabel('Share my position').check();
  await ap.waitForFunction(() => document.body.dataset.geo === 'sent', null, { timeout: WAIT });
  out.checks.geo_status = await ap.locator('#geo-status').textContent();
  await ap.screenshot({ path: `${shots}/agent-geo-mobile.png`, fullPage: true });

  // Field visit at a customer found by phone number.
  await ap.locator('#search-q').fill('0197000003');
  await ap.getByRole('button', { name: 'Search', exact: true }).click();
  await ap.locator('#search-results button').first().click();
  await ap.locator('#timeline').waitFor({ state: 'visible', timeout: WAIT });
  await ap.getByLabel('Visit notes').fill('Meter read, customer happy');
  await ap.getByRole('button', { name: 'Field visit' }).click();
  const visit = ap.locator('#tl-items li.tl-visit');
  await visit.first().waitFor({ timeout: WAIT });
  out.checks.visit_text = await visit.first().textContent();
  await ap.screenshot({ path: `${shots}/agent-visit-mobile.png`, fullPage: true });

  // The supervisor's map.
  const desk = await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } });
  const sp = await desk.newPage();
  watchErrors(sp, errors, 'supervisor');
  await signIn(sp, sup, supPw, /\/supervisor/);
  await sp.getByRole('link', { name: 'Map' }).click();
  await sp.waitForFunction(() => document.body.dataset.map === 'ready', null, { timeout: WAIT });
  const marker = sp.locator(`path.agent-marker.agent-${agent}`);
  await marker.waitFor({ timeout: WAIT });
  out.checks.markers = await sp.locator('#map').getAttribute('data-markers');
  out.checks.marker = await sp.evaluate(([want, a]) => {
    const m = window.switchboardMap;
    const path = document.querySelector(`path.agent-marker.agent-${a}`);
    const r = path.getBoundingClientRect();
    const box = m.getContainer();
    const c = box.getBoundingClientRect();
    const p = m.latLngToContainerPoint(want);
    return {
      classes: path.getAttribute('class'),
      fill: path.getAttribute('fill'),
      data_lat: Number(path.dataset.lat),
      data_lon: Number(path.dataset.lon),
      // Where Leaflet drew it, against where the map projects the position
      // (container points start inside the border; Leaflet rounds to pixels).
      dx: (r.left + r.width / 2 - c.left - box.clientLeft) - p.x,
      dy: (r.top + r.height / 2 - c.top - box.clientTop) - p.y,
      in_view: m.getBounds().contains(want),
      offline_tiles: document.querySelectorAll('.offline-tiles canvas').length,
      img_tiles: document.querySelectorAll('img.leaflet-tile').length,
    };
  }, [[lat, lon], agent]);
  out.checks.row = await sp.locator(`#map-agents tr[data-agent="${agent}"]`).textContent();
  await sp.screenshot({ path: `${shots}/map.png`, fullPage: true });

  // Today's track of the agent.
  await sp.getByLabel('Agent', { exact: true }).selectOption({ label: `${agent[0].toUpperCase()}${agent.slice(1)} (${agent})` }).catch(async () => {
    // Display names differ from logins: pick by the login in the label.
    const value = await sp.locator('#track-agent option', { hasText: `(${agent})` }).getAttribute('value');
    await sp.locator('#track-agent').selectOption(value);
  });
  await sp.getByRole('button', { name: 'Show track' }).click();
  await sp.waitForFunction(() => document.getElementById('map').dataset.track !== undefined, null, { timeout: WAIT });
  out.checks.track_points = await sp.locator('#map').getAttribute('data-track');
  out.checks.track_lines = await sp.locator('path.agent-track').count();
  out.checks.track_info = await sp.locator('#track-info').textContent();
  await sp.screenshot({ path: `${shots}/map-track.png`, fullPage: true });

  // The map on a phone-sized screen.
  await sp.setViewportSize({ width: 390, height: 844 });
  await sp.screenshot({ path: `${shots}/map-mobile.png`, fullPage: true });
  out.errors = errors;
} catch (e) {
  out.error = String(e && e.stack || e);
  out.errors = errors;
  code = 1;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(code);
