// Every page checked with axe-core (WCAG 2 A and AA rules) in the light and
// the dark theme, as the system setting picks them, with no serious or
// critical violation; screenshots of each page in both themes and at phone
// width go to web/test-results/. The theme toggle overrides the system
// setting and is remembered.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, startLightbulb, stopAll, until, violations } from "./harness.mjs";

// Each page, with what shows it has loaded.
const PAGES = [
  ["dashboard", "/", '[data-testid="service-list"] >> text=db'],
  ["map", "/map", ".react-flow__node"],
  ["service", "/services/web", '[data-testid="detail-message"]'],
  ["agents", "/agents", "table"],
  ["alerts", "/alerts", '[data-testid="rule"]'],
  ["search", "/search?q=connect", '[data-testid="search-hit"]'],
  ["services", "/admin/services", '[data-testid="catalog-file"]'],
  ["relations", "/admin/relations", "table"],
  ["transfer", "/admin/transfer", "textarea, input[type=file]"],
  ["audit", "/admin/audit", "table"],
  ["tokens", "/admin/tokens", "form, table"],
];

let lb;
before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(path.join(tmpdir(), "lightbulb-e2e-a11y-"));
  const closed = await freePort();
  const httpPort = await freePort();
  const file = path.join(dir, "services.toml");
  const service = (id, port) =>
    `[[services]]\nservice_id = "${id}"\nlabel = "${id}"\nservice_type = "api_endpoint"\nlabels = { agent_id = "e2e-agent" }\nstatus_config = { url = "tcp://127.0.0.1:${port}", interval = "1s" }\n`;
  writeFileSync(
    file,
    service("web", httpPort) +
      service("db", closed) +
      `[[services]]\nservice_id = "shop"\nlabel = "Shop"\nservice_type = "application"\n` +
      `[[relations]]\nsource_service_id = "shop"\ntarget_service_id = "web"\nrelation_type = "dependency"\n` +
      `[[relations]]\nsource_service_id = "web"\ntarget_service_id = "db"\nrelation_type = "dependency"\n` +
      `[[alert_rules]]\nrule_id = "db-down"\ncondition = { kind = "status", statuses = ["FAILED"] }\nscope = { services = ["db"] }\n`,
  );
  lb = await startLightbulb("", `[catalog]\nfile = "${file}"\n`, httpPort);
  await until("checked services", async () => {
    const s = await (await fetch(`${lb.url}/api/status/db`)).json();
    return s.status === "FAILED";
  }, 30_000);
});
after(stopAll);

/** Contrast of each map node's words against its own background: axe
 *  cannot judge text inside the map's transformed layer. */
function mapContrast(page) {
  return page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    return [...document.querySelectorAll(".react-flow__node")].map((node) => {
      const text = node.querySelector("[data-map-node]");
      const [a, b] = [lum(rgb(getComputedStyle(text).color)), lum(rgb(getComputedStyle(node).backgroundColor))];
      return { id: text.dataset.mapNode, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
    });
  });
}

for (const scheme of ["light", "dark"]) {
  test(`every page passes axe in the ${scheme} theme`, async () => {
    // axe is injected as an inline script, which the collector's CSP forbids.
    const page = await browserPage({ colorScheme: scheme, bypassCSP: true });
    const problems = [];
    for (const [name, url, ready] of PAGES) {
      await page.goto(`${lb.url}${url}`);
      await page.locator(ready).first().waitFor({ timeout: 20_000 });
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), scheme, `${name} follows the system theme`);
      // Let transitions and live data settle before judging colours.
      await page.waitForTimeout(300);
      for (const v of await violations(page)) problems.push(`${name}: ${v}`);
      if (name === "map") {
        for (const n of await mapContrast(page)) {
          if (n.ratio < 4.5) problems.push(`map: node ${n.id} has text contrast ${n.ratio.toFixed(2)} (< 4.5)`);
        }
      }
      await page.screenshot({ path: path.join(ARTIFACTS, `page-${name}-${scheme}.png`), fullPage: true });
    }
    assert.deepEqual(problems, [], problems.join("\n"));
    await page.close();
  });
}

test("every page at phone width, in both themes", async () => {
  for (const scheme of ["light", "dark"]) {
    const page = await browserPage({ colorScheme: scheme, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    for (const [name, url, ready] of PAGES) {
      await page.goto(`${lb.url}${url}`);
      await page.locator(ready).first().waitFor({ timeout: 20_000 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${name} at phone width scrolls sideways by ${overflow}px`);
      await page.screenshot({ path: path.join(ARTIFACTS, `page-${name}-phone-${scheme}.png`), fullPage: true });
    }
    await page.close();
  }
});

test("the theme toggle overrides the system setting and is remembered", async () => {
  const page = await browserPage({ colorScheme: "light" });
  await page.goto(`${lb.url}/`);
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await background();
  await page.getByLabel("Theme").selectOption("dark");
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
  const dark = await background();
  assert.notEqual(dark, light, "the page turns dark");
  await page.reload();
  await page.getByLabel("Theme").waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark", "remembered across a reload");
  assert.equal(await page.getByLabel("Theme").inputValue(), "dark");
  await page.getByLabel("Theme").selectOption("system");
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light", "back to the system's");
  await page.close();
});
