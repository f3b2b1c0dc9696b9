// Supervisor live view: queue figures and agent states, first from
// /api/v1/stats/*, then kept current by `queue_stats` and `agent_state` pushes.
import { t, el, api, fmtDuration, showState, stateOf, connectPush } from '/assets/common.js';

const $ = (id) => document.getElementById(id);
const queueRows = new Map(); // name -> tr
const agentRows = new Map(); // agent id -> { tr, since }
const agentNames = new Map(); // agent id -> name

function cell(tr, key, label) {
  let td = tr.querySelector(`td[data-key="${key}"]`);
  if (!td) {
    td = el('td');
    td.dataset.key = key;
    td.dataset.label = label;
    tr.append(td);
  }
  return td;
}

function showQueue(q) {
  let tr = queueRows.get(q.name);
  if (!tr) {
    tr = el('tr');
    tr.dataset.queue = q.name;
    const th = el('th', q.name);
    th.scope = 'row';
    tr.append(th);
    queueRows.set(q.name, tr);
    $('queues').tBodies[0].append(tr);
  }
  const c = q.counters || {};
  cell(tr, 'waiting', t("waiting")).textContent = String(q.waiting ?? 0);
  cell(tr, 'longest', t("longest_wait")).textContent = fmtDuration(q.longest_wait_ms || 0);
  cell(tr, 'sl', t("sl")).textContent = `${Math.round(Number(q.service_level_pct || 0))} %`;
  cell(tr, 'asa', t("asa")).textContent = `${Math.round(Number(q.asa_s || 0))} s`;
  cell(tr, 'abandoned', t("abandoned")).textContent = String(c.abandoned ?? 0);
  cell(tr, 'agents', t("agents_per_state")).textContent =
    `${q.agents_available ?? 0} / ${q.agents_busy ?? 0} / ${q.agents_wrap_up ?? 0} / ${q.agents_paused ?? 0}`;
}

function showAgent(id, state, reason, inStateMs, callsToday) {
  let row = agentRows.get(id);
  if (!row) {
    const tr = el('tr');
    tr.dataset.agent = id;
    const th = el('th', agentNames.get(id) || `#${id}`);
    th.scope = 'row';
    tr.append(th);
    const st = cell(tr, 'state', t("state"));
    st.append(el('span', '', 'badge'), el('span', '', 'reason'));
    cell(tr, 'since', t("time_in_state"));
    cell(tr, 'calls', t("calls_today"));
    const actions = cell(tr, 'actions', t("actions"));
    for (const k of ['listen', 'whisper', 'barge']) {
      const b = el('button', `${t(k)} (${t("coming")})`);
      b.type = 'button';
      b.disabled = true;
      actions.append(b);
    }
    row = { tr, since: Date.now() };
    agentRows.set(id, row);
    $('agents').tBodies[0].append(tr);
  }
  const st = row.tr.querySelector('td[data-key="state"]');
  showState(st.querySelector('.badge'), state);
  st.querySelector('.reason').textContent = state === 'paused' && reason ? ` (${reason})` : '';
  row.since = Date.now() - (inStateMs || 0);
  if (callsToday !== undefined) cell(row.tr, 'calls', t("calls_today")).textContent = String(callsToday);
  tick();
}

function tick() {
  for (const row of agentRows.values()) {
    row.tr.querySelector('td[data-key="since"]').textContent = fmtDuration(Date.now() - row.since);
  }
}

async function load() {
  try {
    for (const a of await api('GET', '/agents')) agentNames.set(a.id, a.name);
  } catch {
    /* names are a nicety */
  }
  for (const q of await api('GET', '/stats/queues')) showQueue(q);
  for (const a of await api('GET', '/stats/agents')) {
    const [state, reason] = stateOf(a.status);
    showAgent(a.agent, state, reason, a.in_status_ms, a.calls_today);
  }
}

load().catch((e) => {
  $('live').textContent = e.message;
});
setInterval(tick, 1000);

connectPush(
  (m) => {
    if (m.type === 'queue_stats') showQueue(m);
    else if (m.type === 'agent_state') showAgent(m.agent_id, m.state, m.reason, 0);
  },
  (up) => {
    $('live').textContent = up ? t("live_online") : t("live_offline");
    document.body.dataset.live = up ? 'on' : 'off';
  },
);
