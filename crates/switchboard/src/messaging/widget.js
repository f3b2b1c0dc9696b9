// Switchboard web chat widget. Embed with one tag:
//   <script src="https://contact.example.com/widget.js" defer></script>
// Optional attributes: data-title, data-lang ("fr" | "en").
// Protocol: see crates/switchboard/src/messaging/webchat.rs.
(function () {
  'use strict';
  var me = document.currentScript;
  if (!me || window.__switchboardChat) return;
  window.__switchboardChat = true;
  var origin = new URL(me.src, location.href);
  var wsUrl = (origin.protocol === 'https:' ? 'wss://' : 'ws://') + origin.host + '/webchat/ws';
  var fr = (me.getAttribute('data-lang') || navigator.language || 'fr').slice(0, 2) !== 'en';
  var T = fr
    ? { title: 'Discutons', send: 'Envoyer', ph: 'Votre message…', email: 'E-mail (facultatif)', phone: 'Téléphone (facultatif)', offline: 'Hors ligne, reconnexion…', you: 'Vous', agent: 'Conseiller', typing: 'Le conseiller écrit…' }
    : { title: 'Chat with us', send: 'Send', ph: 'Your message…', email: 'E-mail (optional)', phone: 'Phone (optional)', offline: 'Offline, reconnecting…', you: 'You', agent: 'Advisor', typing: 'The advisor is typing…' };
  var title = me.getAttribute('data-title') || T.title;

  // The visitor id survives reloads; unacknowledged messages survive reconnects.
  var store = window.localStorage;
  var visitor = store.getItem('sb_visitor');
  if (!visitor) {
    visitor = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : (Date.now().toString(36) + Math.random().toString(36).slice(2, 12));
    store.setItem('sb_visitor', visitor);
  }
  function pending() { try { return JSON.parse(store.getItem('sb_pending') || '[]'); } catch (e) { return []; } }
  function setPending(p) { store.setItem('sb_pending', JSON.stringify(p)); }

  // UI: built with DOM calls; message text only ever goes through textContent.
  function el(tag, css, text) { var e = document.createElement(tag); if (css) e.style.cssText = css; if (text) e.textContent = text; return e; }
  var button = el('button', 'position:fixed;bottom:20px;right:20px;z-index:2147483000;border:0;border-radius:24px;padding:12px 18px;background:#1d4ed8;color:#fff;font:15px sans-serif;cursor:pointer', title);
  var panel = el('div', 'position:fixed;bottom:72px;right:20px;z-index:2147483000;width:320px;max-width:calc(100vw - 40px);height:440px;display:none;flex-direction:column;background:#fff;border:1px solid #ccc;border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.2);font:14px sans-serif');
  var head = el('div', 'padding:10px;background:#1d4ed8;color:#fff;border-radius:8px 8px 0 0', title);
  var status = el('div', 'padding:4px 10px;font-size:12px;color:#92400e;background:#fef3c7;display:none', T.offline);
  var ident = el('div', 'display:flex;gap:4px;padding:6px');
  var email = el('input', 'flex:1;min-width:0;padding:4px'); email.type = 'email'; email.placeholder = T.email; email.value = store.getItem('sb_email') || '';
  var phone = el('input', 'flex:1;min-width:0;padding:4px'); phone.type = 'tel'; phone.placeholder = T.phone; phone.value = store.getItem('sb_phone') || '';
  ident.appendChild(email); ident.appendChild(phone);
  var log = el('div', 'flex:1;overflow-y:auto;padding:8px');
  log.setAttribute('aria-live', 'polite');
  var typing = el('div', 'padding:2px 10px;font-size:12px;color:#555;font-style:italic;display:none', T.typing);
  typing.setAttribute('aria-live', 'polite');
  var typingTimer = null, lastTyping = 0;
  var form = el('form', 'display:flex;gap:4px;padding:6px;border-top:1px solid #eee');
  var input = el('input', 'flex:1;min-width:0;padding:6px'); input.placeholder = T.ph; input.maxLength = 4096;
  var send = el('button', 'padding:6px 10px', T.send); send.type = 'submit';
  form.appendChild(input); form.appendChild(send);
  [head, status, ident, log, typing, form].forEach(function (c) { panel.appendChild(c); });
  document.body.appendChild(panel); document.body.appendChild(button);
  button.onclick = function () { panel.style.display = panel.style.display === 'none' ? 'flex' : 'none'; if (panel.style.display === 'flex') { input.focus(); connect(); } };

  var last = null;
  function show(from, text, extra) {
    // The server's history and a live copy of the same reply may cross: skip an exact repeat.
    if (last && last.from === from && last.text === text && from === 'agent') return;
    last = { from: from, text: text };
    var who = from === 'visitor' ? T.you : (from === 'notice' ? '' : T.agent);
    var row = el('div', 'margin:4px 0;' + (from === 'visitor' ? 'text-align:right' : ''));
    var bubble = el('span', 'display:inline-block;max-width:85%;padding:6px 8px;border-radius:8px;white-space:pre-wrap;word-wrap:break-word;' + (from === 'visitor' ? 'background:#dbeafe' : from === 'notice' ? 'background:#f3f4f6;font-style:italic' : 'background:#e5e7eb'));
    bubble.textContent = (who ? who + ' : ' : '') + text + (extra || '');
    row.appendChild(bubble); log.appendChild(row); log.scrollTop = log.scrollHeight;
  }

  var ws = null, retry = 0, opened = false;
  function connect() {
    if (ws && ws.readyState <= 1) return;
    opened = true;
    ws = new WebSocket(wsUrl);
    ws.onopen = function () {
      retry = 0; status.style.display = 'none';
      store.setItem('sb_email', email.value.trim()); store.setItem('sb_phone', phone.value.trim());
      ws.send(JSON.stringify({ type: 'hello', visitor: visitor, email: email.value.trim() || null, phone: phone.value.trim() || null }));
    };
    ws.onmessage = function (ev) {
      var m; try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === 'welcome') {
        log.textContent = ''; last = null;
        (m.history || []).forEach(function (h) { show(h.from, h.text); });
        // Re-send what the server never acknowledged (it drops ids it has seen).
        pending().forEach(function (p) { show('visitor', p.text, ' …'); ws.send(JSON.stringify({ type: 'message', text: p.text, cid: p.cid })); });
      } else if (m.type === 'message') {
        typing.style.display = 'none';
        show('agent', m.text);
      } else if (m.type === 'typing') {
        typing.style.display = 'block';
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typing.style.display = 'none'; }, 4000);
      } else if (m.type === 'ack') {
        setPending(pending().filter(function (p) { return p.cid !== m.cid; }));
      } else if (m.type === 'notice' || m.type === 'error') {
        show('notice', m.text);
      }
    };
    ws.onclose = function () {
      status.style.display = 'block';
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry));
    };
  }
  input.oninput = function () {
    var now = Date.now();
    if (now - lastTyping < 2000 || !ws || ws.readyState !== 1) return;
    lastTyping = now;
    ws.send(JSON.stringify({ type: 'typing' }));
  };
  form.onsubmit = function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = '';
    var cid = Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    var p = pending(); p.push({ cid: cid, text: text }); setPending(p);
    show('visitor', text);
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: 'message', text: text, cid: cid }));
    else if (!opened) connect();
  };
  if (pending().length) connect();
})();
