// Sign-in through a second, standard-conformant OpenID provider (npm
// oidc-provider) on its own sign-in and consent pages: the dashboard's
// "Sign in with your organisation", the provider's pages, and back on the
// page asked for with the role of the user's groups.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, signInThrough, startLightbulb, stopAll } from "./harness.mjs";
import { startOidcProvider } from "./oidc-provider.mjs";

let provider = null;
after(async () => {
  await provider?.close();
  await stopAll();
});

test("a user signs in on a standard provider's own pages and lands with their role", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/api/auth/oidc/callback`;
  provider = await startOidcProvider({ dana: ["sre"] }, callback);
  const lb = await startLightbulb("", signInThrough(provider, callback, { sre: "editor" }), port);
  const page = await browserPage();
  await page.goto(`${lb.url}/admin/relations`);
  await page.getByRole("link", { name: "Sign in with your organisation" }).click();
  // The provider's own sign-in page, then its consent page.
  await page.locator('input[name="login"]').fill("dana");
  await page.locator('input[name="password"]').fill("any");
  await page.locator('button[type="submit"]').click();
  await page.locator('input[name="login"]').waitFor({ state: "detached" });
  await page.locator('button[type="submit"]').click();
  await page.getByTestId("signed-in-as").filter({ hasText: "dana (editor)" }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/admin/relations", "back on the page asked for");
  await page.screenshot({ path: path.join(ARTIFACTS, "oidc-standard.png") });
  // An editor's menu: the catalog, not the audit log.
  await page.getByRole("link", { name: "Relations" }).waitFor();
  assert.equal(await page.getByRole("link", { name: "Audit" }).count(), 0);
});
