// The parents' app service worker (scope /p/): network first; what was last fetched of the app's pages and its
// status API is kept, so with no network the parent still sees the last known status (marked as offline).
const CACHE = "edge-parents-v1";
const SHELL = ["/static/parents.css", "/static/parents.js", "/static/parents-icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (!(url.pathname.startsWith("/p/") || SHELL.includes(url.pathname))) return;
  event.respondWith(
    fetch(req)
      .then((resp) => {
        if (resp.ok && !resp.redirected) {
          const copy = resp.clone();
          caches.open(CACHE).then((c) => c.put(req, copy));
        }
        return resp;
      })
      .catch(() => caches.match(req).then((hit) => offline(hit)))
  );
});

// What the cache gives back is marked, so the page can say it shows the last known status.
function offline(hit) {
  if (!hit) return new Response("offline", { status: 503, headers: { "x-edge-offline": "1" } });
  const headers = new Headers(hit.headers);
  headers.set("x-edge-offline", "1");
  return hit.blob().then((body) => new Response(body, { status: hit.status, headers: headers }));
}

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { text: event.data ? event.data.text() : "" }; }
  const title = data.title || data.school || "Điểm danh";
  event.waitUntil(self.registration.showNotification(title, { body: data.text || "", data: { url: "/p/" } }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow((event.notification.data && event.notification.data.url) || "/p/"));
});
