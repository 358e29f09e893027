// A full spool as a dashboard user sees it: the agent's `bench` fills a 1 MiB
// spool while the collector is down; once the collector is back, the Agents
// page shows the agent dropping with the exact total, and an affected
// service's page names the gap in its history.
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, BIN, browserPage, start, startLightbulb, stopAll, until } from "./harness.mjs";

after(stopAll);

test("an agent whose full spool dropped results is flagged, and the history shows the gap", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const lb = await startLightbulb("");
  // The running agent stops; the collector goes down.
  const stopped = (p) => p.exitCode !== null || p.signalCode !== null;
  lb.agent.kill("SIGTERM");
  await until("the agent stopped", async () => stopped(lb.agent));
  lb.collector.kill("SIGKILL");
  await until("the collector stopped", async () => stopped(lb.collector));
  const config = path.join(lb.dir, "agent.toml");
  appendFileSync(config, "[spool]\nmax_bytes = 1048576\n");
  const bench = start(path.join(BIN, "lightbulb-agent"), ["--config", config, "bench", "--results", "40000", "--services", "4", "--prefix", "e2e-drop", "--allow-drops"], {
    env: { ...process.env, RUST_LOG: "info" },
  });
  await until("the bench results spooled", async () => bench.output.includes("bench results spooled"), 60_000);
  const collector = start(path.join(BIN, "lightbulb-collector"), ["--config", path.join(lb.dir, "collector.toml")]);
  await until("the collector back", async () => (await fetch(`${lb.url}/readyz`)).ok);
  await until("the bench done", async () => bench.exitCode !== null, 60_000);
  assert.equal(bench.exitCode, 0, bench.output);
  const dropped = Number(/(\d+) dropped by the spool/.exec(bench.output)?.[1]);
  assert.ok(dropped > 0, bench.output);

  const page = await browserPage();
  await page.goto(`${lb.url}/agents`);
  const row = page.locator('[data-agent="e2e-agent"]');
  await until("the spool column", async () => Number(await row.locator("[data-dropped]").getAttribute("data-dropped")) > 0);
  assert.equal(Number(await row.locator("[data-dropped]").getAttribute("data-dropped")), dropped);
  const badge = row.locator("[data-dropping]");
  assert.equal(await badge.getAttribute("data-dropping"), "true");
  assert.equal(await badge.innerText(), `⚠ dropping: ${dropped.toLocaleString("en")} dropped`);
  // The bench has gone: what the page shows is from its last heartbeat, and says so.
  assert.match(await row.locator("[data-dropped]").innerText(), /^at last contact: [\d,]+ waiting/);
  await page.screenshot({ path: path.join(ARTIFACTS, "agents-dropping.png") });

  await page.goto(`${lb.url}/services/e2e-drop-1`);
  const gap = page.locator("[data-gap]").first();
  await until("the gap in the history", async () => (await gap.count()) === 1);
  assert.match(await gap.innerText(), /no data: [\d,]+ results dropped by agent e2e-agent's full spool between /);
  await page.screenshot({ path: path.join(ARTIFACTS, "history-gap.png") });
  assert.deepEqual(page.errors, []);
  collector.kill("SIGTERM");
});
