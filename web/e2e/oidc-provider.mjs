// npm oidc-provider as a second, standard-conformant OpenID provider for the
// end-to-end tests, in this process: one confidential client (the
// collector), users with a `groups` claim, and the package's own
// development sign-in pages (any password works there; the login is the
// user's name).
import Provider from "oidc-provider";
import { freePort } from "./harness.mjs";

/**
 * A provider at `issuer` for `users` ({name: groups[]}, read at every sign-in
 * and refresh: change it to change a user's groups, delete a user to end
 * their sign-in), whose client returns to `redirect`. `refresh`: grant
 * refresh tokens (scope offline_access) with access tokens lasting
 * `accessTtl` seconds; `signedOut`: where the provider's sign-out page
 * sends the browser back.
 */
export async function startOidcProvider(users, redirect, { refresh = false, accessTtl = 60, signedOut } = {}) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const client = { clientId: "lightbulb", clientSecret: "lightbulb-e2e-secret" };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [redirect],
        post_logout_redirect_uris: signedOut ? [signedOut] : [],
        grant_types: refresh ? ["authorization_code", "refresh_token"] : ["authorization_code"],
        response_types: ["code"],
      },
    ],
    scopes: ["openid", "groups", "offline_access"],
    ttl: { AccessToken: accessTtl, IdToken: accessTtl, RefreshToken: 3600, Grant: 3600, Session: 3600, Interaction: 600 },
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
