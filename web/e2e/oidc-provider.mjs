// npm oidc-provider as a second, standard-conformant OpenID provider for the
// end-to-end tests, in this process: one confidential client (the
// collector), users with a `groups` claim, and the package's own
// development sign-in pages (any password works there; the login is the
// user's name).
import Provider from "oidc-provider";
import { freePort } from "./harness.mjs";

/** A provider at `issuer` for `users` ({name: groups[]}), whose client returns to `redirect`. */
export async function startOidcProvider(users, redirect) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const client = { clientId: "lightbulb", clientSecret: "lightbulb-e2e-secret" };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [redirect],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    scopes: ["openid", "groups"],
    claims: { openid: ["sub"], groups: ["groups", "preferred_username"] },
    findAccount: async (_ctx, id) =>
      id in users
        ? { accountId: id, claims: async () => ({ sub: id, preferred_username: id, groups: users[id] }) }
        : undefined,
    features: { devInteractions: { enabled: true } },
    // The scopes' claims go into the ID token too, where the collector reads roles.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
  });
  // Plain HTTP on loopback, as in the other tests.
  provider.proxy = false;
  const server = provider.listen(port);
  await new Promise((resolve) => server.once("listening", resolve));
  return { issuer, ...client, close: () => new Promise((r) => server.close(r)) };
}
