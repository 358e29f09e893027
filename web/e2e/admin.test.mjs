// Admin through the dialogs, in a real browser against a real collector:
// create services and a relation, a cyclic relation refused with the cycle
// shown, delete with a confirmation that lists the relations.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, startLightbulb, stopAll, until } from "./harness.mjs";

after(stopAll);

async function createService(page, id, port) {
  await page.getByRole("button", { name: "New service" }).click();
  const dialog = page.getByRole("dialog", { name: "New service" });
  await dialog.getByLabel("Service id").fill(id);
  await dialog.getByLabel("Label", { exact: true }).fill(`Service ${id}`);
  await dialog.getByRole("button", { name: "Next" }).click();
  const config = dialog.getByLabel("Check configuration");
  await config.fill("{");
  await dialog.getByText(/^not JSON/).waitFor();
  await config.fill(JSON.stringify({ url: `tcp://127.0.0.1:${port}` }));
  await dialog.getByRole("button", { name: "Next" }).click();
  await dialog.getByTestId("preview").waitFor();
  await dialog.getByRole("button", { name: "Create" }).click();
  await page.locator(`[data-toast="success"]`, { hasText: `Created ${id}` }).waitFor();
  await page.locator(`[data-admin-service="${id}"]`).waitFor();
}

test("services and relations through the dialogs; a cycle is refused and shown", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const lb = await startLightbulb("");
  const port = new URL(lb.url).port;
  const page = await browserPage();
  await page.goto(`${lb.url}/admin/services`);
  await createService(page, "e2e-web", port);
  // Ctrl+N opens the same dialog.
  await page.keyboard.press("Control+n");
  await page.getByRole("dialog", { name: "New service" }).getByRole("button", { name: "Cancel" }).click();
  await createService(page, "e2e-db", port);
  await page.screenshot({ path: path.join(ARTIFACTS, "admin-services.png") });

  await page.getByRole("link", { name: "Relations" }).click();
  const addRelation = async (source, target) => {
    await page.getByRole("button", { name: "New relation" }).click();
    const dialog = page.getByRole("dialog", { name: "New relation" });
    await dialog.getByLabel("Source service").fill(source);
    await dialog.getByLabel("Target service").fill(target);
    return dialog;
  };
  let dialog = await addRelation("e2e-web", "e2e-db");
  await dialog.getByText("Valid: no cycle").waitFor();
  await dialog.getByRole("button", { name: "Add relation" }).click();
  await page.locator('[data-relation="e2e-web>e2e-db"]').waitFor();

  // The map draws both services and the dependency between them.
  await page.getByRole("link", { name: "Map" }).click();
  await page.locator('[data-map-node="e2e-web"]').waitFor();
  await page.locator('[data-map-node="e2e-db"]').waitFor();
  assert.equal(await page.locator(".react-flow__edge").count(), 1);
  await page.screenshot({ path: path.join(ARTIFACTS, "map.png") });
  await page.getByRole("link", { name: "Relations" }).click();

  dialog = await addRelation("e2e-db", "e2e-web");
  const verdict = dialog.getByTestId("relation-check");
  await until("the cycle shown", async () => /cycle/.test(await verdict.innerText()));
  const text = await verdict.innerText();
  assert.match(text, /e2e-db → e2e-web → e2e-db|e2e-web → e2e-db → e2e-web/);
  assert.equal(await dialog.getByRole("button", { name: "Add relation" }).isDisabled(), true);
  await page.screenshot({ path: path.join(ARTIFACTS, "admin-cycle.png") });
  await dialog.getByRole("button", { name: "Cancel" }).click();

  // Edited in place: the relation's type.
  await page.getByLabel("Type of e2e-web → e2e-db").selectOption("data-flow");
  await until("the new type stored", async () => (await (await fetch(`${lb.url}/api/admin/relations`)).json())[0]?.relation_type === "data-flow");

  await page.getByRole("link", { name: "Services" }).click();
  await page.locator('[data-admin-service="e2e-db"]').getByRole("button", { name: "Delete" }).click();
  const confirm = page.getByRole("dialog", { name: "Delete e2e-db?" });
  assert.match(await confirm.getByTestId("dependent-relations").innerText(), /data-flow from e2e-web/);
  await confirm.getByRole("button", { name: "Delete" }).click();
  await until("e2e-db gone", async () => (await page.locator('[data-admin-service="e2e-db"]').count()) === 0);
  const left = await (await fetch(`${lb.url}/api/admin/relations`)).json();
  assert.deepEqual(left, []);

  // Import with a dry run: every problem first, then what would change, and
  // nothing stored until the import itself.
  await page.getByRole("link", { name: "Import/Export" }).click();
  const doc = (id) => JSON.stringify({ services: [{ service_id: id, label: "Imported", service_type: "api_endpoint", status_config: { url: `tcp://127.0.0.1:${port}` } }], relations: [] });
  await page.getByLabel("Import document").fill(doc("Bad_Id"));
  await page.getByRole("button", { name: "Dry run" }).click();
  await until("the problem reported", async () => /service_id/.test(await page.getByTestId("import-report").innerText()));
  await page.getByLabel("Import document").fill(doc("e2e-imported"));
  await page.getByRole("button", { name: "Dry run" }).click();
  await until("the dry-run report", async () => /would create 1/.test(await page.getByTestId("import-report").innerText()));
  assert.equal((await fetch(`${lb.url}/api/admin/services/e2e-imported`)).status, 404);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await until("imported", async () => (await fetch(`${lb.url}/api/admin/services/e2e-imported`)).status === 200);
  await page.screenshot({ path: path.join(ARTIFACTS, "admin-import.png") });
  // The refused relation (409) and import (422) are logged by the browser as failed loads.
  assert.deepEqual(page.errors.filter((e) => !/status of (409|422)/.test(e)), []);
});
