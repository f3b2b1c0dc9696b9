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

// While the test holds the phone offline, the service worker's offline page
// (503) is the expected answer to a page load.
let offline = false;

function watchErrors(page, errors, who) {
  page.on('pageerror', (e) => errors.push(`${who}: ${e}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`${who}: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (offline && r.status() === 503 && r.fromServiceWorker()) return;
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
  await ap.getByLabel('Visit report').fill('Meter read, customer happy');
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

  // The installable desktop: manifest linked, service worker active.
  out.checks.manifest = await ap.evaluate(async () => {
    const link = document.querySelector('link[rel="manifest"]');
    const m = await (await fetch(link.href)).json();
    return { start_url: m.start_url, display: m.display, icons: m.icons.length };
  });
  out.checks.sw_scope = await ap.evaluate(() => navigator.serviceWorker.ready.then((r) => r.scope));

  // A web chat visitor writes; amina accepts, types a reply, the network
  // drops, the page is reloaded offline and again online: the reply is back.
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(`${base}/health`);
  await visitor.evaluate((wsUrl) => new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    window.chat = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'hello', visitor: 'geo-visitor-1', name: 'Field Visitor' }));
      ws.send(JSON.stringify({ type: 'message', text: 'My meter is broken', cid: 'c1' }));
    };
    ws.onmessage = (e) => { if (JSON.parse(e.data).type === 'ack') resolve(); };
    ws.onerror = () => reject(new Error('web chat socket failed'));
  }), `${base.replace(/^http/, 'ws')}/webchat/ws`);
  await ap.locator('#btn-accept').waitFor({ state: 'visible', timeout: WAIT });
  await ap.locator('#btn-accept').click();
  await ap.locator('#reply-text').waitFor({ state: 'visible', timeout: WAIT });
  // The pop's "Field visit" opens the popped customer's card at the form.
  out.checks.pop_visit_shown = await ap.locator('#btn-pop-visit').isVisible();
  if (out.checks.pop_visit_shown) {
    await ap.locator('#btn-pop-visit').click();
    await ap.waitForFunction(() => document.activeElement && document.activeElement.id === 'visit-notes', null, { timeout: WAIT });
    out.checks.pop_visit_customer = await ap.locator('#tl-name').textContent();
  }
  // The supervisor's map recoloured amina's marker live: busy.
  await sp.locator(`path.agent-marker.agent-${agent}.state-busy`).waitFor({ timeout: WAIT });
  out.checks.busy_fill = await sp.locator(`path.agent-marker.agent-${agent}`).getAttribute('fill');
  const draft = 'A technician comes tomorrow at 10';
  await ap.locator('#reply-text').fill(draft);
  offline = true;
  await phone.setOffline(true);
  await ap.waitForFunction(() => document.body.dataset.online === 'no', null, { timeout: WAIT });
  await ap.reload().catch(() => {});
  out.checks.offline_page = await ap.locator('body').textContent();
  await ap.screenshot({ path: `${shots}/agent-offline-mobile.png`, fullPage: true });
  await phone.setOffline(false);
  offline = false;
  await ap.goto(`${base}/agent`);
  await ap.locator('#reply-text').waitFor({ state: 'visible', timeout: WAIT });
  await ap.waitForFunction((d) => document.getElementById('reply-text').value === d, draft, { timeout: WAIT });
  out.checks.draft_after_reload = await ap.locator('#reply-text').inputValue();
  // The consent is remembered on the device: sharing resumes by itself.
  await ap.waitForFunction(() => document.body.dataset.geo === 'sent', null, { timeout: WAIT });
  out.checks.geo_checked_after_reload = await ap.getByLabel('Share my position').isChecked();
  await ap.screenshot({ path: `${shots}/agent-draft-restored-mobile.png`, fullPage: true });
  // Sent: the draft is forgotten.
  await ap.getByRole('button', { name: 'Send' , exact: true }).first().click();
  await ap.waitForFunction(() => !Object.keys(localStorage).some((k) => k.startsWith('sb_draft:')), null, { timeout: WAIT });
  out.checks.drafts_left = await ap.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('sb_draft:')).length);
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
