// Installable and offline-tolerant: the page links a web manifest and
// registers a service worker; with the collector stopped, a reload still
// shows the dashboard with the statuses last known, marked stale with
// their age.
import assert from "node:assert/strict";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, startLightbulb, stopAll, until } from "./harness.mjs";

after(stopAll);

test("the dashboard installs, and offline shows the last known statuses as stale", async () => {
  const closed = await freePort();
  const lb = await startLightbulb(
    `[[checks]]\nservice_id = "db"\nservice_type = "api_endpoint"\ninterval = "1s"\n[checks.status_config]\nurl = "tcp://127.0.0.1:${closed}"\n`,
  );
  await until("db FAILED", async () => (await (await fetch(`${lb.url}/api/status/db`)).json()).status === "FAILED", 30_000);

  const manifest = await fetch(`${lb.url}/manifest.webmanifest`);
  assert.equal(manifest.headers.get("content-type"), "application/manifest+json");
  const m = await manifest.json();
  assert.deepEqual([m.name, m.start_url, m.display], ["lightbulb service health", "/", "standalone"]);

  const page = await browserPage();
  await page.goto(`${lb.url}/`);
  assert.equal(await page.locator('link[rel="manifest"]').getAttribute("href"), "/manifest.webmanifest");
  const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
  assert.equal(scope, `${lb.url}/`);
  // Once the worker controls the page, the statuses pass through it and are kept.
  await page.reload();
  await until("the page controlled", async () => page.evaluate(() => !!navigator.serviceWorker.controller));
  await page.getByTestId("service-list").getByText("db").waitFor();
  await until("the statuses kept", async () => page.evaluate(async () => !!(await (await caches.open("lightbulb-data-v1")).match("/api/status"))));

  // The collector goes away: the page still opens, from the cache, and says so.
  lb.collector.kill("SIGKILL");
  await until("the collector gone", async () => fetch(`${lb.url}/healthz`).then(() => false, () => true));
  await page.reload();
  const banner = page.getByTestId("offline-banner");
  await banner.waitFor({ timeout: 15_000 });
  assert.match(await banner.textContent(), /Offline: the collector cannot be reached\. Showing the statuses last known at .+ \(less than a minute ago\); they may be stale\./);
  await page.getByTestId("service-list").getByText("db").waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "offline-stale.png") });
  await page.close();
});
