// Undo and the audit log as a user sees them: the toast after a change
// offers Undo, which takes the change back (the list shows it) and then
// offers Redo; the Audit page lists who did what and undoes from there.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, startLightbulb, stopAll, until } from "./harness.mjs";

after(stopAll);

test("a change is undone and redone from its toast, and the audit log lists it", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const lb = await startLightbulb("");
  const page = await browserPage();
  await page.goto(`${lb.url}/admin/services`);
  await page.getByRole("button", { name: "New service" }).click();
  const dialog = page.getByRole("dialog", { name: "New service" });
  await dialog.getByLabel("Service id").fill("undo-me");
  await dialog.getByLabel("Label", { exact: true }).fill("Undo me");
  await dialog.getByRole("button", { name: "Next" }).click();
  await dialog.getByLabel("Check configuration").fill(JSON.stringify({ url: "tcp://127.0.0.1:1" }));
  await dialog.getByRole("button", { name: "Next" }).click();
  await dialog.getByRole("button", { name: "Create" }).click();
  const row = page.locator('[data-admin-service="undo-me"]');
  await row.waitFor();

  const created = page.locator('[data-toast="success"]', { hasText: "Created undo-me" });
  await created.getByRole("button", { name: "Undo" }).click();
  const undone = page.locator('[data-toast="success"]', { hasText: "Undone" });
  await undone.waitFor();
  await row.waitFor({ state: "detached" });
  const exists = async () => (await fetch(`${lb.url}/api/admin/services/undo-me`)).status;
  assert.equal(await exists(), 404);
  await undone.getByRole("button", { name: "Redo" }).click();
  await page.locator('[data-toast="success"]', { hasText: "Redone" }).waitFor();
  await row.waitFor();
  assert.equal(await exists(), 200);

  await page.getByRole("link", { name: "Audit" }).click();
  const entries = page.locator("[data-audit]");
  await until("three entries", async () => (await entries.count()) === 3);
  const texts = await entries.allInnerTexts();
  assert.match(texts[0], /anonymous[\s\S]*revert \d+[\s\S]*service undo-me/);
  assert.match(texts[2], /create service[\s\S]*service undo-me\s*created/);
  await page.screenshot({ path: path.join(ARTIFACTS, "audit.png") });
  // Undo from the log: the newest entry (the redo) is taken back.
  await entries.first().getByRole("button", { name: "Undo" }).click();
  await until("the service gone again", async () => (await exists()) === 404);
  await until("the revert listed", async () => (await entries.count()) === 4);
  // The content security policy lets the API document's page run its script.
  await page.goto(`${lb.url}/api/docs`);
  await page.getByRole("heading", { name: "schemas" }).waitFor();
  assert.deepEqual(page.errors, []);
});
