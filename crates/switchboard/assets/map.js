// The supervisors' map of mobile agents (issue 22): each agent's latest
// position coloured by ACD state, re-read every `data-refresh-s` seconds,
// and an agent's track for a day. Leaflet (vendored, `window.L`) draws it;
// tiles come from `[map] tile_url`, else an offline grid background is
// drawn in the browser so the map works on a closed network. Names and
// states go into the map as DOM text, never as HTML.
import { t, el, api, fmtDate, connectPush } from './common.js';

const L = window.L;
const box = document.getElementById('map');
const status = document.getElementById('map-status');
const tbody = document.querySelector('#map-agents tbody');
const trackForm = document.getElementById('track-form');
const trackAgent = document.getElementById('track-agent');
const trackDate = document.getElementById('track-date');
const trackInfo = document.getElementById('track-info');

/** Fill colour per ACD state (the badges' border colours in app.css). */
const COLOURS = {
  available: '#2e7d32',
  reserved: '#c28a00',
  busy: '#0b57d0',
  wrap_up: '#6c3fc2',
  paused: '#b3261e',
  logged_out: '#8a97a8',
  unknown: '#8a97a8',
};

const map = L.map(box, {
  center: [Number(box.dataset.lat), Number(box.dataset.lon)],
  zoom: Number(box.dataset.zoom) || 12,
  worldCopyJump: true,
});
// The browser tests read marker positions through the map's projection.
window.switchboardMap = map;

if (box.dataset.tileUrl) {
  L.tileLayer(box.dataset.tileUrl, { attribution: box.dataset.attribution, maxZoom: 19 }).addTo(map);
} else {
  // Offline background: a light canvas per tile with its edges and the
  // latitude/longitude of its north-west corner, no network needed.
  const Offline = L.GridLayer.extend({
    createTile(coords) {
      const tile = document.createElement('canvas');
      const size = this.getTileSize();
      tile.width = size.x;
      tile.height = size.y;
      const g = tile.getContext('2d');
      g.fillStyle = (coords.x + coords.y) % 2 === 0 ? '#eef2f5' : '#e7ecf0';
      g.fillRect(0, 0, size.x, size.y);
      g.strokeStyle = '#c5cfd8';
      g.strokeRect(0.5, 0.5, size.x - 1, size.y - 1);
      const nw = map.unproject(coords.scaleBy(size), coords.z);
      g.fillStyle = '#5b6b7c';
      g.font = '11px sans-serif';
      g.fillText(`${nw.lat.toFixed(3)}°, ${L.Util.wrapNum(nw.lng, [-180, 180], true).toFixed(3)}°`, 6, 14);
      return tile;
    },
  });
  new Offline({ className: 'offline-tiles' }).addTo(map);
  map.attributionControl.addAttribution(t('map_offline_short'));
}

const markers = L.layerGroup().addTo(map);
const trackLayer = L.layerGroup().addTo(map);
let fitted = false;

function cssToken(s) {
  return String(s).replace(/[^A-Za-z0-9_-]/g, '_');
}

function stateLabel(a) {
  const label = t(`st_${a.state}`);
  return a.pause_reason ? `${label} (${t(`reason_${a.pause_reason}`)})` : label;
}

function ageText(s) {
  if (s < 60) return t('map_age_s').replace('{n}', s);
  if (s < 3600) return t('map_age_min').replace('{n}', Math.floor(s / 60));
  return t('map_age_h').replace('{n}', Math.floor(s / 3600));
}

let shown = []; // the agents last drawn

