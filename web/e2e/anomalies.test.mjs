// Unusual hours as a user meets them: five weeks of history with a daily
// shape (shipped through the real spool and shipper by `lightbulb-agent
// bench --history 35d`, as a second agent), then a live check of the same
// service that turns slow. The hour it is in is unusual against the same
// hour of the weeks before: the service page lists it and marks it on the
// response time chart (a purple triangle, drawn); the scanner stores it, the
// Analytics page lists it fleet-wide, and the webhook of an anomaly rule
// made in the rule editor receives it.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, BIN, browserPage, freePort, start, startLightbulb, startReceiver, stopAll, until } from "./harness.mjs";

let slow = null;
let receiver = null;
after(async () => {
  slow?.close();
  receiver?.close();
  await stopAll();
});

function exited(child) {
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}

test("a slow hour is unusual against the weeks before and marked on the chart", async () => {
  // 400 ms answers: far above the 50–150 ms the history has at any hour.
  slow = http.createServer((_, res) => setTimeout(() => res.end("ok"), 400));
  const port = await freePort();
  await new Promise((r) => slow.listen(port, "127.0.0.1", r));
  const check = `[[checks]]\nservice_id = "shop-0"\nservice_type = "api_endpoint"\ninterval = "1s"\n[checks.status_config]\nurl = "http://127.0.0.1:${port}/"\n`;
  const firstHour = Math.floor(Date.now() / 3600e3) * 3600e3;
  const lb = await startLightbulb("", `[alerting]\ninterval = "200ms"\n[insights.anomalies]\ninterval = "1s"\n`);
  receiver = await startReceiver();
  const call = async (p, body) => {
    const r = await fetch(`${lb.url}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    assert.ok(r.ok, `POST ${p}: ${r.status} ${await r.text()}`);
  };
  await call("/api/alerts/channels", { channel_id: "hook", kind: "webhook", url: receiver.url });
  // The anomaly rule, made in the rule editor: response time only.
  const page = await browserPage();
  await page.goto(`${lb.url}/alerts`);
  await page.getByRole("button", { name: "New rule" }).click();
  const dialog = page.getByRole("dialog", { name: "New rule" });
  await dialog.getByLabel("Rule id").fill("unusual");
  await dialog.getByLabel("Condition").selectOption("anomaly");
  await dialog.getByRole("checkbox", { name: "error rate" }).uncheck();
  await dialog.getByLabel("Fires after holding for").fill("0s");
  await dialog.getByRole("checkbox", { name: "hook" }).check();
  await dialog.getByRole("button", { name: "Create rule" }).click();
  await page.getByTestId("rule").filter({ hasText: "unusual response time → hook" }).waitFor();

  // Further agents: one ships the five weeks before now, one checks live.
  const certs = path.join(lb.dir, "certs");
  const grpc = readFileSync(path.join(lb.dir, "collector.toml"), "utf8").match(/\[grpc\]\nlisten = "([^"]+)"/)[1];
  const agent = async (name, extra = "") => {
    assert.equal(await exited(start(path.join(BIN, "lightbulb-collector"), ["certs", "issue", "--ca-dir", certs, "--agent", name, "--out", certs])), 0);
    const config = path.join(lb.dir, `${name}.toml`);
    writeFileSync(
      config,
      `agent_id = "${name}"\ncollector = "https://${grpc}"\nspool_dir = "${lb.dir}/${name}-spool"\n[tls]\nca = "${certs}/ca.crt"\ncert = "${certs}/agent-${name}.crt"\nkey = "${certs}/agent-${name}.key"\n${extra}`,
    );
    return config;
  };
  // One result every five minutes for 35 days.
  const bench = start(path.join(BIN, "lightbulb-agent"), ["--config", await agent("history"), "bench", "--results", "10080", "--services", "1", "--prefix", "shop", "--history", "35d"]);
  assert.equal(await exited(bench), 0, bench.output);
  start(path.join(BIN, "lightbulb-agent"), ["--config", await agent("live", check)]);

  // The current hour also holds a few history results; once the slow ones
  // outnumber them, its p95 is the slow answers'.
  const found = await until(
    "the slow hour found unusual",
    async () => {
      const a = await (await fetch(`${lb.url}/api/services/shop-0/anomalies`)).json();
      return a.anomalies.find((x) => x.metric === "response_time_ms" && Date.now() - Date.parse(x.start) < 3600e3 && x.value >= 300);
    },
    60_000,
  );
  assert.ok(found.expected <= 160, JSON.stringify(found));
  // Only the hours the slow check ran in are unusual (two if it crossed the hour).
  const all = (await (await fetch(`${lb.url}/api/services/shop-0/anomalies`)).json()).anomalies;
  assert.ok(all.length >= 1 && all.every((x) => x.metric === "response_time_ms" && Date.parse(x.start) >= firstHour), `only the slow hours are unusual: ${JSON.stringify(all)}`);
  const marks = all.length === 1 ? "1 unusual hour" : `${all.length} unusual hours`;

  await page.goto(`${lb.url}/services/shop-0`);
  const listed = page.getByTestId("anomaly").first();
  await listed.waitFor();
  assert.match(await listed.textContent(), /response time \(p95\) \d+ ms, usually \d+ ms/);
  const chart = page.getByRole("img", { name: `Response time (p50 / p95 / p99), ▲ ${marks} marked`, exact: true });
  await chart.waitFor();
  // The mark is drawn: the canvas holds the marks' purple (#7e22ce).
  const purple = await until("the mark drawn", async () =>
    chart.evaluate((canvas) => {
      const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - 0x7e) < 8 && Math.abs(data[i + 1] - 0x22) < 8 && Math.abs(data[i + 2] - 0xce) < 8) n++;
      }
      return n || null;
    }),
  );
  assert.ok(purple > 20, `${purple} purple pixels`);
  await page.screenshot({ path: path.join(ARTIFACTS, "anomaly-marks.png"), fullPage: true });

  // The scanner stored it: listed fleet-wide, on the Analytics page, and sent.
  const stored = await until("the slow hour stored", async () => {
    const a = await (await fetch(`${lb.url}/api/anomalies`)).json();
    return a.anomalies.find((x) => x.service_id === "shop-0" && x.metric === "response_time_ms" && Date.parse(x.start) >= firstHour);
  });
  assert.ok(stored.value > stored.expected && stored.score > 4, JSON.stringify(stored));
  await page.goto(`${lb.url}/analytics`);
  const row = page.getByTestId("fleet-anomaly").filter({ hasText: "shop-0" }).first();
  await row.waitFor();
  assert.match(await row.textContent(), /^shop-0: response time \(p95\) \d+ ms, usually \d+ ms, in the hour from .+ \(\d+\.\d deviations\)$/);
  await page.screenshot({ path: path.join(ARTIFACTS, "anomalies-fleet.png"), fullPage: true });
  const sent = await until("the anomaly rule's notification", async () => receiver.got.find((m) => m.event === "firing" && m.rule_id === "unusual"), 30_000);
  assert.equal(sent.service_id, "shop-0");
  assert.match(sent.message, /^response time \(p95\) \d+ ms in the hour from \S+, usually \d+ ms \(\d+\.\d deviations\)$/);
  assert.deepEqual(page.errors, []);
});
