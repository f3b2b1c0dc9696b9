// Wallboard: one tile per queue in large type (waiting, longest wait,
// service level since the routing core started, agents available / busy / paused), first from
// GET /api/v1/stats/queues, then kept current by the `queue_stats` pushes
// of the WebSocket (the supervisor page's feed). The longest wait ticks
// between pushes. Threshold colours: service level under 80 % or a wait
// over 60 s turns the tile amber, under 60 % or over 180 s red.
import { t, el, api, fmtDuration, connectPush } from '/assets/common.js';

const $ = (id) => document.getElementById(id);
const tiles = new Map(); // queue name -> { node, longestAt, longestMs, waiting }

function tile(name) {
  let x = tiles.get(name);
  if (!x) {
    const node = $('wb-tile').content.firstElementChild.cloneNode(true);
    node.dataset.queue = name;
    node.querySelector('.wb-name').textContent = name;
    $('wallboard').append(node);
    x = { node, longestAt: Date.now(), longestMs: 0, waiting: 0 };
    tiles.set(name, x);
  }
  return x;
}

function set(node, key, text) {
  node.querySelector(`dd[data-key="${key}"]`).textContent = text;
}

function level(x, sl) {
  const wait = x.waiting > 0 ? x.longestMs + (Date.now() - x.longestAt) : 0;
  if (sl < 60 || wait > 180_000) return 'red';
  if (sl < 80 || wait > 60_000) return 'amber';
  return 'green';
}

function show(q) {
  const x = tile(q.name);
  x.waiting = Number(q.waiting ?? 0);
  x.longestMs = Number(q.longest_wait_ms || 0);
  x.longestAt = Date.now();
  x.sl = Number(q.service_level_pct ?? 100);
  set(x.node, 'waiting', String(x.waiting));
  set(x.node, 'longest', fmtDuration(x.longestMs));
  set(x.node, 'sl', `${Math.round(x.sl)} %`);
  set(x.node, 'available', String(q.agents_available ?? 0));
  set(x.node, 'busy', String((q.agents_busy ?? 0) + (q.agents_wrap_up ?? 0)));
  set(x.node, 'paused', String(q.agents_paused ?? 0));
  x.node.dataset.level = level(x, x.sl);
  x.node.dataset.updates = String(Number(x.node.dataset.updates || 0) + 1);
}

function tick() {
  for (const x of tiles.values()) {
    if (x.waiting > 0) set(x.node, 'longest', fmtDuration(x.longestMs + (Date.now() - x.longestAt)));
    x.node.dataset.level = level(x, x.sl ?? 100);
  }
}

async function load() {
  const queues = await api('GET', '/stats/queues');
  for (const q of queues) show(q);
  if (!queues.length) $('live').textContent = t("no_queue_yet");
}

load().catch((e) => {
  $('live').textContent = e.message;
});
setInterval(tick, 1000);
connectPush(
  (m) => {
    if (m.type === 'queue_stats') show(m);
  },
  (up) => {
    $('live').textContent = up ? t("live_online") : t("live_offline");
    document.body.dataset.live = up ? 'on' : 'off';
  },
);
