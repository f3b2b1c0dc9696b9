// Agent desktop: ACD state, offer with screen-pop (accept/reject for digital
// tasks), call control and transfer, the message thread of digital
// conversations, wrap-up, customer search and timeline. Data from /api/v1
// and the push WebSocket. Text from customers only ever goes in through
// textContent (see common.js `el`).
import { t, el, api, fmtDuration, fmtDate, showState, connectPush } from '/assets/common.js';
import { fill, mergeItems, mountMerge } from '/assets/merge.js';
import { draftOf, keepDraft, mountGeo, mountShell, mountVisit, visitItems } from '/assets/field.js';

const $ = (id) => document.getElementById(id);
const root = $('agent');
let stateSince = Date.now() - Number(root.dataset.inStateMs || 0);
let current = null; // { id, channel, customer, callStart, held }
let shown = null; // the customer the timeline card shows
const canPlay = root.dataset.canPlay === 'true';

/** Voice is the only channel that rings a phone; the rest are digital tasks. */
const isDigital = (channel) => !!channel && channel !== 'voice';

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
  current = { id: m.interaction_id, channel: m.channel, customer: c, callStart: 0, held: false };
  $('pop-title').textContent = isDigital(m.channel) ? `${t("new_task")} (${m.channel})` : t("ringing");
  $('offer-actions').hidden = !isDigital(m.channel);
  $('pop').classList.add('ringing');
  $('pop-name').textContent = c ? c.name : t("unknown_customer");
  $('pop-caller').textContent = sp.caller || '';
  $('pop-segment').textContent = c ? c.segment : '—';
  $('pop-language').textContent = (c && c.language) || '—';
  $('pop-queue').textContent = m.queue || '';
  $('pop-ivr').textContent = ivrText(sp.ivr_trace);
  // The chatbot's hand-over: reason, intent, articles, transcript (text
  // only: textContent never interprets markup).
  const bot = sp.bot || null;
  $('pop-bot').hidden = !bot;
  $('pop-bot-reason').textContent = bot ? bot.reason : '';
  $('pop-bot-intent').textContent = bot ? bot.intent : '';
  $('pop-bot-articles').textContent = bot ? (bot.articles_tried.join(', ') || '—') : '';
  const tr = $('pop-bot-transcript');
  tr.replaceChildren();
  for (const l of (bot ? bot.transcript : [])) tr.append(el('li', `${l.from}: ${l.text}`));
  const camp = sp.campaign || null;
  $('pop-campaign').hidden = !camp;
  $('pop-campaign-name').textContent = camp ? camp.name : '';
  $('pop-campaign-attempt').textContent = camp ? String(camp.attempt) : '';
  $('pop-script').textContent = (camp && camp.script) || '';
  $('btn-pop-visit').hidden = !c;
  const h = $('pop-history');
  h.replaceChildren();
  for (const i of (sp.history || []).slice(0, 5)) h.append(el('li', interactionLine(i)));
  if (!h.children.length) h.append(el('li', t("none"), 'muted'));
  $('wrap').hidden = true;
  $('call').hidden = true;
  $('thread').hidden = true;
  $('pop').hidden = false;
  if (isDigital(m.channel)) $('btn-accept').focus();
}

// Preview dialling: the campaign contact to call next, until the agent
// calls or skips it, or the auto-dial time comes (`preview_ended`).
let preview = null; // { contact_id, auto_dial_at }

async function onPreview(m) {
  preview = { contact_id: m.contact_id, auto_dial_at: m.auto_dial_at ? Date.parse(m.auto_dial_at) : 0 };
  $('preview-campaign').textContent = m.campaign;
  $('preview-number').textContent = m.number;
  $('preview-name').textContent = t("unknown_customer");
  $('preview-auto').hidden = !preview.auto_dial_at;
  $('preview').hidden = false;
  $('btn-preview-call').focus();
  if (m.customer_id) {
    try {
      const c = await api('GET', `/customers/${m.customer_id}`);
      if (preview && preview.contact_id === m.contact_id) $('preview-name').textContent = c.name;
    } catch (e) {
      say(e.message, true);
    }
  }
}

function onPreviewEnded(m) {
  if (preview && preview.contact_id !== m.contact_id) return;
  preview = null;
  $('preview').hidden = true;
}

function previewTick() {
  if (!preview || !preview.auto_dial_at) return;
  $('preview-countdown').textContent = fmtDuration(Math.max(0, preview.auto_dial_at - Date.now()));
}

$('btn-preview-call').addEventListener('click', () => act(() => api('POST', '/agent/preview/call')));
$('btn-preview-skip').addEventListener('click', () => act(() => api('POST', '/agent/preview/skip')));

function onAnswered(m) {
  if (!current || current.id !== m.interaction_id) current = { id: m.interaction_id, customer: null };
  showActive(m.callStart || Date.now());
}

