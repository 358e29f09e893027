// Sign-in as a user sees it: with `[auth] mode = "oidc"` the dashboard
// asks for credentials first, refuses a wrong password, lands on the
// dashboard with the caller's name and role after the right one, and goes
// back to the sign-in page on sign-out. The API refuses the same calls
// without the session cookie.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, BIN, browserPage, startLightbulb, stopAll } from "./harness.mjs";

after(stopAll);

const PASSWORD = "e2e correct horse battery";

test("the dashboard asks for sign-in, shows who is signed in, and signs out", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const hash = execFileSync(path.join(BIN, "lightbulb-collector"), ["hash-password"], { input: `${PASSWORD}\n` })
    .toString()
    .trim();
  const lb = await startLightbulb(
    "",
    `[auth]\nmode = "oidc"\nsecure_cookies = false\n[auth.local_admin]\nusername = "root"\npassword_hash = "${hash}"\n`,
  );
  assert.equal((await fetch(`${lb.url}/api/status`)).status, 401);

  const page = await browserPage();
  await page.goto(`${lb.url}/admin/services`);
  const form = page.getByRole("form", { name: "Sign in" });
  await form.getByLabel("Username").fill("root");
  await form.getByLabel("Password").fill("not the password");
  await form.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "wrong username or password" }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, "signin-refused.png") });

  await form.getByLabel("Password").fill(PASSWORD);
  await form.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").filter({ hasText: "root (admin)" }).waitFor();
  // The page asked for before signing in, with the admin's pages in the menu.
  await page.getByRole("button", { name: "New service" }).waitFor();
  await page.getByRole("link", { name: "Services" }).waitFor();
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "lb_session");
  assert.ok(session?.httpOnly, "the session cookie is HTTP-only");
  assert.equal(session.sameSite, "Lax");
  await page.screenshot({ path: path.join(ARTIFACTS, "signed-in.png") });

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("form", { name: "Sign in" }).waitFor();
  assert.equal(
    (await fetch(`${lb.url}/api/status`, { headers: { cookie: `lb_session=${session.value}` } })).status,
    401,
    "the session ended",
  );
  assert.deepEqual(page.errors.filter((e) => !/401/.test(e)), []);
});
