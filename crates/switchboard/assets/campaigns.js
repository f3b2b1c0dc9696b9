// Outbound campaigns (issue 15): start one from a .csv or .xlsx list (the
// campaign is created, then the file is uploaded as it is; bad rows are
// listed with their line), see every campaign with its state and figures
// (refreshed every 2 s), pause, resume or stop one (stop asks a second
// click: it is final). Every text from
// the server goes into the page through textContent.
import { t, el, api } from '/assets/common.js';

const $ = (id) => document.getElementById(id);
const rows = new Map(); // campaign id -> tr

function cell(tr, key, label, text) {
  let td = tr.querySelector(`td[data-key="${key}"]`);
  if (!td) {
    td = el('td');
    td.dataset.key = key;
    td.dataset.label = label;
    tr.append(td);
  }
  if (text !== undefined) td.textContent = text;
  return td;
}

function show(c) {
  let tr = rows.get(c.id);
  if (!tr) {
    tr = el('tr');
    tr.dataset.campaign = c.id;
    const th = el('th', c.name);
    th.scope = 'row';
    tr.append(th);
    rows.set(c.id, tr);
    $('campaigns').tBodies[0].append(tr);
  }
  cell(tr, 'state', t("state"), stateText(c.state));
  cell(tr, 'dialed', t("dialed"), String(c.dialed));
  cell(tr, 'live', t("live_answers"), String(c.live));
  cell(tr, 'connected', t("connected"), String(c.connected));
  cell(tr, 'no_answer', t("no_answer_busy"), `${c.no_answer} / ${c.busy}`);
  cell(tr, 'abandoned', t("abandoned"), String(c.abandoned));
  cell(tr, 'drop', t("drop_rate"), `${Number(c.drop_rate_pct || 0).toFixed(1)} % (24 h: ${Number(c.abandon_24h_pct || 0).toFixed(1)} %)`);
  cell(tr, 'agents', t("campaign_agents"), `${c.agents_free} / ${c.agents}`);
  cell(tr, 'dial_level', t("dial_level"), Number(c.dial_level || 0).toFixed(2));
  const actions = cell(tr, 'actions', t("actions"));
  if (tr.dataset.state !== c.state) {
    tr.dataset.state = c.state;
    actions.replaceChildren(...buttons(c));
  }
}

function stateText(state) {
  return { running: t("campaign_running"), paused: t("paused"), stopped: t("campaign_stopped") }[state] || state;
}

/** The actions a campaign's state allows: pause or resume, and stop. */
function buttons(c) {
  const out = [];
  const action = (label, verb) => {
    const b = el('button', label);
    b.type = 'button';
    b.addEventListener('click', async () => {
      if (verb === 'stop' && b.dataset.armed !== 'yes') {
        // Stopping is final: a second click confirms.
        b.dataset.armed = 'yes';
        b.textContent = t("confirm_stop_campaign");
        b.classList.add('danger');
        return;
      }
      b.disabled = true;
      try {
        await api('POST', `/dialer/campaigns/${c.id}/${verb}`);
        await refresh();
      } catch (e) {
        b.disabled = false;
        showError(e.message);
      }
    });
    out.push(b);
  };
  if (c.state === 'running') action(t("pause_campaign"), 'pause');
  if (c.state === 'paused') action(t("resume_campaign"), 'resume');
  if (c.state !== 'stopped') action(t("stop_campaign"), 'stop');
  return out;
}

function showError(msg) {
  const e = $('campaign-error');
  e.textContent = msg;
  e.hidden = !msg;
}

async function refresh() {
  try {
    const list = await api('GET', '/dialer/campaigns');
    for (const c of list) show(c);
  } catch (e) {
    showError(e.message);
  }
}

async function queues() {
  const select = $('c-queue');
  for (const q of await api('GET', '/queues')) {
    const o = el('option', q.name);
    o.value = q.name;
    select.append(o);
  }
}

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** Upload a list file to a campaign as it is; returns {added, rejected}. */
async function upload(id, file) {
  const type = /\.xlsx$/i.test(file.name) ? XLSX : 'text/csv';
  const r = await fetch(`/api/v1/dialer/campaigns/${id}/contacts`, {
    method: 'POST', credentials: 'same-origin',
    headers: { Accept: 'application/json', 'Content-Type': type },
    body: file,
  });
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new Error((data && data.message) || `${t("error")} ${r.status}`);
  return data;
}

$('campaign-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError('');
  $('campaign-result').textContent = '';
  $('campaign-rejected').replaceChildren();
  const name = $('c-name').value.trim();
  const file = $('c-file').files[0];
  if (!name) { showError(t("campaign_name_required")); $('c-name').focus(); return; }
  if (!file) { showError(t("contact_list_required")); $('c-file').focus(); return; }
  try {
    const c = await api('POST', '/dialer/campaigns', {
      name,
      queue: $('c-queue').value,
      mode: $('c-mode').value,
      window: $('c-window').value,
    });
    const r = await upload(c.id, file);
    $('campaign-result').textContent =
      `${t("campaign_started")}: ${r.added} ${t("contacts_loaded")}, ${r.rejected.length} ${t("rows_rejected")}`;
    for (const p of r.rejected) {
      $('campaign-rejected').append(el('li', `${t("line")} ${p.line}: ${p.reason}`));
    }
    await refresh();
  } catch (e) {
    showError(e.message);
  }
});

await queues().catch((e) => showError(e.message));
await refresh();
setInterval(refresh, 2000);
