// Unusual hours on a service's chart as a user meets them: five weeks of
// history with a daily shape (shipped through the real spool and shipper
// by `lightbulb-agent bench --history 35d`, as a second agent), then the
// live check of the same service turns slow. The hour it is in is unusual
// against the same hour of the weeks before: the service page lists it and
// marks it on the response time chart (a purple triangle, drawn).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, BIN, browserPage, freePort, start, startLightbulb, stopAll, until } from "./harness.mjs";

let slow = null;
after(async () => {
  slow?.close();
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
  const lb = await startLightbulb(check);

  // A second agent ships the five weeks before now.
  const certs = path.join(lb.dir, "certs");
  assert.equal(await exited(start(path.join(BIN, "lightbulb-collector"), ["certs", "issue", "--ca-dir", certs, "--agent", "history", "--out", certs])), 0);
  const grpc = readFileSync(path.join(lb.dir, "collector.toml"), "utf8").match(/\[grpc\]\nlisten = "([^"]+)"/)[1];
  const config = path.join(lb.dir, "history.toml");
  writeFileSync(
    config,
    `agent_id = "history"\ncollector = "https://${grpc}"\nspool_dir = "${lb.dir}/history-spool"\n[tls]\nca = "${certs}/ca.crt"\ncert = "${certs}/agent-history.crt"\nkey = "${certs}/agent-history.key"\n`,
  );
  // One result every five minutes for 35 days.
  const bench = start(path.join(BIN, "lightbulb-agent"), ["--config", config, "bench", "--results", "10080", "--services", "1", "--prefix", "shop", "--history", "35d"]);
  assert.equal(await exited(bench), 0, bench.output);

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

  const page = await browserPage();
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
  assert.deepEqual(page.errors, []);
});
