// Mobile agents on the agent desktop (issue 22): sharing the position with
// the agent's consent, and field visits (check in at the customer shown).
//
// Sharing: the "Share my position" switch is off until the agent turns it
// on; the choice is remembered on this device for this user (localStorage)
// until turned off. While on, the Geolocation API's watchPosition keeps the
// latest fix, posted to /api/v1/agent/position at once, then every
// `data-geo-interval-s` seconds. Only while signed in: the page exists only
// with a session, and a 401 sends it to /login, which ends the watch.
// `document.body.dataset.geo` says where it is (`off`, `waiting`, `sent`,
// `denied`, `error`) for people using tests and assistive tools alike.
import { t, el, api, fmtDate } from '/assets/common.js';

// Consent and drafts are kept per user: a device shared by two agents does
// not share the second one's position on the first one's word.
const USER = document.getElementById('agent')?.dataset.user || '';
const CONSENT_KEY = `sb_geo_consent:${USER}`;
let last = null; // latest fix: { lat, lon, accuracy_m }

function fixOf(p) {
  return { lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: p.coords.accuracy };
}

/** Wire the sharing switch of the agent desktop (`root` holds the data attributes). */
export function mountGeo(root) {
  const box = document.getElementById('geo-share');
  const status = document.getElementById('geo-status');
  if (!box) return;
  if (root.dataset.geoEnabled !== 'true' || !navigator.geolocation) {
    box.closest('.geo-share').hidden = true;
    return;
  }
  const intervalMs = Math.max(5, Number(root.dataset.geoIntervalS) || 60) * 1000;
  let watch = null;
  let timer = null;
  const mark = (state, text) => {
    document.body.dataset.geo = state;
    status.textContent = text;
  };

  async function send() {
    if (!last) return;
    try {
      await api('POST', '/agent/position', last);
      const time = new Date().toLocaleTimeString(document.documentElement.lang);
      mark('sent', t('geo_sent').replace('{time}', time).replace('{m}', Math.round(last.accuracy_m)));
    } catch (e) {
      mark('error', e.message);
    }
  }

  function stop(state, text) {
    if (watch !== null) navigator.geolocation.clearWatch(watch);
    if (timer !== null) clearInterval(timer);
    watch = null;
    timer = null;
    last = null;
    mark(state, text);
  }

  function start() {
    mark('waiting', t('geo_waiting'));
    watch = navigator.geolocation.watchPosition(
      (p) => {
        const first = last === null;
        last = fixOf(p);
        if (first) send();
      },
      (err) => {
        if (err.code === err.PERMISSION_DENIED) {
          box.checked = false;
          localStorage.removeItem(CONSENT_KEY);
          stop('denied', t('geo_denied'));
        } else {
          mark('error', t('geo_unavailable'));
        }
      },
      { enableHighAccuracy: true, maximumAge: intervalMs, timeout: 60000 },
    );
    timer = setInterval(send, intervalMs);
  }

  box.checked = localStorage.getItem(CONSENT_KEY) === '1';
  if (box.checked) start();
  else mark('off', t('geo_off'));
  box.addEventListener('change', () => {
    if (box.checked) {
      localStorage.setItem(CONSENT_KEY, '1');
      start();
    } else {
      localStorage.removeItem(CONSENT_KEY);
      stop('off', t('geo_off'));
    }
  });
}

/** The current position: the shared fix, else one asked now (10 s), else null. */
function hereNow() {
  if (last) return Promise.resolve(last);
  if (!navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (p) => resolve(fixOf(p)),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  });
}

/** Field visits (the timeline's `field_visits`) as timeline items `{ at, node }`. */
export function visitItems(visits) {
  return (visits || []).map((v) => {
    const li = el('li', null, 'tl-visit');
    li.dataset.visitId = v.id;
    li.append(el('span', `${t('visit')} — ${fmtDate(v.at)}`, 'tl-head'));
    if (v.point) {
      li.append(el('span', `${v.point.lat.toFixed(5)}, ${v.point.lon.toFixed(5)} (± ${Math.round(v.point.accuracy_m)} m)`, 'muted'));
    }
    if (v.notes) li.append(el('span', `${t('notes')}: ${v.notes}`, 'tl-notes'));
    return { at: Date.parse(v.at), node: li };
  });
}

/**
 * Wire the check-in form of the customer card, and the pop's "Field visit"
 * button, which opens the popped customer's card at that form.
 */
export function mountVisit(getShown, act, reloadTimeline, getPopped) {
  const form = document.getElementById('visit-form');
  if (!form) return;
  const fromPop = document.getElementById('btn-pop-visit');
  fromPop?.addEventListener('click', () => {
    const c = getPopped();
    if (!c) return;
    act(async () => {
      await reloadTimeline(c.id, '');
      const notes = document.getElementById('visit-notes');
      notes.scrollIntoView({ block: 'center' });
      notes.focus();
    });
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const customer = getShown();
    if (!customer) return;
    act(async () => {
      const notes = document.getElementById('visit-notes').value;
      const here = await hereNow();
      await api('POST', `/customers/${encodeURIComponent(customer.id)}/visits`, { notes, ...(here || {}) });
      document.getElementById('visit-notes').value = '';
      await reloadTimeline(customer.id, t('visit_done'));
    });
  });
}

// --- Drafts and the installable shell ---------------------------------------

const DRAFT_PREFIX = `sb_draft:${USER}:`;

/** The reply typed for conversation `id` and not sent yet ('' when none). */
export function draftOf(id) {
  return localStorage.getItem(`${DRAFT_PREFIX}${id}`) || '';
}

/** Keep (or, when empty, forget) the reply typed for conversation `id`. */
export function keepDraft(id, text) {
  if (text) localStorage.setItem(`${DRAFT_PREFIX}${id}`, text);
  else localStorage.removeItem(`${DRAFT_PREFIX}${id}`);
}

/**
 * Register the service worker (`/sw.js`) that keeps the desktop's shell
 * (styles and scripts) for when the network drops, and say on the page
 * whether the browser is online (`document.body.dataset.online`).
 */
export function mountShell(live) {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch(() => {});
  }
  const show = () => {
    document.body.dataset.online = navigator.onLine ? 'yes' : 'no';
    if (!navigator.onLine && live) live.textContent = t('offline');
  };
  window.addEventListener('online', show);
  window.addEventListener('offline', show);
  show();
}
