// The AI insights panel as a user meets it, against a stand-in model server
// (testkit/src/model_server.py) that answers like an OpenAI-compatible API
// and records every request: a failing service is analysed on its own, the
// panel shows the answer and exactly the context sent (its address
// redacted), "Analyse now" asks again and a malformed answer is shown as
// such, with the earlier analysis one click away.
import assert from "node:assert/strict";
import path from "node:path";
import { after, test } from "node:test";
import { ARTIFACTS, browserPage, freePort, start, startLightbulb, stopAll, until, violations } from "./harness.mjs";

after(stopAll);

const ROOT = path.resolve(import.meta.dirname, "../..");

test("a failure's AI analysis is shown with the context sent, and can be asked for again", async () => {
  const model = start("python3", ["-u", path.join(ROOT, "testkit/src/model_server.py"), "0"]);
  const port = await until("the model server", async () => model.output.match(/model ready (\d+)/)?.[1]);
  const requests = () => model.output.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const closed = await freePort();
  const check = `[[checks]]\nservice_id = "orders"\nservice_type = "api_endpoint"\ninterval = "1s"\n[checks.status_config]\nurl = "tcp://127.0.0.1:${closed}"\n`;
  const ai = `[alerting]\ninterval = "200ms"\n[insights.ai]\napi_base = "http://127.0.0.1:${port}/v1"\nmodel = "e2e-model"\napi_key = "sk-e2e-secret-0123456789"\n`;
  const lb = await startLightbulb(check, ai);
  const first = await until(
    "the analysis of the failure",
    async () => (await (await fetch(`${lb.url}/api/insights/orders`)).json()).analyses[0],
    30_000,
  );
  assert.equal(first.trigger, "transition");
  assert.equal(requests().length, 1);

  const page = await browserPage({ bypassCSP: true });
  await page.goto(`${lb.url}/services/orders`);
  const panel = page.getByTestId("ai-insights");
  const summary = panel.getByTestId("analysis-summary");
  await summary.waitFor();
  assert.equal(await summary.textContent(), first.answer.summary);
  assert.match(await summary.textContent(), /^orders is failing: /);
  const text = await panel.textContent();
  assert.match(text, /Likely root cause: the dependency it calls refuses connections/, text);
  assert.match(text, /Next steps/, text);
  assert.match(text, /Confidence 70 %/, text);
  assert.match(text, /e2e-model/, text);

  // The context, exactly as sent: the same text, the address redacted.
  await panel.getByText(/^Context sent/).click();
  const shown = await panel.getByTestId("analysis-context").textContent();
  const sent = requests()[0].body.messages[1].content;
  assert.deepEqual(JSON.parse(shown), JSON.parse(sent));
  assert.match(shown, /\[REDACTED:ip\]/);
  assert.doesNotMatch(shown, /127\.0\.0\.1/);
  assert.doesNotMatch(JSON.stringify(requests()[0].body), /sk-e2e-secret/, "the key goes in the header only");
  await page.screenshot({ path: path.join(ARTIFACTS, "ai-insights.png"), fullPage: true });
  assert.deepEqual(await violations(page), []);

  // Asked again while the model answers prose: shown as not usable.
  await fetch(`http://127.0.0.1:${port}/mode/malformed`);
  await panel.getByRole("button", { name: "Analyse now" }).click();
  const invalid = panel.locator('[data-testid="analysis"][data-outcome="invalid_answer"]');
  await invalid.waitFor();
  assert.match(await invalid.textContent(), /The model's answer was not usable: the answer is not a JSON object/);
  assert.equal(requests().length, 2);

  // The earlier analysis is one click away.
  await panel.getByText(/^Earlier analyses \(1\)/).click();
  await panel.getByRole("button", { name: new RegExp(first.answer.summary.slice(0, 20)) }).click();
  await until("the earlier analysis shown", async () => (await summary.textContent()) === first.answer.summary);
  assert.deepEqual(page.errors, []);
});