function draw(agents) {
  shown = agents;
  markers.clearLayers();
  tbody.replaceChildren();
  for (const a of agents) {
    const colour = COLOURS[a.state] || COLOURS.unknown;
    L.circle([a.lat, a.lon], {
      radius: a.accuracy_m, color: colour, weight: 1, fillOpacity: 0.08, interactive: false,
      className: 'agent-accuracy',
    }).addTo(markers);
    const m = L.circleMarker([a.lat, a.lon], {
      radius: 9, color: '#ffffff', weight: 2, fillColor: colour, fillOpacity: 0.95,
      className: `agent-marker agent-${cssToken(a.login)} state-${cssToken(a.state)}`,
    }).addTo(markers);
    m.bindTooltip(el('span', `${a.name} — ${stateLabel(a)}`), { direction: 'top', offset: [0, -8] });
    const path = m.getElement();
    if (path) {
      path.dataset.agent = a.login;
      path.dataset.state = a.state;
      path.dataset.lat = a.lat;
      path.dataset.lon = a.lon;
    }
    const tr = document.createElement('tr');
    tr.dataset.agent = a.login;
    const name = el('th', a.name);
    name.scope = 'row';
    const st = el('td');
    st.dataset.label = t('state');
    st.append(el('span', stateLabel(a), `badge st-${cssToken(a.state)}`));
    const seen = el('td', `${fmtDate(a.at)} (${ageText(a.age_s)})`);
    seen.dataset.label = t('map_last_seen');
    const acc = el('td', `± ${Math.round(a.accuracy_m)} m`);
    acc.dataset.label = t('map_accuracy');
    tr.append(name, st, seen, acc);
    tr.addEventListener('click', () => map.setView([a.lat, a.lon], Math.max(map.getZoom(), 15)));
    tbody.append(tr);
  }
  if (!fitted && agents.length > 0) {
    fitted = true;
    map.fitBounds(L.latLngBounds(agents.map((a) => [a.lat, a.lon])).pad(0.3), { maxZoom: 15, animate: false });
  }
  box.dataset.markers = String(agents.length);
  status.textContent = agents.length
    ? t('map_updated').replace('{time}', new Date().toLocaleTimeString(document.documentElement.lang))
    : t('map_no_positions');
}

async function load() {
  try {
    draw(await api('GET', '/agents/positions'));
    document.body.dataset.map = 'ready';
  } catch (e) {
    status.textContent = e.message;
  }
}

async function loadAgents() {
  try {
    const agents = await api('GET', '/agents');
    for (const a of agents) {
      const o = el('option', `${a.name} (${a.login})`);
      o.value = a.id;
      trackAgent.append(o);
    }
  } catch (e) {
    trackInfo.textContent = e.message;
  }
}

trackForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  trackLayer.clearLayers();
  try {
    const tr = await api('GET', `/agents/${encodeURIComponent(trackAgent.value)}/track?date=${encodeURIComponent(trackDate.value)}`);
    const pts = tr.points.map((p) => [p.lat, p.lon]);
    if (pts.length > 0) {
      L.polyline(pts, { color: '#0b57d0', weight: 4, opacity: 0.8, className: 'agent-track' }).addTo(trackLayer);
      tr.points.forEach((p, i) => {
        L.circleMarker([p.lat, p.lon], {
          radius: i === pts.length - 1 ? 6 : 3, color: '#0b57d0', weight: 1, fillOpacity: 1,
          className: 'track-point',
        }).bindTooltip(el('span', fmtDate(p.at))).addTo(trackLayer);
      });
      map.fitBounds(L.latLngBounds(pts).pad(0.3), { maxZoom: 17, animate: false });
      trackInfo.textContent = t('map_track_points').replace('{n}', pts.length).replace('{date}', tr.date);
    } else {
      trackInfo.textContent = t('map_no_track').replace('{date}', tr.date);
    }
    box.dataset.track = String(pts.length);
  } catch (e) {
    trackInfo.textContent = e.message;
    box.dataset.track = 'error';
  }
});

await Promise.all([load(), loadAgents()]);
setInterval(load, Math.max(5, Number(box.dataset.refreshS) || 60) * 1000);

// ACD state changes recolour the markers at once (positions move at the
// next read).
connectPush(
  (m) => {
    if (m.type !== 'agent_state') return;
    const a = shown.find((x) => x.agent_id === m.agent_id);
    if (!a) return;
    a.state = m.state;
    a.pause_reason = m.state === 'paused' ? m.reason || null : null;
    draw(shown);
  },
  (up) => { document.body.dataset.live = up ? 'on' : 'off'; },
);
