// The dashboard in a real browser against a real collector and agent.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, start, startLightbulb, stopAll, until } from "./harness.mjs";

after(stopAll);

test("a real check's status shows, and turns FAILED live when its process dies", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const worker = start("python3", ["-c", "import time; time.sleep(600)"]);
  const pidfile = path.join(ARTIFACTS, "worker.pid");
  writeFileSync(pidfile, String(worker.pid));
  const lb = await startLightbulb(
    `[[checks]]\nservice_id = "worker"\nservice_type = "python_process"\ninterval = "500ms"\n[checks.status_config]\npidfile = "${pidfile}"\n`,
  );
  const page = await browserPage();
  // What reaches the page over its WebSocket.
  const frames = [];
  page.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push(String(f.payload))));
  await page.goto(lb.url);
  const badge = page.locator('[data-service="worker"] [data-status]');
  await badge.waitFor();
  await until("worker OK", async () => (await badge.getAttribute("data-status")) === "OK");
  await until("the live stream", async () => (await page.locator("[data-connection]").getAttribute("data-connection")) === "connected");
  assert.equal(await page.locator("[data-connection]").getAttribute("data-transport"), "websocket");
  assert.match(await page.locator("[data-connection]").innerText(), /Live\s*\(WebSocket\)/);
  await page.screenshot({ path: path.join(ARTIFACTS, "dashboard.png") });

  const before = page.url();
  worker.kill("SIGKILL");
  const killed = Date.now();
  await until("worker FAILED without a reload", async () => (await badge.getAttribute("data-status")) === "FAILED", 10_000);
  console.log(`badge FAILED ${Date.now() - killed} ms after the kill (check interval 500 ms)`);
  assert.equal(page.url(), before);
  const update = frames.map((f) => JSON.parse(f)).find((m) => m.type === "status_update" && m.service_id === "worker" && m.status === "FAILED");
  assert.ok(update, `the change came over the WebSocket: ${frames.join(" ")}`);
  assert.match(await page.locator('[data-service="worker"]').innerText(), /not running/);
  assert.equal(await page.locator('[data-summary="FAILED"]').innerText().then((t) => t.includes("1")), true);
  await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-failed.png") });

  // The detail page: live message, uptime over the range, history charts.
  await page.getByRole("link", { name: "worker", exact: true }).click();
  await page.getByTestId("detail-message").filter({ hasText: "not running" }).waitFor();
  await page.getByRole("img", { name: "Status timeline" }).waitFor();
  await until("uptime over 24h", async () => /Uptime 24h: \d+\.\d\d %/.test(await page.getByTestId("uptime").innerText()));
  await page.getByRole("button", { name: "7d" }).click();
  await until("the 7d range", async () => /Uptime 7d/.test(await page.getByTestId("uptime").innerText()));
  await page.getByRole("button", { name: "Refresh" }).click();
  await page.getByRole("button", { name: "Refresh" }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "detail.png"), fullPage: true });
  // Phone width: the same page, laid out in one column.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(lb.url);
  await page.locator('[data-service="worker"]').waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
});

test("where a proxy does not pass WebSockets, the dashboard stays live over SSE", async () => {
  const worker = start("python3", ["-c", "import time; time.sleep(600)"]);
  const pidfile = path.join(ARTIFACTS, "worker-sse.pid");
  writeFileSync(pidfile, String(worker.pid));
  const lb = await startLightbulb(
    `[[checks]]\nservice_id = "worker"\nservice_type = "python_process"\ninterval = "500ms"\n[checks.status_config]\npidfile = "${pidfile}"\n`,
  );
  // A reverse proxy that passes HTTP (streamed) but refuses WebSockets.
  const target = new URL(lb.url);
  const proxy = http.createServer((req, res) => {
    const upstream = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  proxy.on("upgrade", (req, socket) => socket.end("HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\n\r\n"));
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  const page = await browserPage();
  await page.goto(`http://127.0.0.1:${proxy.address().port}/`);
  const indicator = page.locator("[data-connection]");
  await until("live over SSE", async () => (await indicator.getAttribute("data-transport")) === "sse", 20_000);
  assert.match(await indicator.innerText(), /Live\s*\(SSE\)/);
  const badge = page.locator('[data-service="worker"] [data-status]');
  await until("worker OK", async () => (await badge.getAttribute("data-status")) === "OK");
  worker.kill("SIGKILL");
  await until("worker FAILED without a reload", async () => (await badge.getAttribute("data-status")) === "FAILED", 10_000);
  await page.close();
  proxy.closeAllConnections();
  proxy.close();
});
