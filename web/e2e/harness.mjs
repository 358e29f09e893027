// Real processes for the end-to-end tests: a collector and an agent (the
// debug binaries `cargo build` made), Python processes for checks to watch,
// and Debian's Chromium driven by playwright-core. Everything started here
// is killed by `stopAll`, which the tests call in `after` even on failure.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const BIN = path.resolve(process.env.LIGHTBULB_BIN_DIR ?? path.join(ROOT, "target/debug"));
export const ARTIFACTS = path.join(ROOT, "web/test-results");

const children = [];
let browser = null;

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
  child.output = "";
  child.stdout.on("data", (d) => (child.output += d));
  child.stderr.on("data", (d) => (child.output += d));
  children.push(child);
  return child;
}

export async function until(what, fn, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${tails()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The last lines of what each process still running printed: a timeout
 *  says what the collector and agent were doing. */
function tails() {
  return children
    .filter((c) => c.exitCode === null)
    .map((c) => `\n--- ${path.basename(c.spawnfile)} ${c.spawnargs.slice(1).join(" ")}\n${c.output.split("\n").slice(-15).join("\n")}`)
    .join("");
}

/** A collector on free ports (or `httpPort`, with `collectorExtra` TOML) and one agent (`e2e-agent`) with `checks` (TOML). */
export async function startLightbulb(checks, collectorExtra = "", httpPort = undefined) {
  const dir = mkdtempSync(path.join(tmpdir(), "lightbulb-e2e-"));
  const [http, grpc] = [httpPort ?? (await freePort()), await freePort()];
  const certs = path.join(dir, "certs");
  await new Promise((resolve, reject) =>
    start(path.join(BIN, "lightbulb-collector"), ["certs", "init", "--out", certs, "--agent", "e2e-agent"]).on(
      "exit",
      (code) => (code === 0 ? resolve() : reject(new Error(`certs init exited ${code}`))),
    ),
  );
  writeFileSync(
    path.join(dir, "collector.toml"),
    `[http]\nlisten = "127.0.0.1:${http}"\n[grpc]\nlisten = "127.0.0.1:${grpc}"\n[tls]\nca = "${certs}/ca.crt"\ncert = "${certs}/collector.crt"\nkey = "${certs}/collector.key"\n[store]\npath = "${dir}/lightbulb.db"\n${collectorExtra}`,
  );
  writeFileSync(
    path.join(dir, "agent.toml"),
    `agent_id = "e2e-agent"\ncollector = "https://127.0.0.1:${grpc}"\nspool_dir = "${dir}/spool"\n[tls]\nca = "${certs}/ca.crt"\ncert = "${certs}/agent-e2e-agent.crt"\nkey = "${certs}/agent-e2e-agent.key"\n${checks}`,
  );
  const collector = start(path.join(BIN, "lightbulb-collector"), ["--config", path.join(dir, "collector.toml")]);
  const url = `http://127.0.0.1:${http}`;
  await until("the collector", async () => (await fetch(`${url}/readyz`)).ok);
  const agent = start(path.join(BIN, "lightbulb-agent"), ["--config", path.join(dir, "agent.toml")]);
  return { url, dir, collector, agent };
}

/**
 * Collector TOML: sign-in through the provider `p` ({issuer, clientId, clientSecret}),
 * `roles` as {claim value: role}, and more `[auth.oidc]` TOML in `oidcExtra`.
 */
export function signInThrough(p, callback, roles, oidcExtra = "") {
  const mapped = Object.entries(roles).map(([k, v]) => `"${k}" = "${v}"\n`).join("");
  return (
    `[auth]\nmode = "oidc"\nsecure_cookies = false\n[auth.roles]\n${mapped}` +
    `[auth.oidc]\nissuer = "${p.issuer}"\nclient_id = "${p.clientId}"\nclient_secret = "${p.clientSecret}"\nredirect_url = "${callback}"\n${oidcExtra}`
  );
}

/** A new page; `options` as for Playwright's newPage (viewport, colorScheme, …). */
export async function browserPage(options = {}) {
  browser ??= await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, ...options });
  page.errors = [];
  page.on("console", (m) => m.type() === "error" && page.errors.push(m.text()));
  page.on("pageerror", (e) => page.errors.push(String(e)));
  return page;
}

export async function stopAll() {
  await browser?.close().catch(() => {});
  browser = null;
  for (const c of children.splice(0)) {
    if (c.exitCode === null) c.kill("SIGKILL");
  }
}

/** An HTTP receiver on a free port; `got` holds each JSON body POSTed to it. */
export async function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push(JSON.parse(body));
      res.writeHead(200).end();
    });
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => server.close() };
}

const AXE = path.join(import.meta.dirname, "../node_modules/axe-core/axe.min.js");

/** Serious and critical axe-core violations (WCAG 2.1 A and AA) on the
 *  page, one line each. The page must bypass CSP (axe is an inline script). */
export async function violations(page) {
  await page.addScriptTag({ content: readFileSync(AXE, "utf8") });
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
  });
  return found.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.join(", ")}`);
}
