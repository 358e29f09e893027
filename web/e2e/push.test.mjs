// Web Push as a user meets it: they turn on notifications for one service
// in the dashboard; when it fails, the collector pushes to the browser's
// push service, and the service worker shows the notification.
//
// Chromium cannot subscribe here (its push service, FCM, is out of reach),
// so `PushManager.subscribe` is replaced in the page by a stand-in that
// returns a subscription of the push service stand-in
// (testkit/src/push_service.py). That stand-in decrypts every push with
// Mozilla's http_ece and verifies its VAPID token; the decrypted message
// is then handed to the page's real service worker through the DevTools
// protocol, as a push service would.
import assert from "node:assert/strict";
import net from "node:net";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, start, startLightbulb, stopAll, until, violations } from "./harness.mjs";

after(stopAll);

const VENV = process.env.LIGHTBULB_TEST_VENV ?? "/var/cache/lightbulb-test/venv";
const ROOT = path.resolve(import.meta.dirname, "../..");

async function pushService() {
  const p = start(path.join(VENV, "bin/python"), ["-u", path.join(ROOT, "testkit/src/push_service.py")]);
  const port = await until("the push service", async () => p.output.match(/push service ready (\d+)/)?.[1]);
  const pushes = () =>
    p.output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
  return { url: `http://127.0.0.1:${port}`, pushes };
}

/** A TCP port that accepts while open: the "database" the check watches. */
async function database(port) {
  const server = net.createServer((c) => c.end());
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return server;
}

/** Replaces PushManager.subscribe/getSubscription with `sub` (JSON). */
function stubPushManager(sub) {
  const key = "lightbulb-e2e-push";
  const make = (json) => ({
    endpoint: json.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true },
    toJSON: () => json,
    unsubscribe: async () => (localStorage.removeItem(key), true),
  });
  PushManager.prototype.subscribe = async function (options) {
    const bytes = new Uint8Array(options.applicationServerKey);
    localStorage.setItem(key, JSON.stringify(sub));
    localStorage.setItem(`${key}-server-key`, btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
    return make(sub);
  };
  PushManager.prototype.getSubscription = async function () {
    const kept = localStorage.getItem(key);
    return kept ? make(JSON.parse(kept)) : null;
  };
}

test("a user turns on notifications for a service, and its failure is pushed and shown", async () => {
  const ps = await pushService();
  const dbPort = await freePort();
  const db = await database(dbPort);
  const lb = await startLightbulb(
    `[[checks]]\nservice_id = "db"\nservice_type = "api_endpoint"\ninterval = "1s"\n[checks.status_config]\nurl = "tcp://127.0.0.1:${dbPort}"\n` +
      `[[checks]]\nservice_id = "cache"\nservice_type = "api_endpoint"\ninterval = "1s"\n[checks.status_config]\nurl = "tcp://127.0.0.1:${dbPort}"\n`,
  );
  await until("db OK", async () => (await (await fetch(`${lb.url}/api/status/db`)).json()).status === "OK", 30_000);
  const sub = await (await fetch(`${ps.url}/subscribe/phone`)).json();

  const page = await browserPage({ bypassCSP: true });
  await page.context().grantPermissions(["notifications"], { origin: lb.url });
  await page.addInitScript(stubPushManager, sub);
  await page.goto(`${lb.url}/`);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.getByRole("button", { name: "Notifications" }).click();
  const dialog = page.getByRole("dialog", { name: "Notifications" });
  await dialog.getByText("This browser gets no notifications yet.").waitFor();
  await dialog.getByLabel("Name of this browser (optional)").fill("e2e phone");
  await dialog.getByLabel(/only these/).check();
  await dialog.getByLabel("Filter services").fill("db");
  await dialog.getByRole("checkbox", { name: "db" }).check();
  await dialog.getByRole("button", { name: "Turn on notifications" }).click();
  await dialog.getByText(/This browser gets notifications \(no push yet\)\./).waitFor();
  const key = (await (await fetch(`${lb.url}/api/push/key`)).json()).public_key;
  assert.equal(await page.evaluate(() => localStorage.getItem("lightbulb-e2e-push-server-key")), key, "subscribed with the collector's key");
  const [mine] = await (await fetch(`${lb.url}/api/push/subscriptions`)).json();
  assert.deepEqual([mine.endpoint, mine.services, mine.label], [sub.endpoint, ["db"], "e2e phone"]);

  // The database goes away: db and cache fail, but only db is pushed.
  await new Promise((r) => db.close(r));
  const pushed = await until(
    "db's failure pushed",
    async () => ps.pushes().find((p) => p.browser === "phone" && p.message?.title === "db is FAILED"),
    30_000,
  );
  assert.equal(pushed.vapid_valid, true);
  assert.equal(pushed.vapid_key, key);
  assert.match(pushed.message.body, /^was OK: /);
  await until("cache FAILED", async () => (await (await fetch(`${lb.url}/api/status/cache`)).json()).status === "FAILED", 30_000);
  assert.ok(!ps.pushes().some((p) => p.message?.title?.startsWith("cache")), "cache is not followed");

  // The push service delivers the message to the page's service worker.
  const cdp = await page.context().newCDPSession(page);
  const registered = new Promise((resolve) =>
    cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
      const r = registrations.find((x) => x.scopeURL === `${lb.url}/` && !x.isDeleted);
      if (r) resolve(r.registrationId);
    }),
  );
  await cdp.send("ServiceWorker.enable");
  const registrationId = await registered;
  // Delivered again while it is not shown: the DevTools call does not say
  // whether the worker got it (a push service retries the same way). The
  // tag keeps it one notification.
  let delivered = 0;
  const shown = await until("the notification shown", async () => {
    if (delivered++ % 20 === 0) {
      await cdp.send("ServiceWorker.deliverPushMessage", { origin: `${lb.url}/`, registrationId, data: JSON.stringify(pushed.message) });
    }
    const all = await page.evaluate(async () =>
      (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data?.url })),
    );
    return all.find((n) => n.title === "db is FAILED");
  }, 30_000);
  assert.deepEqual([shown.tag, shown.url], ["status:db", "/services/db"]);
  assert.match(shown.body, /^was OK: /);

  // The test button, and how the last push went.
  await dialog.getByRole("button", { name: "Send a test" }).click();
  await page.getByText("Test notification sent").waitFor();
  assert.ok(ps.pushes().some((p) => p.browser === "phone" && p.message?.title === "lightbulb test notification"));
  await dialog.getByText(/This browser gets notifications \(last push delivered /).waitFor();
  assert.deepEqual(await violations(page), [], "the dialog passes axe");
  await page.screenshot({ path: path.join(ARTIFACTS, "push-notifications.png") });

  // Turned off: the collector forgets the browser.
  await dialog.getByTestId("push-browsers").getByRole("button", { name: "Turn off" }).click();
  await dialog.getByText("This browser gets no notifications yet.").waitFor();
  assert.deepEqual(await (await fetch(`${lb.url}/api/push/subscriptions`)).json(), []);
  assert.deepEqual(page.errors, []);
  await page.close();
});
