// Agent desktop: ACD state, offer with screen-pop, call control, wrap-up,
// customer search and timeline. Data from /api/v1 and the push WebSocket.
import { t, el, api, fmtDuration, fmtDate, showState, connectPush } from '/assets/common.js';

const $ = (id) => document.getElementById(id);
const root = $('agent');
let stateSince = Date.now() - Number(root.dataset.inStateMs || 0);
let current = null; // { id, customer, callStart, held }

function say(text, isError) {
  const m = $('msg');
  m.textContent = text || '';
  m.classList.toggle('error', !!isError);
}

async function act(fn) {
  say('');
  try {
    await fn();
  } catch (e) {
    say(e.message, true);
  }
}

function setState(state, reason) {
  showState($('state-badge'), state);
  $('state-reason').textContent = state === 'paused' && reason ? `(${reason})` : '';
  stateSince = Date.now();
}

function tick() {
  $('state-timer').textContent = fmtDuration(Date.now() - stateSince);
  if (current && current.callStart) {
    $('call-timer').textContent = fmtDuration(Date.now() - current.callStart);
  }
}

function ivrText(trace) {
  if (trace === null || trace === undefined) return '—';
  const steps = Array.isArray(trace) ? trace : Array.isArray(trace.steps) ? trace.steps : null;
  if (!steps) return typeof trace === 'string' ? trace : JSON.stringify(trace);
  return steps
    .map((s) => (typeof s === 'object' && s ? [s.node, s.digits].filter(Boolean).join(':') : String(s)))
    .join(' → ');
}

function interactionLine(i) {
  const parts = [fmtDate(i.started_at), i.channel, i.direction];
  if (i.disposition) parts.push(`${t("disposition")}: ${i.disposition}`);
  return parts.filter(Boolean).join(' · ');
}

function onOffer(m) {
  const sp = m.screen_pop || {};
  const c = sp.customer || null;
  current = { id: m.interaction_id, customer: c, callStart: 0, held: false };
  $('pop-title').textContent = t("ringing");
  $('pop').classList.add('ringing');
  $('pop-name').textContent = c ? c.name : t("unknown_customer");
  $('pop-caller').textContent = sp.caller || '';
  $('pop-segment').textContent = c ? c.segment : '—';
  $('pop-language').textContent = (c && c.language) || '—';
  $('pop-queue').textContent = m.queue || '';
  $('pop-ivr').textContent = ivrText(sp.ivr_trace);
  const h = $('pop-history');
  h.replaceChildren();
  for (const i of (sp.history || []).slice(0, 5)) h.append(el('li', interactionLine(i)));
  if (!h.children.length) h.append(el('li', t("none"), 'muted'));
  $('wrap').hidden = true;
  $('call').hidden = true;
  $('pop').hidden = false;
}

function onAnswered(m) {
  if (!current || current.id !== m.interaction_id) current = { id: m.interaction_id, customer: null };
  current.callStart = Date.now();
  current.held = false;
  $('pop').classList.remove('ringing');
  $('pop-title').textContent = t("in_call");
  $('hold-state').hidden = true;
  $('btn-hold').textContent = t("hold");
  $('btn-hold').setAttribute('aria-pressed', 'false');
  $('call').hidden = false;
  $('btn-hangup').focus();
}

function onEnded(m) {
  if (!current || current.id !== m.interaction_id) current = { id: m.interaction_id, customer: null };
  current.callStart = 0;
  $('call').hidden = true;
  $('pop').classList.remove('ringing');
  $('pop-title').textContent = t("call_ended");
  $('wrap').hidden = false;
  $('disp-code').focus();
}

function onCancelled(m) {
  if (current && current.id === m.interaction_id) {
    current = null;
    $('pop').hidden = true;
    $('call').hidden = true;
  }
}

async function loadTimeline(customerId) {
  const page = await api('GET', `/customers/${encodeURIComponent(customerId)}/timeline?limit=20`);
  $('tl-name').textContent = page.customer.name;
  const list = $('tl-items');
  list.replaceChildren();
  for (const entry of page.items) {
    const i = entry.interaction;
    const li = el('li');
    li.dataset.interactionId = i.id;
    li.append(el('span', interactionLine(i), 'tl-head'));
    if (i.end_reason) li.append(el('span', i.end_reason, 'muted'));
    if (i.notes) li.append(el('span', `${t("notes")}: ${i.notes}`, 'tl-notes'));
    for (const ev of entry.events || []) {
      if (ev.kind && ev.kind.type === 'survey_answered') {
        li.append(el('span', `${t("survey")}: ${ev.kind.score}/5`, 'tl-survey'));
      }
    }
    list.append(li);
  }
  if (!list.children.length) list.append(el('li', t("none"), 'muted'));
  $('timeline').hidden = false;
}

async function search(q) {
  const found = await api('GET', `/customers?q=${encodeURIComponent(q)}&limit=20`);
  const list = $('search-results');
  list.replaceChildren();
  for (const c of found) {
    const b = el('button', `${c.name} — ${(c.phones || []).join(', ')}`, 'link');
    b.type = 'button';
    b.addEventListener('click', () => act(() => loadTimeline(c.id)));
    const li = el('li');
    li.append(b);
    list.append(li);
  }
  if (!found.length) list.append(el('li', t("no_results"), 'muted'));
}

$('btn-acd-login').addEventListener('click', () => act(() => api('POST', '/agent/login', {})));
$('btn-acd-logout').addEventListener('click', () => act(() => api('POST', '/agent/logout', {})));
$('btn-ready').addEventListener('click', () => act(() => api('POST', '/agent/state', { state: 'ready' })));
$('btn-pause').addEventListener('click', () =>
  act(() => api('POST', '/agent/state', { state: 'paused', reason: $('pause-reason').value })),
);
$('btn-hangup').addEventListener('click', () =>
  act(async () => {
    if (current) await api('POST', `/interactions/${current.id}/hangup`);
  }),
);
$('btn-hold').addEventListener('click', () =>
  act(async () => {
    if (!current) return;
    const on = !current.held;
    await api('POST', `/interactions/${current.id}/hold`, { on });
    current.held = on;
    $('hold-state').hidden = !on;
    $('btn-hold').textContent = on ? t("unhold") : t("hold");
    $('btn-hold').setAttribute('aria-pressed', String(on));
  }),
);
$('wrap-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  act(async () => {
    if (!current) return;
    const notes = $('disp-notes').value.trim();
    await api('POST', `/interactions/${current.id}/disposition`, {
      code: $('disp-code').value,
      notes: notes || null,
    });
    const customer = current.customer;
    current = null;
    $('wrap').hidden = true;
    $('pop').hidden = true;
    $('disp-notes').value = '';
    say(t("saved"));
    if (customer) await loadTimeline(customer.id);
  });
});
$('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  act(() => search($('search-q').value.trim()));
});

setState(root.dataset.state, root.dataset.reason);
stateSince = Date.now() - Number(root.dataset.inStateMs || 0);
setInterval(tick, 1000);
tick();

connectPush(
  (m) => {
    switch (m.type) {
      case 'offer':
        onOffer(m);
        break;
      case 'answered':
        onAnswered(m);
        break;
      case 'ended':
        onEnded(m);
        break;
      case 'offer_cancelled':
        onCancelled(m);
        break;
      case 'agent_state':
        setState(m.state, m.reason);
        break;
      default:
    }
  },
  (up) => {
    $('live').textContent = up ? t("live_online") : t("live_offline");
    document.body.dataset.live = up ? 'on' : 'off';
  },
);
