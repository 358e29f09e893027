// Alerts as people meet them: a failing check fires a rule; the webhook
// receiver gets the notification with its one-click link; opened by someone
// not signed in, the link acknowledges the alert, and the Alerts page (signed
// in) shows who acknowledged it; taking it back and resolving it work there;
// marked in maintenance from its page, the service shows so on the dashboard.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, BIN, browserPage, freePort, startLightbulb, startReceiver, stopAll, until } from "./harness.mjs";

let receiver = null;
after(async () => {
  receiver?.close();
  await stopAll();
});

test("an alert is acknowledged by its link without signing in, and handled on the Alerts page", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  receiver = await startReceiver();
  const password = "e2e alerts correct horse";
  const hash = execFileSync(path.join(BIN, "lightbulb-collector"), ["hash-password"], { input: `${password}\n` }).toString().trim();
  const closed = await freePort();
  const lb = await startLightbulb(
    `[[checks]]\nservice_id = "payments"\nservice_type = "api_endpoint"\ninterval = "500ms"\n[checks.status_config]\nurl = "tcp://127.0.0.1:${closed}"\n`,
    `[alerting]\ninterval = "200ms"\n[auth]\nmode = "oidc"\nsecure_cookies = false\n[auth.local_admin]\nusername = "root"\npassword_hash = "${hash}"\n`,
  );
  // The API as the admin, through a session cookie.
  const login = await fetch(`${lb.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "root", password }),
  });
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const call = async (method, p, body) => {
    const r = await fetch(`${lb.url}${p}`, { method, headers: { cookie, "content-type": "application/json" }, body: JSON.stringify(body) });
    assert.ok(r.ok, `${method} ${p}: ${r.status} ${await r.text()}`);
  };
  await call("POST", "/api/alerts/channels", { channel_id: "hook", kind: "webhook", url: receiver.url });
  await call("POST", "/api/alerts/rules", {
    rule_id: "down", severity: "critical", condition: { kind: "status", statuses: ["FAILED"] }, channels: ["hook"],
  });
  const firing = await until("the notification", async () => receiver.got.find((m) => m.event === "firing"), 30_000);
  assert.equal(firing.service_id, "payments");
  const link = new URL(firing.acknowledge_link);

  // Someone not signed in opens the link: it names the alert and acknowledges it.
  const stranger = await browserPage();
  await stranger.goto(`${lb.url}${link.pathname}${link.search}`);
  await stranger.getByText("Rule down on service payments").waitFor();
  await stranger.getByRole("button", { name: "Acknowledge" }).click();
  await stranger.getByRole("status").filter({ hasText: "Acknowledged" }).waitFor();
  await stranger.screenshot({ path: path.join(ARTIFACTS, "alert-acknowledge-link.png") });

  // Signed in: the Alerts page shows it acknowledged; take it back, then resolve it.
  const page = await browserPage();
  await page.goto(`${lb.url}/alerts`);
  const signIn = page.getByRole("form", { name: "Sign in" });
  await signIn.getByLabel("Username").fill("root");
  await signIn.getByLabel("Password").fill(password);
  await signIn.getByRole("button", { name: "Sign in" }).click();
  const row = page.getByTestId("alert-row").filter({ hasText: "payments" });
  await row.getByTestId("alert-state").filter({ hasText: "acknowledged by link:notification" }).waitFor({ timeout: 15_000 });
  await page.getByText("firing payments → hook: sent").waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "alerts.png") });
  await row.getByRole("button", { name: "Take back" }).click();
  await row.getByRole("button", { name: "Acknowledge" }).waitFor({ timeout: 15_000 });
  await row.getByRole("button", { name: "Resolve" }).click();
  await until("the resolution sent", async () => receiver.got.find((m) => m.event === "resolved"), 15_000);
  await page.getByRole("tab", { name: "Resolved" }).click();
  await row.getByTestId("alert-state").filter({ hasText: "resolved by local:root" }).waitFor({ timeout: 15_000 });

  // Marked in maintenance from its page: the dashboard shows it.
  await page.goto(`${lb.url}/services/payments`);
  await page.getByRole("button", { name: "Silence…" }).click();
  const form = page.getByRole("form", { name: "Silence" });
  await form.getByLabel("Why").fill("payments upgrade");
  await form.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("maintenance").waitFor();
  await page.goto(`${lb.url}/`);
  await page.locator('[data-service="payments"]').getByTestId("maintenance").waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-maintenance.png") });
  assert.deepEqual(stranger.errors.concat(page.errors), []);
});