/** The active interaction pane (and the thread for digital conversations). */
function showActive(since) {
  const digital = isDigital(current.channel);
  current.callStart = since;
  current.held = false;
  $('pop').classList.remove('ringing');
  $('offer-actions').hidden = true;
  $('pop-title').textContent = digital ? t("in_conversation") : t("in_call");
  $('call-title').textContent = digital ? t("in_conversation") : t("in_call");
  $('hold-state').hidden = true;
  $('btn-hold').hidden = digital;
  $('btn-hold').textContent = t("hold");
  $('btn-hold').setAttribute('aria-pressed', 'false');
  // A conversation has no hang-up: it is closed with its disposition.
  $('btn-hangup').textContent = digital ? t("close_conversation") : t("hang_up");
  $('call').hidden = false;
  $('thread').hidden = !digital;
  if (digital) {
    loadThread(current.id).catch((e) => say(e.message, true));
    // A reply typed before a reload or a network drop comes back.
    $('reply-text').value = draftOf(current.id);
    $('reply-text').focus();
  } else {
    $('btn-hangup').focus();
  }
}

/** One message of the thread: who said it (as a word, not only a colour) and the text. */
function addMessage(direction, text, at) {
  const li = el('li', null, direction === 'out' ? 'msg-out' : 'msg-in');
  li.dataset.direction = direction === 'out' ? 'out' : 'in';
  li.append(el('span', direction === 'out' ? t("you_say") : t("customer_says"), 'who'));
  li.append(el('span', text, 'text'));
  if (at) li.append(el('time', fmtDate(at), 'muted'));
  $('thread-items').append(li);
  li.scrollIntoView({ block: 'nearest' });
  return li;
}

/** The thread so far, from the interaction's events (message_in / message_out). */
async function loadThread(id) {
  const events = await api('GET', `/interactions/${encodeURIComponent(id)}/events`);
  if (!current || current.id !== id) return;
  $('thread-items').replaceChildren();
  for (const ev of events || []) {
    const k = ev.kind || {};
    if (k.type === 'message_in') addMessage('in', k.text, ev.at);
    else if (k.type === 'message_out') addMessage('out', k.text, ev.at);
  }
}

function onMessage(m) {
  if (!current || current.id !== m.interaction_id) return;
  if (m.direction === 'out') {
    // Our own reply, already shown when it was queued: mark it sent.
    const pending = [...$('thread-items').querySelectorAll('li.pending')].find(
      (li) => li.querySelector('.text').textContent === m.text,
    );
    if (pending) {
      pending.classList.remove('pending');
      return;
    }
  }
  if (m.direction === 'in') $('customer-typing').hidden = true;
  addMessage(m.direction, m.text, m.at);
}

function onTransferred(m) {
  if (!current || current.id !== m.interaction_id) return;
  current = null;
  $('call').hidden = true;
  $('thread').hidden = true;
  $('pop').hidden = true;
  say(`${t("transferred")} ${m.to}`);
}

let typingTimer = null;
/** The customer is typing: a note under the thread for 4 s. */
function onTyping(m) {
  if (!current || current.id !== m.interaction_id) return;
  $('customer-typing').hidden = false;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { $('customer-typing').hidden = true; }, 4000);
}

let lastTyping = 0;
/** Tell the customer the agent is typing, at most every 3 s. */
$('reply-text').addEventListener('input', () => {
  if (current) keepDraft(current.id, $('reply-text').value);
  const now = Date.now();
  if (!current || !isDigital(current.channel) || now - lastTyping < 3000) return;
  lastTyping = now;
  api('POST', `/interactions/${current.id}/typing`).catch(() => {});
});

function onEnded(m) {
  if (!current || current.id !== m.interaction_id) current = { id: m.interaction_id, customer: null };
  current.callStart = 0;
  $('call').hidden = true;
  $('thread').hidden = true;
  $('offer-actions').hidden = true;
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
    $('thread').hidden = true;
  }
}

async function loadTimeline(customerId) {
  const page = await api('GET', `/customers/${encodeURIComponent(customerId)}/timeline?limit=20`);
  shown = page.customer;
  $('tl-name').textContent = page.customer.name;
  const note = $('tl-merged');
  note.replaceChildren();
  note.hidden = !page.customer.merged_into;
  if (page.customer.merged_into) {
    const into = page.customer.merged_into;
    note.append(el('span', `${fill(t("merged_into_note"), { id: into })} `));
    const b = el('button', t("open"), 'link');
    b.type = 'button';
    b.addEventListener('click', () => act(() => loadTimeline(into)));
    note.append(b);
  }
  $('btn-merge-open').hidden = !!page.customer.merged_into;
  const list = $('tl-items');
  const items = []; // { at, node }, sorted newest first below
  for (const entry of page.items) {
    const i = entry.interaction;
    const li = el('li');
    li.dataset.interactionId = i.id;
    li.append(el('span', interactionLine(i), 'tl-head'));
    if (i.end_reason) li.append(el('span', i.end_reason, 'muted'));
    if (i.notes) li.append(el('span', `${t("notes")}: ${i.notes}`, 'tl-notes'));
    if (i.recording && canPlay) {
      const a = el('audio');
      a.controls = true;
      a.preload = 'none';
      a.src = `/api/v1/interactions/${encodeURIComponent(i.id)}/recording`;
      a.setAttribute('aria-label', `${t("recording")} ${fmtDate(i.started_at)}`);
      li.append(a);
    }
    for (const ev of entry.events || []) {
      if (ev.kind && ev.kind.type === 'survey_answered') {
        li.append(el('span', `${t("survey")}: ${ev.kind.score}/5`, 'tl-survey'));
      }
    }
    items.push({ at: Date.parse(i.started_at), node: li });
  }
  items.push(...(await mergeItems(page.customer.id, act, reloadTimeline)));
  items.push(...visitItems(page.field_visits));
  items.sort((a, b) => b.at - a.at);
  list.replaceChildren(...items.map((x) => x.node));
  if (!list.children.length) list.append(el('li', t("none"), 'muted'));
  $('timeline').hidden = false;
}

