// Supervisor live view: queue figures and agent states (with each agent's
// current interaction), first from /api/v1/stats/*, then kept current by
// `queue_stats` and `agent_state` pushes. The agents can be filtered by
// queue (client-side: members by skill, or busy on that queue).
import { t, el, api, fmtDuration, fmtDate, showState, stateOf, connectPush } from '/assets/common.js';

const $ = (id) => document.getElementById(id);
const queueRows = new Map(); // name -> tr
const agentRows = new Map(); // agent id -> { tr, since }
const agentsById = new Map(); // agent id -> agent record (name, skills)
const queuesById = new Map(); // queue id -> queue record (name, required skills)
const interactions = new Map(); // interaction id -> { id, channel, queue, queueId, since }

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

/** Does `agent` have every skill `queue` requires, at its level or above? */
function serves(agent, queue) {
  if (!agent || !queue) return false;
  return (queue.required_skills || []).every((r) =>
    (agent.skills || []).some((s) => s.skill === r.skill && s.level >= r.level),
  );
}

function showAgent(id, state, reason, inStateMs, callsToday, tasks) {
  let row = agentRows.get(id);
  if (!row) {
    row = {};
    const tr = el('tr');
    tr.dataset.agent = id;
    const th = el('th', agentsById.get(id)?.name || `#${id}`);
    th.scope = 'row';
    tr.append(th);
    const st = cell(tr, 'state', t("state"));
    st.append(el('span', '', 'badge'), el('span', '', 'reason'));
    cell(tr, 'since', t("time_in_state"));
    cell(tr, 'current', t("current_interaction")).textContent = '—';
    cell(tr, 'calls', t("calls_today"));
    const actions = cell(tr, 'actions', t("actions"));
    // Listen / whisper / barge into the agent's live call: the platform
    // rings the supervisor's phone (PUT .../monitor), Leave hangs it up;
    // Take over (once on the call) replaces the agent (POST .../take-over).
    for (const k of ['listen', 'whisper', 'barge', 'take_over', 'leave']) {
      const b = el('button', t(k));
      b.type = 'button';
      b.disabled = true;
      b.title = t("monitor_hint");
      b.dataset.action = k;
      b.addEventListener('click', () => monitor(row, k, b).catch(() => {}));
      actions.append(b);
    }
    actions.append(el('span', '', 'monitor-status'));
    row.tr = tr;
    row.since = Date.now();
    row.tasks = [];
    row.current = null;
    agentRows.set(id, row);
    $('agents').tBodies[0].append(tr);
  }
  const st = row.tr.querySelector('td[data-key="state"]');
  showState(st.querySelector('.badge'), state);
  st.querySelector('.reason').textContent = state === 'paused' && reason ? ` (${reason})` : '';
  row.since = Date.now() - (inStateMs || 0);
  if (callsToday !== undefined) cell(row.tr, 'calls', t("calls_today")).textContent = String(callsToday);
  if (tasks !== undefined) {
    row.tasks = tasks || [];
    showCurrent(row).catch(() => {});
  }
  applyFilter();
  tick();
}

/** The current interaction of an agent: id, channel, queue and since when. */
async function showCurrent(row) {
  const td = row.tr.querySelector('td[data-key="current"]');
  const id = row.tasks[0];
  if (id === undefined) {
    row.current = null;
    enableMonitor(row);
    td.textContent = '—';
    delete td.dataset.interaction;
    td.dataset.queue = '';
    return;
  }
  let i = interactions.get(id);
  if (!i) {
    const full = await api('GET', `/interactions/${encodeURIComponent(id)}`);
    i = {
      id,
      channel: full.channel,
      queue: queuesById.get(full.queue_id)?.name || '',
      queueId: full.queue_id,
      since: Date.parse(full.answered_at || full.started_at) || Date.now(),
    };
    interactions.set(id, i);
  }
  if (row.tasks[0] !== id) return; // changed while we asked
  row.current = i;
  td.replaceChildren(el('span', `#${i.id} · ${i.channel} · ${i.queue || '—'} · ${t("since")} `), el('time', '', 'cur-since'));
  td.dataset.interaction = String(i.id);
  td.dataset.channel = i.channel;
  td.dataset.queue = i.queue;
  enableMonitor(row);
  applyFilter();
  tick();
}

/** The monitoring buttons work on a live voice call only. */
function enableMonitor(row) {
  const voice = !!(row.current && row.current.channel === 'voice');
  for (const b of row.tr.querySelectorAll('button[data-action]')) b.disabled = !voice;
  if (!voice) row.tr.querySelector('.monitor-status').textContent = '';
}

