// Sign-in through the OpenID provider as a user does it: "Sign in with your
// organisation" on the dashboard, the provider (OpenBao; its authorize page
// answered through its API with the user's token), back on the page asked
// for with the role of the user's groups. A user without a mapped group
// comes back to the sign-in page told why.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, signInThrough, startLightbulb, stopAll } from "./harness.mjs";
import { startOpenBao } from "./openbao.mjs";

after(stopAll);

test("a user signs in through the OpenID provider and lands with the role of their groups", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/api/auth/oidc/callback`;
  const bao = await startOpenBao(
    [
      { name: "carol", password: "carol-password", groups: ["lightbulb-admins"] },
      { name: "mallory", password: "mallory-password", groups: ["elsewhere"] },
    ],
    callback,
  );
  const lb = await startLightbulb("", signInThrough(bao, callback, { "lightbulb-admins": "admin" }), port);
  const page = await browserPage();
  /** Signs in on the provider's own page (its userpass form). */
  const atProvider = async (p, name, password) => {
    const method = p.getByLabel("Method");
    await method.waitFor();
    await method.selectOption({ label: "Username" });
    await p.getByLabel("Username").fill(name);
    await p.getByLabel("Password").fill(password);
    await p.getByRole("button", { name: "Sign In" }).click();
  };

  await page.goto(`${lb.url}/admin/services`);
  await page.getByRole("link", { name: "Sign in with your organisation" }).click();
  await atProvider(page, "carol", "carol-password");
  await page.getByTestId("signed-in-as").filter({ hasText: "carol (admin)" }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/admin/services", "back on the page asked for");
  // What the provider's own pages logged is theirs; from here on, ours.
  page.errors.length = 0;
  await page.getByRole("link", { name: "Audit" }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "oidc-signed-in.png") });
  await page.getByRole("button", { name: "Sign out" }).click();

  assert.deepEqual(page.errors.filter((e) => !/401/.test(e)), []);

  // Another browser: a user whose groups map to no role.
  const other = await browserPage();
  await other.goto(`${lb.url}/`);
  await other.getByRole("link", { name: "Sign in with your organisation" }).click();
  await atProvider(other, "mallory", "mallory-password");
  await other.getByRole("alert").filter({ hasText: "has no role here" }).waitFor();
  await other.screenshot({ path: path.join(ARTIFACTS, "oidc-no-role.png") });
});
