// Failure patterns as a user meets them: two services check the same
// database, which is down; the Search page lists their shared failure as
// one pattern with both services and its count, the service page shows the
// pattern of that service alone, and "find the results" searches for it.
import assert from "node:assert/strict";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, startLightbulb, stopAll, until } from "./harness.mjs";

after(stopAll);

test("a failure two services share is one pattern, counted and linked", async () => {
  const closed = await freePort();
  const check = (id) =>
    `[[checks]]\nservice_id = "${id}"\nservice_type = "api_endpoint"\ninterval = "1s"\n[checks.status_config]\nurl = "tcp://127.0.0.1:${closed}"\n`;
  const lb = await startLightbulb(check("orders") + check("billing"));
  // Three failing results of each, so the pattern counts at least six.
  await until(
    "failing results of both",
    async () => {
      const p = await (await fetch(`${lb.url}/api/patterns`)).json();
      return p.patterns[0]?.count >= 6 && p.patterns[0].services.length === 2;
    },
    30_000,
  );

  const page = await browserPage();
  await page.goto(`${lb.url}/search`);
  const pattern = page.getByTestId("failure-patterns").getByTestId("pattern").first();
  await pattern.waitFor();
  const text = await pattern.textContent();
  assert.match(text, /TCP connect/, text);
  assert.match(text, /orders \(\d+\)/, text);
  assert.match(text, /billing \(\d+\)/, text);
  assert.ok(Number((await pattern.getByTestId("pattern-count").textContent()).replace("×", "")) >= 6, text);
  await page.screenshot({ path: path.join(ARTIFACTS, "patterns-fleet.png") });

  // The service page: the same pattern, of orders alone.
  await page.goto(`${lb.url}/services/orders`);
  const own = page.getByTestId("failure-patterns").getByTestId("pattern").first();
  await own.waitFor();
  const ownText = await own.textContent();
  assert.match(ownText, /TCP connect/, ownText);
  assert.doesNotMatch(ownText, /billing/, "a service's patterns are its own");

  // Its link searches for the pattern's words and finds orders' results.
  await own.getByRole("link", { name: "find the results" }).click();
  await page.getByTestId("search-hit").first().waitFor();
  assert.match(page.url(), /service_id=orders/);
  const hits = await page.getByTestId("search-hit").allTextContents();
  assert.ok(hits.length > 0 && hits.every((h) => h.includes("orders")), hits.join("\n"));
});