/** Start, switch or leave monitoring of the agent's current call. */
async function monitor(row, action, button) {
  const status = row.tr.querySelector('.monitor-status');
  if (!row.current) return;
  const path = `/interactions/${encodeURIComponent(row.current.id)}/monitor`;
  button.disabled = true;
  try {
    if (action === 'leave') {
      await api('DELETE', path);
      status.textContent = '';
    } else if (action === 'take_over') {
      await api('POST', `/interactions/${encodeURIComponent(row.current.id)}/take-over`);
      status.textContent = ` ${t("taken_over")}`;
    } else {
      await api('PUT', path, { mode: action });
      status.textContent = ` ${t("monitoring")}: ${t(action)}`;
    }
  } catch (e) {
    status.textContent = ` ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

/** Show only the agents of the chosen queue (members by skill, or busy on it). */
function applyFilter() {
  const qid = Number($('agent-filter').value || 0);
  const q = queuesById.get(qid);
  let shown = 0;
  for (const [id, row] of agentRows) {
    const visible = !qid || serves(agentsById.get(id), q) || (row.current && row.current.queueId === qid);
    row.tr.hidden = !visible;
    if (visible) shown += 1;
  }
  $('agent-count').textContent = `${shown} ${t("shown")}`;
}

function tick() {
  for (const row of agentRows.values()) {
    row.tr.querySelector('td[data-key="since"]').textContent = fmtDuration(Date.now() - row.since);
    const cur = row.tr.querySelector('.cur-since');
    if (cur && row.current) cur.textContent = fmtDuration(Date.now() - row.current.since);
  }
}

async function refreshAgents() {
  for (const a of await api('GET', '/stats/agents')) {
    const [state, reason] = stateOf(a.status);
    showAgent(a.agent, state, reason, a.in_status_ms, a.calls_today, a.tasks);
  }
}

let refreshTimer = 0;
/** State pushes do not carry tasks: re-read the agents' figures, at most every 300 ms. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refreshAgents().catch(() => {}), 300);
}

async function load() {
  try {
    for (const a of await api('GET', '/agents')) agentsById.set(a.id, a);
    for (const q of await api('GET', '/queues')) {
      queuesById.set(q.id, q);
      const o = el('option', q.name);
      o.value = String(q.id);
      $('agent-filter').append(o);
    }
  } catch {
    /* names and the filter are a nicety */
  }
  for (const q of await api('GET', '/stats/queues')) showQueue(q);
  await refreshAgents();
}

// SLA incidents raised by the platform (open or acknowledged), refreshed
// every 15 s and after each action.
async function refreshIncidents() {
  const list = await api('GET', '/incidents?open=true');
  const body = $('incidents').tBodies[0];
  body.replaceChildren();
  $('no-incidents').hidden = list.length > 0;
  for (const i of list) {
    const tr = el('tr');
    tr.dataset.incident = String(i.id);
    const th = el('th', i.category);
    th.scope = 'row';
    const deadline = new Date(new Date(i.opened_at).getTime() + i.sla_minutes * 60000);
    const late = deadline.getTime() < Date.now();
    const actions = el('td');
    actions.dataset.label = t("actions");
    for (const [verb, label] of [['acknowledge', 'incident_acknowledge'], ['resolve', 'incident_resolve']]) {
      if (verb === 'acknowledge' && i.state !== 'open') continue;
      const b = el('button', t(label));
      b.type = 'button';
      b.dataset.action = verb;
      b.addEventListener('click', () => {
        b.disabled = true;
        api('POST', `/incidents/${i.id}/${verb}`)
          .then(refreshIncidents)
          .catch((e) => { $('live').textContent = e.message; b.disabled = false; });
      });
      actions.append(b);
    }
    const cells = [
      [t("incident_source"), i.source],
      [t("state"), i.state],
      [t("incident_opened"), fmtDate(i.opened_at)],
      [t("incident_deadline"), fmtDate(deadline.toISOString()) + (late ? ' !' : '')],
    ].map(([label, text]) => {
      const td = el('td', text);
      td.dataset.label = label;
      return td;
    });
    tr.append(th, ...cells, actions);
    body.append(tr);
  }
}
refreshIncidents().catch(() => {});
setInterval(() => refreshIncidents().catch(() => {}), 15000);

$('agent-filter').addEventListener('change', applyFilter);
load().catch((e) => {
  $('live').textContent = e.message;
});
setInterval(tick, 1000);

connectPush(
  (m) => {
    if (m.type === 'queue_stats') showQueue(m);
    else if (m.type === 'agent_state') {
      showAgent(m.agent_id, m.state, m.reason, 0);
      scheduleRefresh();
    }
  },
  (up) => {
    $('live').textContent = up ? t("live_online") : t("live_offline");
    document.body.dataset.live = up ? 'on' : 'off';
  },
);
