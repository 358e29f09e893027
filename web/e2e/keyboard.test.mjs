// Keyboard only: a service and a relation are created without the mouse,
// every focused control shows its focus, a dialog keeps focus inside while
// open and gives it back to the button that opened it (after saving and
// after Escape); a status change is announced in the polite live region.
import assert from "node:assert/strict";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, startLightbulb, stopAll, until } from "./harness.mjs";

after(stopAll);

/** What the focused element is called (its label, aria-label or text). */
function focusedName(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    if (!a || a === document.body) return "";
    const labelled = a.getAttribute("aria-label") || (a.labels && a.labels[0] ? a.labels[0].textContent : "");
    return (labelled || a.textContent || "").trim();
  });
}

/** The focused element's outline: focus must be visible. */
function focusOutline(page) {
  return page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
  });
}

/** Presses Tab until the focused element's name starts with `name`. */
async function tabTo(page, name, most = 60) {
  for (let i = 0; i < most; i++) {
    await page.keyboard.press("Tab");
    if ((await focusedName(page)).startsWith(name)) {
      const o = await focusOutline(page);
      assert.ok(o.style !== "none" && o.width >= 1, `focus on "${name}" is visible (${o.style} ${o.width}px)`);
      return;
    }
  }
  throw new Error(`Tab never reached "${name}" (at "${await focusedName(page)}")`);
}

const insideDialog = (page) => page.evaluate(() => !!document.activeElement?.closest("dialog[open]"));

test("a service and a relation are created with the keyboard alone", async () => {
  const port = await freePort();
  const lb = await startLightbulb("");
  await fetch(`${lb.url}/api/admin/services`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ service_id: "db", label: "Database", service_type: "api_endpoint", labels: { agent_id: "e2e-agent" }, status_config: { url: `tcp://127.0.0.1:${port}`, interval: "1s" } }),
  });
  const page = await browserPage();
  await page.goto(`${lb.url}/admin/services`);
  await page.getByRole("button", { name: "New service" }).waitFor();

  await tabTo(page, "New service");
  await page.keyboard.press("Enter");
  await page.locator("dialog[open]").waitFor();
  assert.equal(await focusedName(page), "Service id", "focus starts in the dialog's first field");
  // Tab cycles inside the open dialog.
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    assert.ok(await insideDialog(page), `Tab ${i + 1} stays inside the dialog (at "${await focusedName(page)}")`);
  }
  await tabTo(page, "Service id");
  await page.keyboard.type("kb-api");
  await page.keyboard.press("Tab");
  await page.keyboard.type("Keyboard API");
  await tabTo(page, "Agent labels");
  await page.keyboard.type("agent_id=e2e-agent");
  await page.keyboard.press("Enter");
  await tabTo(page, "Check configuration");
  await page.keyboard.press("Control+A");
  await page.keyboard.type(`{"url": "tcp://127.0.0.1:${port}", "interval": "1s"}`);
  await tabTo(page, "Next");
  await page.keyboard.press("Enter");
  await page.getByTestId("preview").waitFor();
  await tabTo(page, "Create");
  await page.keyboard.press("Enter");
  await page.locator("dialog[open]").waitFor({ state: "detached" }).catch(() => {});
  await until("the dialog closed", async () => !(await page.locator("dialog[open]").count()));
  await until("kb-api listed", async () => (await page.getByText("kb-api").count()) > 0);
  assert.equal(await focusedName(page), "New service", "focus is back on the button that opened the dialog");
  const created = await (await fetch(`${lb.url}/api/admin/services/kb-api`)).json();
  assert.equal(created.label, "Keyboard API");
  assert.deepEqual(created.labels, { agent_id: "e2e-agent" });

  await page.goto(`${lb.url}/admin/relations`);
  await page.getByRole("button", { name: "New relation" }).waitFor();
  await tabTo(page, "New relation");
  await page.keyboard.press("Enter");
  await page.locator("dialog[open]").waitFor();
  // Escape closes it and gives focus back.
  await page.keyboard.press("Escape");
  await until("the dialog closed", async () => !(await page.locator("dialog[open]").count()));
  assert.equal(await focusedName(page), "New relation");
  await page.keyboard.press("Enter");
  await page.locator("dialog[open]").waitFor();
  assert.equal(await focusedName(page), "Source service");
  await page.keyboard.type("kb-api");
  await page.keyboard.press("Tab");
  await page.keyboard.type("db");
  await page.getByTestId("relation-check").getByText("Valid").waitFor();
  await tabTo(page, "Add relation");
  await page.keyboard.press("Enter");
  await until("the relation stored", async () => {
    const list = await (await fetch(`${lb.url}/api/admin/relations?service_id=kb-api`)).json();
    return (list.items ?? list).some?.((r) => r.target_service_id === "db");
  });
  await until("focus back on New relation", async () => (await focusedName(page)) === "New relation");

  // Status changes are announced politely: db has no listener, then one.
  await page.goto(`${lb.url}/`);
  await until("db FAILED", async () => (await (await fetch(`${lb.url}/api/status/db`)).json()).status === "FAILED", 30_000);
  const net = await import("node:net");
  const listener = net.createServer().listen(port, "127.0.0.1");
  try {
    const said = await until(
      "the announcement",
      async () => {
        const t = await page.getByTestId("status-announcer").textContent();
        return t.includes("Database is now OK") ? t : null;
      },
      30_000,
    );
    assert.match(said, /Database is now OK \(was FAILED\): TCP connect/);
    assert.equal(await page.getByTestId("status-announcer").getAttribute("aria-live"), "polite");
  } finally {
    listener.close();
  }
  await page.screenshot({ path: path.join(ARTIFACTS, "keyboard-relations.png") });
});
