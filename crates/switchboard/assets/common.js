// Shared helpers for the Switchboard pages. All customer data goes into the
// page through textContent (never innerHTML), so it is always shown as text.

const strings = JSON.parse(document.getElementById('i18n')?.textContent || '{}');

/** The UI string for `key` in the page's language. */
export function t(key) {
  return strings[key] ?? key;
}

/** An element with text content and an optional class. */
export function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

/** `m:ss` or `h:mm:ss` for a duration in ms. */
export function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** A date for people, in the page's language. */
export function fmtDate(iso) {
  const d = new Date(iso);
  return isNaN(d) ? String(iso ?? '') : d.toLocaleString(document.documentElement.lang);
}

/**
 * Call the JSON API with the session cookie. Resolves to the parsed body (or
 * null for 204); rejects with an Error whose message is the API's message.
 */
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(`/api/v1${path}`, init);
  if (r.status === 401) {
    location.href = '/login';
    throw new Error(t("error"));
  }
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new Error((data && data.message) || `${t("error")} ${r.status}`);
  return data;
}

/** Agent states as the push schema names them. */
export const STATES = ['logged_out', 'available', 'reserved', 'busy', 'wrap_up', 'paused'];

/** Normalise the routing core's status (`"Available"`, `{"Paused":"break"}`) to [state, reason]. */
export function stateOf(status) {
  if (status && typeof status === 'object') {
    const [k, v] = Object.entries(status)[0] || ['', ''];
    return [snake(k), v || ''];
  }
  return [snake(String(status || '')), ''];
}

function snake(s) {
  return s.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Show a state as text and colour: sets the badge's text and `st-*` class. */
export function showState(badge, state) {
  const known = STATES.includes(state) ? state : 'unknown';
  badge.textContent = t(`st_${known}`);
  badge.className = `badge st-${known}`;
  badge.dataset.state = known;
}

/**
 * Keep a WebSocket to `path` (default `/api/v1/ws`) open (cookie auth),
 * reconnecting with back-off; `onMessage(json)` for each push,
 * `onStatus(bool)` on (dis)connect.
 */
export function connectPush(onMessage, onStatus, path = '/api/v1/ws') {
  let delay = 500;
  let retry = null; // the timer of the next attempt while closed
  // Back online after a network drop: try at once, not at the end of the back-off.
  window.addEventListener('online', () => {
    if (retry !== null) {
      clearTimeout(retry);
      retry = null;
      open();
    }
  });
  const open = () => {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}${path}`);
    ws.onopen = () => {
      delay = 500;
      onStatus(true);
    };
    ws.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (m && m.v === 1) onMessage(m);
    };
    ws.onclose = () => {
      onStatus(false);
      retry = setTimeout(() => {
        retry = null;
        open();
      }, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  open();
}
