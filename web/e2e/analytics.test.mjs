// The Analytics page as a user meets it: two services, one up and one
// down; the SLA report lists the down one first as missing its objective,
// states its method, and downloads as CSV and as a PDF that opens
// (poppler's pdftotext reads the report from it; its first page is kept
// as an image in the test results).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, startLightbulb, stopAll, until, violations } from "./harness.mjs";

let listening = null;
after(async () => {
  listening?.close();
  await stopAll();
});

test("the SLA report shows who missed the objective and downloads as CSV and PDF", async () => {
  listening = net.createServer((s) => s.end()).listen(0, "127.0.0.1");
  await new Promise((r) => listening.once("listening", r));
  const open = listening.address().port;
  const closed = await freePort();
  const check = (id, port) =>
    `[[checks]]\nservice_id = "${id}"\nservice_type = "api_endpoint"\ninterval = "1s"\n[checks.status_config]\nurl = "tcp://127.0.0.1:${port}"\n`;
  const lb = await startLightbulb(check("good", open) + check("bad", closed));
  const total = async (id) => (await (await fetch(`${lb.url}/api/services/${id}/history?limit=1`)).json()).total;
  await until("three results of each", async () => (await total("good")) >= 3 && (await total("bad")) >= 3, 30_000);

  const page = await browserPage({ bypassCSP: true });
  await page.goto(`${lb.url}/analytics`);
  const rows = page.getByTestId("sla-row");
  await until("both rows", async () => (await rows.count()) === 2);
  const first = rows.first();
  assert.match(await first.textContent(), /^bad/);
  assert.equal(await first.getAttribute("data-met"), "false");
  assert.match(await first.textContent(), /missed$/);
  assert.equal(await rows.nth(1).getAttribute("data-met"), "true");
  const summary = await page.getByTestId("sla-summary").textContent();
  assert.match(summary, /2 services: 1 met their objective, 1 missed it, 0 without data\./, summary);
  assert.match(summary, /DEGRADED up/, summary);
  assert.match(summary, /Most incidents: bad/, summary);
  // No gauge with a limit here: nothing at risk, and it says so.
  assert.match(await page.getByTestId("at-risk").textContent(), /Nothing is heading for its limit \(0 gauges watched\)/);
  assert.deepEqual(await violations(page), []);

  // Counting DEGRADED as down is stated in the report.
  await page.getByLabel("DEGRADED counts as").selectOption("down");
  await until("the method restated", async () => /DEGRADED down/.test(await page.getByTestId("sla-summary").textContent()));

  const download = async (name) => {
    const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name }).click()]);
    return file;
  };
  const csv = await download("Download CSV");
  assert.match(csv.suggestedFilename(), /^lightbulb-sla-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const lines = readFileSync(await csv.path(), "utf8").trim().split(/\r?\n/);
  assert.match(lines[0], /^service_id,label,service_type,objective_pct,uptime_pct,up,down,/);
  assert.equal(lines.length, 3, lines.join("\n"));
  assert.match(lines[1], /^bad,.*,false,1,\d+,0$/, "one incident, never up");
  assert.match(lines[2], /^good,.*,true,0,,$/, "no incident");

  const pdf = await download("Download PDF");
  assert.match(pdf.suggestedFilename(), /\.pdf$/);
  const file = await pdf.path();
  const text = execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" });
  assert.match(text, /lightbulb SLA report/);
  assert.match(text, /DEGRADED down/);
  assert.match(text, /2 services: 1 met their objective, 1 missed it/);
  assert.match(text, /\n\s*bad\s+0\.000\s.*NO\n/, text);
  execFileSync("pdftoppm", ["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", file, path.join(ARTIFACTS, "sla-report")]);
  await page.screenshot({ path: path.join(ARTIFACTS, "analytics.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
});
