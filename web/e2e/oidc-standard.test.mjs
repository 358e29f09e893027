// Sign-in through a second, standard-conformant OpenID provider (npm
// oidc-provider) on its own sign-in and consent pages: the dashboard's
// "Sign in with your organisation", the provider's pages, and back on the
// page asked for with the role of the user's groups. With refresh tokens, a
// change of groups at the provider reaches the dashboard when the grant runs
// out, and a user removed there is signed out; "Sign out" signs out at the
// provider too, on its own page.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, signInThrough, startLightbulb, stopAll, until } from "./harness.mjs";
import { startOidcProvider } from "./oidc-provider.mjs";

let provider = null;
let refreshing = null;
after(async () => {
  await provider?.close();
  await refreshing?.close();
  await stopAll();
});

/** Signs `user` in on the provider's own sign-in and consent pages. */
async function signIn(page, user) {
  await page.getByRole("link", { name: "Sign in with your organisation" }).click();
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill("any");
  await page.locator('button[type="submit"]').click();
  await page.locator('input[name="login"]').waitFor({ state: "detached" });
  await page.locator('button[type="submit"]').click();
}

test("a user signs in on a standard provider's own pages and lands with their role", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/api/auth/oidc/callback`;
  provider = await startOidcProvider({ dana: ["sre"] }, callback);
  const lb = await startLightbulb("", signInThrough(provider, callback, { sre: "editor" }), port);
  const page = await browserPage();
  await page.goto(`${lb.url}/admin/relations`);
  // The provider's own sign-in page, then its consent page.
  await signIn(page, "dana");
  await page.getByTestId("signed-in-as").filter({ hasText: "dana (editor)" }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/admin/relations", "back on the page asked for");
  await page.screenshot({ path: path.join(ARTIFACTS, "oidc-standard.png") });
  // An editor's menu: the catalog, not the audit log.
  await page.getByRole("link", { name: "Relations" }).waitFor();
  assert.equal(await page.getByRole("link", { name: "Audit" }).count(), 0);
});

test("a refreshed sign-in follows the provider, and signing out ends it there too", async () => {
  const port = await freePort();
  const lbUrl = `http://127.0.0.1:${port}`;
  const callback = `${lbUrl}/api/auth/oidc/callback`;
  const users = { erin: ["sre"] };
  refreshing = await startOidcProvider(users, callback, { refresh: true, accessTtl: 2, signedOut: `${lbUrl}/` });
  const extra = `scopes = ["groups", "offline_access"]\npost_logout_redirect_url = "${lbUrl}/"\n`;
  const lb = await startLightbulb("", signInThrough(refreshing, callback, { sre: "editor", ops: "viewer" }, extra), port);
  const page = await browserPage();
  await page.goto(`${lb.url}/`);
  await signIn(page, "erin");
  const signedIn = page.getByTestId("signed-in-as");
  await signedIn.filter({ hasText: "erin (editor)" }).waitFor();

  // Moved to another group at the provider: the next page load after the
  // grant runs out (2 s) shows the new role.
  users.erin = ["ops"];
  await until("the viewer role after a refresh", async () => {
    await page.reload();
    return (await signedIn.textContent({ timeout: 2_000 }))?.includes("erin (viewer)");
  }, 20_000);
  await page.screenshot({ path: path.join(ARTIFACTS, "oidc-refreshed.png") });

  // Sign out: the provider's own sign-out page, then back here, signed out.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL((u) => u.origin === new URL(refreshing.issuer).origin);
  await page.locator('button[autofocus], button[value="yes"]').first().click();
  await page.waitForURL((u) => u.origin === lbUrl);
  await page.getByRole("link", { name: "Sign in with your organisation" }).waitFor();

  // Removed at the provider: the session ends at its next refresh.
  await signIn(page, "erin");
  await signedIn.filter({ hasText: "erin (viewer)" }).waitFor();
  delete users.erin;
  await until("the sign-in page once the provider refuses to refresh", async () => {
    await page.reload();
    return page.getByRole("link", { name: "Sign in with your organisation" }).isVisible({ timeout: 2_000 });
  }, 20_000);
});
