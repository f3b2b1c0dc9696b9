// Internal chat card: rooms from /api/v1/chat/rooms, history from
// /api/v1/chat/{room}/messages, new messages live from /api/v1/chat/ws.
// Message text goes in through textContent only.
import { t, el, api, fmtDate, connectPush } from '/assets/common.js';

const $ = (id) => document.getElementById(id);
const card = $('chat');
const isSupervisor = card.dataset.supervisor === 'true';
let room = null;
const shown = new Set(); // message ids in the list
const unread = new Map(); // room -> count

function roomLabel(r) {
  if (r.kind === 'team') return t("chat_team");
  return isSupervisor ? `${t("chat_with")} ${r.user}` : t("chat_supervisors");
}

function markUnread(r) {
  const o = [...$('chat-room').options].find((x) => x.value === r);
  if (!o) return;
  const n = unread.get(r) || 0;
  o.textContent = n ? `${o.dataset.label} (${n} ${t("chat_unread")})` : o.dataset.label;
}

function add(m) {
  if (shown.has(m.id)) return;
  shown.add(m.id);
  const li = el('li', null, m.sender_id === Number(card.dataset.me) ? 'msg-out' : 'msg-in');
  li.dataset.id = m.id;
  li.append(el('span', m.sender, 'who'), el('span', m.body, 'text'), el('time', fmtDate(m.at), 'muted'));
  $('chat-items').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

async function open(r) {
  room = r;
  unread.set(r, 0);
  markUnread(r);
  shown.clear();
  $('chat-items').replaceChildren();
  for (const m of await api('GET', `/chat/${encodeURIComponent(r)}/messages?limit=50`)) add(m);
}

async function load() {
  const me = await api('GET', '/auth/me').catch(() => null);
  if (me && me.id !== undefined) card.dataset.me = me.id;
  const rooms = await api('GET', '/chat/rooms');
  const sel = $('chat-room');
  sel.replaceChildren();
  for (const r of rooms) {
    const o = el('option', roomLabel(r));
    o.value = r.room;
    o.dataset.label = roomLabel(r);
    sel.append(o);
  }
  if (rooms.length) await open(rooms[0].room);
}

$('chat-room').addEventListener('change', () => open($('chat-room').value).catch(() => {}));
$('chat-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('chat-text').value;
  if (!room || !text.trim()) return;
  api('POST', `/chat/${encodeURIComponent(room)}/messages`, { text })
    .then((m) => {
      add(m);
      $('chat-text').value = '';
    })
    .catch((e) => {
      $('chat-items').append(el('li', e.message, 'error'));
    });
});

load().catch(() => {});
connectPush(
  (m) => {
    if (m.type !== 'chat') return;
    if (m.room === room) add(m);
    else {
      unread.set(m.room, (unread.get(m.room) || 0) + 1);
      markUnread(m.room);
    }
  },
  (up) => {
    card.dataset.live = up ? 'on' : 'off';
  },
  '/api/v1/chat/ws',
);
