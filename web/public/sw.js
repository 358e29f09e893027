// lightbulb's service worker: the dashboard opens without a network. The
// page shell and its assets are cached as they are fetched; the statuses
// are fetched from the network when it answers and kept, and served from
// the cache when it does not, with `x-lightbulb-saved-at` (the page marks
// them stale, with their age). Every other API call goes to the network.
// Web Push messages (status changes, alerts) are shown as notifications;
// a click opens the page they name.
const SHELL = "lightbulb-shell-v1";
const DATA = "lightbulb-data-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((c) => c.addAll(["/", "/manifest.webmanifest", "/icon.svg"]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

/** Kept for offline use: the statuses, and who the user is (the page
 *  needs both to open). */
const KEPT = ["/api/status", "/api/auth/me"];

async function networkFirst(request, path) {
  const cache = await caches.open(DATA);
  try {
    const answer = await fetch(request);
    if (answer.status === 200) {
      const body = await answer.clone().text();
      const headers = { "content-type": "application/json", "x-lightbulb-saved-at": new Date().toISOString() };
      await cache.put(path, new Response(body, { headers }));
    }
    return answer;
  } catch (error) {
    const kept = await cache.match(path);
    if (!kept) throw error;
    return kept;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(SHELL);
  const kept = await cache.match(request);
  if (kept) return kept;
  const answer = await fetch(request);
  if (answer.ok) await cache.put(request, answer.clone());
  return answer;
}

async function page(request) {
  const cache = await caches.open(SHELL);
  try {
    const answer = await fetch(request);
    if (answer.ok) await cache.put("/", answer.clone());
    return answer;
  } catch (error) {
    const kept = await cache.match("/");
    if (!kept) throw error;
    return kept;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (KEPT.includes(url.pathname)) event.respondWith(networkFirst(event.request, url.pathname));
  else if (url.pathname.startsWith("/api/")) return;
  else if (url.pathname.startsWith("/assets/")) event.respondWith(cacheFirst(event.request));
  else if (event.request.mode === "navigate") event.respondWith(page(event.request));
});

self.addEventListener("push", (event) => {
  let m = {};
  try {
    m = event.data ? event.data.json() : {};
  } catch {
    m = { title: "lightbulb", body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(m.title || "lightbulb", {
      body: m.body || "",
      tag: m.tag,
      icon: "/icon.svg",
      data: { url: m.url || "/" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || "/", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((open) => {
      const same = open.find((c) => new URL(c.url).origin === self.location.origin);
      if (same) return same.navigate(url).then((c) => (c || same).focus());
      return self.clients.openWindow(url);
    }),
  );
});
