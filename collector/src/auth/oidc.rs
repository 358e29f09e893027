//! Sign-in through an OpenID provider: the authorization code flow with
//! PKCE. `begin` sends the browser to the provider with a fresh state,
//! nonce and code challenge; `finish` takes the code back (once: the state
//! is forgotten on use), exchanges it, and verifies the ID token (signature
//! against the provider's keys, issuer, audience, nonce, expiry). The
//! provider is discovered when first needed and again when a token is
//! signed with a key it did not publish before (key rotation); a provider
//! that is down only makes sign-in say so. With a refresh token (scope
//! `offline_access`), the sign-in is refreshed each time the provider's
//! grant runs out, taking up role changes; signing out also signs out at
//! the provider where it offers that (RP-initiated logout).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use base64::Engine as _;
use openidconnect::core::CoreAuthPrompt;
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope,
};
use tracing::{info, warn};

use super::{Identity, IdentityKind};
use crate::access::Role;
use crate::config::OidcConfig;
use crate::{Error, Result};

/// How long a sign-in may take at the provider.
const PENDING_MS: i64 = 10 * 60_000;

struct Pending {
    verifier: String,
    nonce: String,
    /// Where to go once signed in (a path of this collector).
    next: String,
    created_ms: i64,
}

pub struct Oidc {
    config: OidcConfig,
    role_claim: String,
    roles: BTreeMap<String, Role>,
    http: Http,
    provider: tokio::sync::RwLock<Option<CoreProviderMetadata>>,
    /// The provider's `end_session_endpoint`, if it has one.
    end_session: Mutex<Option<String>>,
    pending: Mutex<HashMap<String, Pending>>,
}

/// What the provider granted a signed-in user. Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    pub refresh_token: Option<String>,
    /// The ID token, as the hint for signing out at the provider.
    pub id_token: Option<String>,
    /// How long the grant lasts (the access token's `expires_in`).
    pub expires_in_ms: Option<i64>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Grant(<redacted>)")
    }
}

