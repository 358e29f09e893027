// Evidence search as a user meets it: a Python web server answers 500 with
// a traceback, the agent's HTTP check keeps it as evidence, and searching
// for part of the exception on the Search page lists the result with the
// words marked; the search lives in the address, so it survives a reload
// and can be shared; a hit leads to its service.
import assert from "node:assert/strict";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, start, startLightbulb, stopAll, until } from "./harness.mjs";

after(stopAll);

const FAILING = `
import http.server, traceback
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        try:
            {}["user"]
        except KeyError:
            body = traceback.format_exc().encode()
        self.send_response(500); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
`;

test("a stack trace in a check's evidence is found, marked and linked", async () => {
  const app = start("python3", ["-c", FAILING]);
  const port = await until("the failing server", async () => app.output.trim().split("\n")[0] || null);
  const lb = await startLightbulb(
    `[[checks]]\nservice_id = "accounts"\nservice_type = "api_endpoint"\ninterval = "1s"\n[checks.status_config]\nurl = "http://127.0.0.1:${port}/me"\n`,
  );
  await until("accounts FAILED", async () => (await (await fetch(`${lb.url}/api/status/accounts`)).json()).status === "FAILED", 30_000);

  const page = await browserPage();
  await page.goto(`${lb.url}/search`);
  await page.getByLabel("Search evidence").fill("keyerr us");
  await page.getByTestId("search-summary").getByText("at least 3 characters").waitFor();
  await page.getByLabel("Search evidence").fill("keyerr user");
  const hit = page.getByTestId("search-hit").first();
  await hit.waitFor({ timeout: 15_000 });
  assert.equal(await hit.getByRole("link").textContent(), "accounts");
  assert.match(await hit.textContent(), /HTTP 500, expected 2xx/);
  const marked = await hit.locator("mark").allTextContents();
  assert.ok(marked.includes("KeyErr") && marked.includes("user"), `marked: ${marked}`);
  await page.screenshot({ path: path.join(ARTIFACTS, "search.png") });

  // The search is in the address: a reload (or a shared link) shows it again.
  await until("the address", async () => new URL(page.url()).searchParams.get("q") === "keyerr user");
  await page.reload();
  await page.getByTestId("search-hit").first().waitFor();
  assert.equal(await page.getByLabel("Search evidence").inputValue(), "keyerr user");

  await page.getByTestId("search-hit").first().getByRole("link").click();
  await page.waitForURL(/\/services\/accounts$/);
  await page.close();
});
