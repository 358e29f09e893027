// Validates a Microsoft Teams message carrying an Adaptive Card with the
// Adaptive Cards SDK (npm adaptivecards) in a jsdom window: parses the
// card, checks its properties and renders it. Prints what it found as
// JSON (the last line); exits 1 on any parse warning, validation failure or render error.
// Usage: node scripts/validate-card.mjs MESSAGE.json
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
// The SDK renders into the DOM and checks element classes by name.
globalThis.window = dom.window;
for (const name of Object.getOwnPropertyNames(dom.window)) {
  if (/^(HTML|SVG)|^(document|Node|Element|Event|KeyboardEvent|MouseEvent|getComputedStyle)$/.test(name) && !(name in globalThis)) {
    globalThis[name] = dom.window[name];
  }
}
// The package's UMD bundle (its lib/ build is not loadable as ES modules in Node).
const AC = createRequire(import.meta.url)("adaptivecards/dist/adaptivecards.js");

const message = JSON.parse(readFileSync(process.argv[2], "utf8"));
const attachment = message.attachments?.[0];
const problems = [];
if (message.type !== "message") problems.push(`message type is ${message.type}, not "message"`);
if (attachment?.contentType !== "application/vnd.microsoft.card.adaptive") {
  problems.push(`attachment contentType is ${attachment?.contentType}`);
}
const card = new AC.AdaptiveCard();
const context = new AC.SerializationContext();
card.parse(attachment?.content ?? {}, context);
for (let i = 0; i < context.eventCount; i++) {
  const e = context.getEventAt(i);
  problems.push(`parse: ${e.message}`);
}
const validation = card.validateProperties();
for (const e of validation.validationEvents) problems.push(`validate: ${e.message}`);
const rendered = card.render();
if (!rendered) problems.push("render: nothing rendered");
// The SDK logs a line of its own; this report is the last line.
console.log(JSON.stringify({ problems, elements: card.getItemCount(), actions: card.getActionCount() }));
process.exit(problems.length ? 1 : 0);