fn grant(tokens: &openidconnect::core::CoreTokenResponse) -> Grant {
    Grant {
        refresh_token: tokens.refresh_token().map(|t| t.secret().clone()),
        id_token: openidconnect::TokenResponse::id_token(tokens).map(|t| t.to_string()),
        expires_in_ms: tokens.expires_in().map(|d| d.as_millis() as i64),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// The OpenID library's HTTP, through our client.
struct Http(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = std::result::Result<openidconnect::HttpResponse, HttpError>,
                > + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// One request of the OpenID library, through our HTTP client.
async fn send(
    client: &reqwest::Client,
    request: openidconnect::HttpRequest,
) -> std::result::Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let r = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let (status, headers) = (r.status(), r.headers().clone());
    let bytes = r.bytes().await.map_err(|e| HttpError(e.to_string()))?;
    let mut out = openidconnect::http::Response::new(bytes.to_vec());
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::unavailable(format!("the sign-in provider {what}: {e}"))
}

impl Oidc {
    pub fn new(config: OidcConfig, role_claim: String, roles: BTreeMap<String, Role>) -> Oidc {
        // The provider may be https; rustls needs its provider chosen first.
        lightbulb_common::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            // A redirect from the provider's endpoints is not followed (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        Oidc {
            config,
            role_claim,
            roles,
            http: Http(http),
            provider: tokio::sync::RwLock::new(None),
            end_session: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// The provider's metadata and keys: remembered, or (`fresh`, or not
    /// yet known) discovered now.
    pub async fn provider(&self, fresh: bool) -> Result<CoreProviderMetadata> {
        if !fresh && let Some(p) = self.provider.read().await.as_ref() {
            return Ok(p.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| Error::internal(format!("auth.oidc.issuer: {e}")))?;
        let found = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                unavailable(&format!("at `{}` cannot be reached", self.config.issuer), e)
            })?;
        // Not in the core metadata: read from the document itself.
        let document = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let end_session = match self.http.0.get(&document).send().await {
            Ok(r) => r.json::<serde_json::Value>().await.ok().and_then(|d| {
                d.get("end_session_endpoint")
                    .and_then(|e| e.as_str())
                    .map(str::to_string)
            }),
            Err(_) => None,
        };
        info!(issuer = %self.config.issuer, sign_out_there = end_session.is_some(), "sign-in provider discovered");
        *self.end_session.lock().unwrap_or_else(|e| e.into_inner()) = end_session;
        *self.provider.write().await = Some(found.clone());
        Ok(found)
    }

    /// Where to send the browser to sign out at the provider too, if it
    /// offers that: its end-session endpoint with the ID token as hint.
    pub fn end_session_url(&self, id_token: Option<&str>) -> Option<String> {
        let endpoint = self
            .end_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        let mut url = url::Url::parse(&endpoint).ok()?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.config.client_id);
            if let Some(hint) = id_token {
                q.append_pair("id_token_hint", hint);
            }
            if let Some(back) = &self.config.post_logout_redirect_url {
                q.append_pair("post_logout_redirect_uri", back);
            }
        }
        Some(url.to_string())
    }

    /// Asks the provider again with `refresh_token`: the identity it names
    /// now (its role from the new ID token's claims, if one came) and the
    /// new grant. `Unauthenticated`/`Forbidden` when the provider refuses
    /// or the user lost every role; `Unavailable` when it cannot be asked.
    pub async fn refresh(&self, refresh_token: &str) -> Result<(Option<Identity>, Grant)> {
        let client = self.client(self.provider(false).await?)?;
        let tokens = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
            .map_err(|e| Error::internal(format!("the provider has no token endpoint: {e}")))?
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    Error::Unauthenticated(format!("the sign-in provider ended the sign-in: {r}"))
                }
                other => unavailable("cannot refresh the sign-in", other),
            })?;
        let identity = match openidconnect::TokenResponse::id_token(&tokens) {
            None => None,
            Some(id_token) => {
                // A refreshed ID token carries no nonce of ours to check.
                let no_nonce = |_: Option<&Nonce>| Ok(());
                id_token
                    .claims(&client.id_token_verifier(), no_nonce)
                    .map_err(|e| {
                        Error::Unauthenticated(format!(
                            "the refreshed ID token does not verify: {e}"
                        ))
                    })?;
                let claims = payload(&id_token.to_string()).ok_or_else(|| {
                    Error::Unauthenticated("the refreshed ID token's claims do not read".into())
                })?;
                Some(self.identity(&claims)?)
            }
        };
        Ok((identity, grant(&tokens)))
    }

    fn client(&self, provider: CoreProviderMetadata) -> Result<Client> {
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| Error::internal(format!("auth.oidc.redirect_url: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            provider,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// Where to send the browser, and the state that binds its return to it.
    pub async fn begin(&self, next: &str, now_ms: i64) -> Result<(String, String)> {
        let client = self.client(self.provider(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if self.config.scopes.iter().any(|s| s == "offline_access") {
            // OpenID Connect: a refresh token is granted only after consent.
            request = request.add_prompt(CoreAuthPrompt::Consent);
        }
        let (url, state, nonce) = request.url();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| now_ms - p.created_ms < PENDING_MS);
        pending.insert(
            state.secret().clone(),
            Pending {
                verifier: verifier.secret().clone(),
                nonce: nonce.secret().clone(),
                next: next.to_string(),
                created_ms: now_ms,
            },
        );
        Ok((url.to_string(), state.secret().clone()))
    }

    /// The signed-in user and where they were going, from the provider's
    /// answer (`state` as returned, `bound` as the browser's cookie kept it).
    pub async fn finish(
        &self,
        code: &str,
        state: &str,
        bound: Option<&str>,
        now_ms: i64,
    ) -> Result<(Identity, String, Grant)> {
        let refused = |why: &str| Error::Unauthenticated(format!("sign-in refused: {why}"));
        if bound != Some(state) {
            return Err(refused(
                "the answer does not belong to this browser's sign-in",
            ));
        }
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(state)
            .filter(|p| now_ms - p.created_ms < PENDING_MS)
            .ok_or_else(|| refused("it expired or was already used; sign in again"))?;
        let client = self.client(self.provider(false).await?)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| Error::internal(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| refused(&format!("the provider did not take the code: {e}")))?;
        let id_token = openidconnect::TokenResponse::id_token(&tokens)
            .ok_or_else(|| refused("the provider sent no ID token"))?;
        let nonce = Nonce::new(pending.nonce);
        let verified = match verify(&client, id_token, &nonce) {
            Ok(()) => Ok(()),
            Err(first) => {
                // A key the provider rotated in since it was discovered.
                warn!(error = %first, "ID token not verified; reading the provider's keys again");
                let client = self.client(self.provider(true).await?)?;
                verify(&client, id_token, &nonce)
            }
        };
        verified.map_err(|e| refused(&format!("the ID token does not verify: {e}")))?;
        let claims = payload(&id_token.to_string())
            .ok_or_else(|| refused("the ID token's claims do not read"))?;
        let identity = self.identity(&claims)?;
        Ok((identity, pending.next, grant(&tokens)))
    }

    /// The user an ID token's (verified) claims name, with the highest role
    /// their `role_claim` values map to.
    fn identity(&self, claims: &serde_json::Value) -> Result<Identity> {
        let name = ["preferred_username", "email", "sub"]
            .iter()
            .find_map(|k| claims.get(*k).and_then(|v| v.as_str()))
            .unwrap_or_default()
            .to_string();
        let values: Vec<&str> = match claims.get(&self.role_claim) {
            Some(serde_json::Value::Array(items)) => {
                items.iter().filter_map(|v| v.as_str()).collect()
            }
            Some(serde_json::Value::String(s)) => vec![s.as_str()],
            _ => Vec::new(),
        };
        let role = values
            .iter()
            .filter_map(|v| self.roles.get(*v))
            .max()
            .copied();
        let role = role.ok_or_else(|| {
            Error::Forbidden(format!(
                "`{name}` is signed in but has no role here: none of its `{}` ({}) is mapped in `auth.roles`",
                self.role_claim,
                values.join(", ")
            ))
        })?;
        Ok(Identity {
            name,
            kind: IdentityKind::User,
            role,
        })
    }
}

type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// Whether `id_token` is the provider's (signature by a published key),
/// for us (audience), from the issuer, unexpired, and for this sign-in (nonce).
fn verify(
    client: &Client,
    id_token: &openidconnect::core::CoreIdToken,
    nonce: &Nonce,
) -> std::result::Result<(), String> {
    id_token
        .claims(&client.id_token_verifier(), nonce)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The claims of a compact JWT (its signature checked elsewhere).
fn payload(jwt: &str) -> Option<serde_json::Value> {
    let middle = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(middle.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tampering;
