// The map's colours and markings, and the catalog file's standing, as a
// user sees them: a database failing on its own is the root cause (red,
// solid thick border), the web service failing because of it is impacted
// (red, dashed), a healthy API is green; the file's alert rule is listed
// as the file's on the Alerts page; the Services page shows the catalog
// file in sync, then why an edited file is not applied.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, startLightbulb, stopAll } from "./harness.mjs";

after(stopAll);

function catalog(closed, open) {
  const service = (id, port) =>
    `[[services]]\nservice_id = "${id}"\nlabel = "${id}"\nservice_type = "api_endpoint"\nlabels = { agent_id = "e2e-agent" }\nstatus_config = { url = "tcp://127.0.0.1:${port}", interval = "500ms" }\n`;
  return (
    service("db", closed) +
    service("web", closed) +
    service("api", open) +
    `[[relations]]\nsource_service_id = "web"\ntarget_service_id = "db"\nrelation_type = "dependency"\n` +
    `[[alert_rules]]\nrule_id = "db-down"\ncondition = { kind = "status", statuses = ["FAILED"] }\nscope = { services = ["db"] }\n`
  );
}

/** The border a map node is drawn with: [width, style, colour]. */
async function border(page, id) {
  return page.locator(`.react-flow__node:has([data-map-node="${id}"])`).evaluate((el) => {
    const s = getComputedStyle(el);
    return [s.borderTopWidth, s.borderTopStyle, s.borderTopColor];
  });
}

test("the map tells root causes from impacted services by colour and border, and the Services page shows the catalog file", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(path.join(tmpdir(), "lightbulb-e2e-file-"));
  const file = path.join(dir, "services.toml");
  const closed = await freePort();
  const httpPort = await freePort();
  writeFileSync(file, catalog(closed, httpPort));
  const lb = await startLightbulb("", `[catalog]\nfile = "${file}"\n`, httpPort);
  const page = await browserPage();
  await page.goto(`${lb.url}/map`);
  await page.locator('[data-map-node="db"][data-role="root-cause"][data-status="FAILED"]').waitFor({ timeout: 30_000 });
  await page.locator('[data-map-node="web"][data-role="impacted"][data-status="FAILED"]').waitFor({ timeout: 30_000 });
  await page.locator('[data-map-node="api"][data-status="OK"]').waitFor({ timeout: 30_000 });
  assert.deepEqual(await border(page, "db"), ["3px", "solid", "rgb(220, 38, 38)"], "root cause: thick solid red");
  assert.deepEqual(await border(page, "web"), ["2px", "dashed", "rgb(220, 38, 38)"], "impacted: dashed red");
  assert.deepEqual(await border(page, "api"), ["2px", "solid", "rgb(22, 163, 74)"], "OK: green");
  // Not by colour alone: the words say it too.
  await page.locator('[data-map-node="db"]').getByText("root cause").waitFor();
  await page.locator('[data-map-node="web"]').getByText("impacted").waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "map-root-cause.png") });

  // The file's alert rule is listed as the file's, with nothing to edit.
  await page.goto(`${lb.url}/alerts`);
  const rule = page.getByTestId("rule").filter({ hasText: "db-down" });
  await rule.getByText("· from the catalog file").waitFor();
  assert.equal(await page.getByRole("button", { name: "Edit rule db-down" }).count(), 0);

  await page.goto(`${lb.url}/admin/services`);
  const panel = page.getByTestId("catalog-file");
  await panel.getByText(file, { exact: true }).waitFor();
  await panel.getByText("In sync: applying the file now changes nothing.").waitFor();
  // An edited file with a mistake: not applied, and the page says why.
  writeFileSync(file, catalog(closed, httpPort).replace(`tcp://127.0.0.1:${httpPort}`, "nope"));
  await panel.getByTestId("catalog-file-error").filter({ hasText: "key `status_config.url`" }).waitFor({ timeout: 20_000 });
  assert.equal(await panel.getByTestId("catalog-file-drift").count(), 0, "no claim of being in sync while the file is invalid");
  await page.screenshot({ path: path.join(ARTIFACTS, "services-catalog-file.png") });
  assert.deepEqual(page.errors, []);
});
