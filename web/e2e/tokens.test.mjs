// API tokens as an admin makes them: the Tokens page makes one (shown once),
// the token works for the API with its scope, its last use shows, and once
// revoked on the page it is refused.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, BIN, browserPage, startLightbulb, stopAll, until } from "./harness.mjs";

after(stopAll);

test("a token is made, used and revoked from the Tokens page", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const password = "e2e tokens correct horse";
  const hash = execFileSync(path.join(BIN, "lightbulb-collector"), ["hash-password"], { input: `${password}\n` }).toString().trim();
  // Sign-in on: with it off everyone is the admin and a token changes nothing.
  const lb = await startLightbulb(
    "",
    `[auth]\nmode = "oidc"\nsecure_cookies = false\n[auth.local_admin]\nusername = "root"\npassword_hash = "${hash}"\n`,
  );
  const page = await browserPage();
  await page.goto(`${lb.url}/admin/tokens`);
  const signIn = page.getByRole("form", { name: "Sign in" });
  await signIn.getByLabel("Username").fill("root");
  await signIn.getByLabel("Password").fill(password);
  await signIn.getByRole("button", { name: "Sign in" }).click();
  const form = page.getByRole("form", { name: "New token" });
  await form.getByLabel("Name").fill("ci-reader");
  await form.getByLabel("Scope").selectOption("read");
  await form.getByRole("button", { name: "Make token" }).click();
  const token = (await page.getByTestId("new-token").innerText()).trim();
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, "a JWT");
  const use = (p) => fetch(`${lb.url}${p}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await use("/api/status")).status, 200);
  assert.equal((await use("/api/admin/services")).status, 403, "read scope: no catalog");
  const row = page.locator('[data-token="ci-reader"]');
  await page.reload();
  await until("its last use shown", async () => !/never/.test(await row.innerText()));
  await page.screenshot({ path: path.join(ARTIFACTS, "tokens.png") });
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.locator('[data-toast="success"]', { hasText: "Revoked ci-reader" }).waitFor();
  await until("refused once revoked", async () => (await use("/api/status")).status === 401);
  assert.match(await row.innerText(), /revoked/);
  assert.deepEqual(page.errors.filter((e) => !/401/.test(e)), []);
});
