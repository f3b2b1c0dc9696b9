// Switchboard's service worker (issue 22): the agent desktop as an
// installable web app. It keeps the shell (styles, scripts, icon, manifest)
// so a reload during a network drop still draws the desktop's frame, and
// answers a page load that fails with a short offline page. Pages and API
// answers are never stored: they hold customers' data and need the session.
// Assets are fetched network-first (they are served `no-cache`, so a new
// build is picked up at once) and taken from the cache only when offline.
const CACHE = 'switchboard-shell-v1';
const SHELL = [
  '/assets/app.css',
  '/assets/common.js',
  '/assets/agent.js',
  '/assets/field.js',
  '/assets/chat.js',
  '/assets/merge.js',
  '/assets/icon.svg',
  '/manifest.webmanifest',
];
const OFFLINE = `<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard</title><link rel="stylesheet" href="/assets/app.css"></head>
<body><main class="card"><h1>Switchboard</h1>
<p>Hors ligne : la page se rechargera au retour du réseau. / Offline: reload when the network is back.</p>
<p><a href="">Recharger / Reload</a></p></main></body></html>`;

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/assets/') || url.pathname === '/manifest.webmanifest') {
    e.respondWith(
      fetch(req)
        .then((r) => {
          if (r.ok) {
            const copy = r.clone();
            caches.open(CACHE).then((c) => c.put(req, copy));
          }
          return r;
        })
        .catch(() => caches.match(req).then((hit) => hit || Response.error())),
    );
  } else if (req.mode === 'navigate') {
    e.respondWith(
      fetch(req).catch(() => new Response(OFFLINE, {
        status: 503,
        headers: { 'content-type': 'text/html; charset=utf-8' },
      })),
    );
  }
});
