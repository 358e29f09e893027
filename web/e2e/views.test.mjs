// Saved views as a user makes them: filter the dashboard to the failing
// services, save that as a view with a chart and a map focus, make it the
// start page; the view is stored on the collector, opens by its link, opens
// by itself on the next visit, shows only its services and its chart, and
// leads to the map focused on its service.
import assert from "node:assert/strict";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, startLightbulb, stopAll, until } from "./harness.mjs";

after(stopAll);

test("a saved view keeps filters, chart and map focus, and becomes the start page", async () => {
  const closed = await freePort();
  const httpPort = await freePort();
  const check = (id, port) =>
    `[[checks]]\nservice_id = "${id}"\nservice_type = "api_endpoint"\ninterval = "1s"\n[checks.status_config]\nurl = "tcp://127.0.0.1:${port}"\n`;
  const lb = await startLightbulb(check("web", httpPort) + check("db", closed), "", httpPort);
  await until("db FAILED", async () => (await (await fetch(`${lb.url}/api/status/db`)).json()).status === "FAILED", 30_000);
  const page = await browserPage();
  await page.goto(`${lb.url}/`);
  await page.locator('[data-summary="FAILED"]').click();
  await until("only db listed", async () => (await page.getByText("1 of 2 services").count()) === 1);

  await page.getByRole("button", { name: "Save view…" }).click();
  const dialog = page.locator("dialog[open]");
  await dialog.getByLabel("Name").fill("Broken things");
  await dialog.getByLabel(/Only the 1 services shown/).check();
  await dialog.getByLabel(/Chart and focus the map on/).fill("db");
  await dialog.getByLabel("Chart range").selectOption("1h");
  await dialog.getByLabel("Make it my start page").check();
  await dialog.getByRole("button", { name: "Save" }).click();
  await until("the view opened", async () => new URL(page.url()).searchParams.get("view"));
  const id = new URL(page.url()).searchParams.get("view");

  const stored = await (await fetch(`${lb.url}/api/views/${id}`)).json();
  assert.equal(stored.name, "Broken things");
  assert.equal(stored.start, true);
  assert.deepEqual(stored.definition.services, ["db"]);
  assert.equal(stored.definition.status, 2);
  assert.deepEqual([stored.definition.charts, stored.definition.map_focus, stored.definition.range], [["db"], "db", "1h"]);
  await page.locator('[data-testid="view-chart"][data-service="db"] canvas').first().waitFor({ timeout: 15_000 });
  await page.screenshot({ path: path.join(ARTIFACTS, "saved-view.png"), fullPage: true });

  // The next visit opens the start page by itself, showing only its services.
  const again = await browserPage();
  await again.goto(`${lb.url}/`);
  await until("the start page", async () => new URL(again.url()).searchParams.get("view") === id);
  await again.getByText("1 of 2 services").waitFor();
  assert.equal(await again.getByLabel("View").inputValue(), id);
  // Everything is one choice away.
  await again.getByLabel("View").selectOption("");
  await again.getByText("2 of 2 services").waitFor();

  // Its map focus.
  await page.getByRole("link", { name: "Map focused on db" }).click();
  await page.waitForURL(/\/map\?focus=db$/);
  assert.equal(await page.getByPlaceholder("Focus on a service").inputValue(), "db");
  await page.close();
  await again.close();
});