/** Redraw the timeline of `customerId`, then show `message`. */
async function reloadTimeline(customerId, message) {
  await loadTimeline(customerId);
  say(message);
}

mountMerge(() => shown, act, reloadTimeline);
mountVisit(() => shown, act, reloadTimeline, () => current && current.customer);
mountGeo(root);
mountShell($('live'));

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
    if (!current) return;
    if (isDigital(current.channel)) {
      $('wrap').hidden = false;
      $('disp-code').focus();
      return;
    }
    await api('POST', `/interactions/${current.id}/hangup`);
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
$('btn-accept').addEventListener('click', () =>
  act(async () => {
    if (current) await api('POST', `/interactions/${current.id}/accept`);
  }),
);
$('btn-reject').addEventListener('click', () =>
  act(async () => {
    if (!current) return;
    await api('POST', `/interactions/${current.id}/reject`);
    current = null;
    $('pop').hidden = true;
  }),
);
$('transfer-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  act(async () => {
    if (!current) return;
    const [kind, id] = $('transfer-target').value.split(':');
    const body = kind === 'agent' ? { agent: Number(id) } : { queue: Number(id) };
    await api('POST', `/interactions/${current.id}/transfer`, body);
  });
});
$('reply-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  act(async () => {
    const text = $('reply-text').value;
    if (!current || !text.trim()) return;
    const r = await api('POST', `/interactions/${current.id}/messages`, { text });
    const li = addMessage('out', text);
    li.classList.add('pending');
    if (r && r.outbox_id) li.dataset.outboxId = r.outbox_id;
    $('reply-text').value = '';
    keepDraft(current.id, '');
  });
});
$('wrap-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  act(async () => {
    if (!current) return;
    const notes = $('disp-notes').value.trim();
    await api('POST', `/interactions/${current.id}/disposition`, {
      code: $('disp-code').value,
      notes: notes || null,
    });
    keepDraft(current.id, ''); // closed: an unsent reply has no use any more
    const customer = current.customer;
    current = null;
    $('wrap').hidden = true;
    $('pop').hidden = true;
    $('call').hidden = true;
    $('thread').hidden = true;
    $('disp-notes').value = '';
    say(t("saved"));
    if (customer) await loadTimeline(customer.id);
  });
});
$('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  act(() => search($('search-q').value.trim()));
});

/**
 * After a reload: ask the ACD what the agent holds (`current_interaction`)
 * or still has to dispose of (`wrap_up_interaction`) and show that pane.
 */
async function resume() {
  let st;
  try {
    st = await api('GET', '/agent/state');
  } catch {
    return; // not logged in to the ACD, or no engine
  }
  const id = st.current_interaction ?? st.wrap_up_interaction;
  if (!id || current) return;
  const i = await api('GET', `/interactions/${encodeURIComponent(id)}`);
  const customer = i.customer_id
    ? await api('GET', `/customers/${encodeURIComponent(i.customer_id)}`).catch(() => null)
    : null;
  if (current) return; // a push got there first
  current = { id: i.id, channel: i.channel, customer, callStart: 0, held: false };
  if (st.current_interaction) showActive(Date.parse(i.answered_at) || Date.now());
  else onEnded({ interaction_id: i.id });
}

setState(root.dataset.state, root.dataset.reason);
stateSince = Date.now() - Number(root.dataset.inStateMs || 0);
setInterval(tick, 1000);
setInterval(previewTick, 1000);
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
      case 'message':
        onMessage(m);
        break;
      case 'transferred':
        onTransferred(m);
        break;
      case 'typing':
        onTyping(m);
        break;
      case 'agent_state':
        setState(m.state, m.reason);
        break;
      case 'preview':
        onPreview(m);
        break;
      case 'preview_ended':
        onPreviewEnded(m);
        break;
      default:
    }
  },
  (up) => {
    $('live').textContent = up ? t("live_online") : t("live_offline");
    document.body.dataset.live = up ? 'on' : 'off';
  },
);
resume().catch((e) => say(e.message, true));
