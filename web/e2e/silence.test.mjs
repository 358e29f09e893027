// Silence and deletion as a dashboard user sees them: a deleted service's
// row disappears live, a killed agent's service turns UNKNOWN with a
// warning, and every row says how long ago it was checked.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, startLightbulb, stopAll, until } from "./harness.mjs";

after(stopAll);

test("a deleted service's row goes live, and a dead agent's service turns UNKNOWN", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  // Heartbeats and checks every 500 ms: the grace is 1.5 s.
  const lb = await startLightbulb("", '[agents]\nheartbeat = "500ms"\n');
  const port = new URL(lb.url).port;
  for (const id of ["e2e-keep", "e2e-gone"]) {
    const r = await fetch(`${lb.url}/api/admin/services`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        service_id: id,
        label: id,
        service_type: "api_endpoint",
        labels: { agent_id: "e2e-agent" },
        status_config: { url: `http://127.0.0.1:${port}/healthz`, interval: "500ms" },
      }),
    });
    assert.equal(r.status, 201, await r.text());
  }
  const page = await browserPage();
  await page.goto(lb.url);
  const row = (id) => page.locator(`[data-service="${id}"]`);
  const status = (id) => row(id).locator("[data-status]").getAttribute("data-status");
  await until("both OK", async () => (await status("e2e-keep")) === "OK" && (await status("e2e-gone")) === "OK");
  await until("the live stream", async () => (await page.locator("[data-connection]").getAttribute("data-connection")) === "connected");
  assert.match(await row("e2e-keep").innerText(), /checked \d+ s ago/);

  const r = await fetch(`${lb.url}/api/admin/services/e2e-gone`, { method: "DELETE" });
  assert.ok(r.ok, await r.text());
  const deleted = Date.now();
  await until("the deleted row gone without a reload", async () => (await row("e2e-gone").count()) === 0, 5_000);
  console.log(`deleted row gone ${Date.now() - deleted} ms after the DELETE`);
  assert.equal(await row("e2e-keep").count(), 1);

  lb.agent.kill("SIGKILL");
  const killed = Date.now();
  await until("UNKNOWN without a reload", async () => (await status("e2e-keep")) === "UNKNOWN", 15_000);
  console.log(`row UNKNOWN ${Date.now() - killed} ms after SIGKILL of the agent (grace 1.5 s)`);
  const text = await row("e2e-keep").innerText();
  assert.match(text, /agent e2e-agent disconnected at/);
  assert.match(text, /silent for/);
  assert.equal(await row("e2e-keep").locator("[data-stale]").count(), 1);
  await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-silent.png") });

  await page.goto(`${lb.url}/agents`);
  await until("the agent shown disconnected", async () => /disconnected/.test(await page.locator('[data-agent="e2e-agent"]').innerText()));
  assert.deepEqual(page.errors, []);
});
