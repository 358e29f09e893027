// Alert rules and channels through their dialogs, in a real browser against
// a real collector and agent: a channel refused at the field the API names,
// then created and tested (the receiver gets the test); a metric rule for a
// service starts from that service's own threshold and is edited; a status
// rule fires for a failing check, and the alert shows on the dashboard, the
// map and the service page, and is found by the Alerts page's filters.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, startLightbulb, startReceiver, stopAll, until } from "./harness.mjs";

let receiver = null;
after(async () => {
  receiver?.close();
  await stopAll();
});

test("rules and channels through their dialogs; a firing alert shows on the dashboard, the map and the service page", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  receiver = await startReceiver();
  const closed = await freePort();
  const lb = await startLightbulb(
    `[[checks]]\nservice_id = "checkout"\nservice_type = "api_endpoint"\ninterval = "500ms"\n[checks.status_config]\nurl = "tcp://127.0.0.1:${closed}"\n`,
    `[alerting]\ninterval = "200ms"\n`,
  );
  const created = await fetch(`${lb.url}/api/admin/services`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      service_id: "api",
      label: "API",
      service_type: "api_endpoint",
      status_config: { url: "http://127.0.0.1:1/" },
      metric_config: { response_time_ms: { degraded: 400, failed: 900, aggregate: "p95" } },
    }),
  });
  assert.equal(created.status, 201, await created.text());

  const page = await browserPage();
  await page.goto(`${lb.url}/alerts`);

  // A channel: a bad URL is refused at its field, then fixed, then tested.
  await page.getByRole("button", { name: "New channel" }).click();
  let dialog = page.getByRole("dialog", { name: "New channel" });
  await dialog.getByLabel("Channel id").fill("hook");
  await dialog.getByLabel("URL", { exact: true }).fill("ftp://example.com/hook");
  await dialog.getByRole("button", { name: "Create channel" }).click();
  await dialog.getByRole("alert").filter({ hasText: /^url: / }).waitFor();
  await dialog.getByLabel("URL", { exact: true }).fill(receiver.url);
  await dialog.getByRole("button", { name: "Create channel" }).click();
  await page.getByTestId("channel").filter({ hasText: "hook" }).waitFor();
  await page.getByRole("button", { name: "Test channel hook" }).click();
  await page.locator('[data-toast="success"]', { hasText: "hook: test delivered (200)" }).waitFor();
  assert.ok(receiver.got.some((m) => m.event === "test"), JSON.stringify(receiver.got));

  // A metric rule for `api` starts from api's own degraded level.
  await page.getByRole("button", { name: "New rule" }).click();
  dialog = page.getByRole("dialog", { name: "New rule" });
  await dialog.getByLabel("Rule id").fill("slow");
  await dialog.getByLabel("Condition").selectOption("metric");
  await dialog.getByLabel(/^Services/).fill("api");
  await dialog.getByTestId("offered-threshold").filter({ hasText: "api's own threshold for response_time_ms is 400." }).waitFor();
  assert.equal(await dialog.getByLabel("Threshold").inputValue(), "400");
  await dialog.getByRole("button", { name: "Create rule" }).click();
  await page.getByTestId("rule").filter({ hasText: "p95 response_time_ms above 400 over 5m" }).waitFor();
  // Edited: the dialog opens with the stored rule, and saves the change.
  await page.getByRole("button", { name: "Edit rule slow" }).click();
  dialog = page.getByRole("dialog", { name: "Rule slow" });
  assert.equal(await dialog.getByLabel("Over the last").inputValue(), "5m");
  await dialog.getByLabel("Threshold").fill("650");
  await dialog.getByRole("button", { name: "Save rule" }).click();
  await page.getByTestId("rule").filter({ hasText: "p95 response_time_ms above 650 over 5m" }).waitFor();

  // A status rule: a bad duration is refused at its field, then fixed.
  await page.getByRole("button", { name: "New rule" }).click();
  dialog = page.getByRole("dialog", { name: "New rule" });
  await dialog.getByLabel("Rule id").fill("down");
  await dialog.getByLabel("Severity").selectOption("critical");
  await dialog.getByLabel("Fires after holding for").fill("soon");
  await dialog.getByRole("checkbox", { name: "hook" }).check();
  await dialog.getByRole("button", { name: "Create rule" }).click();
  await dialog.getByRole("alert").filter({ hasText: /^for: / }).waitFor();
  await dialog.getByLabel("Fires after holding for").fill("0s");
  await dialog.getByRole("button", { name: "Create rule" }).click();
  await page.getByTestId("rule").filter({ hasText: "status FAILED → hook" }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "alert-rules.png") });

  // The failing check fires it: the receiver gets it, and every view shows it.
  await until("the firing notification", async () => receiver.got.find((m) => m.event === "firing" && m.service_id === "checkout"), 30_000);
  await page.goto(`${lb.url}/`);
  const badge = page.locator('[data-service="checkout"]').getByTestId("alert-badge");
  await badge.filter({ hasText: "critical alert" }).waitFor({ timeout: 15_000 });
  await page.getByRole("link", { name: "Map" }).click();
  await page.locator('[data-map-node="checkout"]').getByTestId("map-alert").filter({ hasText: "critical alert" }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "map-alert.png") });
  await page.goto(`${lb.url}/services/checkout`);
  await page.getByTestId("alert-badge").filter({ hasText: "critical alert" }).waitFor();
  // The Alerts page filters by text and by what people did with them.
  await page.goto(`${lb.url}/alerts`);
  const filter = page.getByLabel("Filter alerts");
  await filter.fill("checkout");
  await page.getByTestId("alert-row").filter({ hasText: "checkout" }).waitFor();
  await filter.fill("no such service");
  await page.getByText("No firing alerts match.").waitFor();
  await filter.fill("");
  await page.getByRole("tab", { name: "Acknowledged" }).click();
  await page.getByText("No acknowledged alerts.").waitFor();
  // The two refusals above are the only errors the browser saw.
  const refused = page.errors.filter((e) => e.includes("status of 422"));
  assert.equal(refused.length, 2, page.errors.join("\n"));
  assert.deepEqual(page.errors.filter((e) => !refused.includes(e)), []);
});
