//! `/api/auth`: who is signed in, signing in as the local break-glass
//! admin, and signing out; `/api/tokens`: API tokens (admins only).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::audit;
use crate::access::{Permission, Scope};
use crate::audit::{ObjectChange, ObjectKind};
use crate::auth::token::TokenRecord;
use crate::auth::{Identity, session};
use crate::catalog::Actor;
use crate::catalog::fields::{Body, required};
use crate::config::AuthMode;
use crate::state::AppState;
use crate::{Error, Result};

/// How one may sign in here.
#[derive(Serialize, utoipa::ToSchema)]
struct SignIn {
    /// The local break-glass admin is enabled.
    local_admin: bool,
    /// Sign-in through the OpenID provider (`/api/auth/oidc/login`).
    oidc: bool,
}

/// The caller as the collector sees them.
#[derive(Serialize, utoipa::ToSchema)]
struct Me {
    /// `none` (no sign-in; everyone is an admin) or `oidc`.
    #[schema(value_type = String)]
    mode: AuthMode,
    signed_in: bool,
    identity: Option<Identity>,
    /// What the caller may do.
    permissions: Vec<Permission>,
    sign_in: SignIn,
}

#[utoipa::path(get, path = "/api/auth/me", tag = "auth", responses((status = 200, body = Me)))]
pub(super) async fn me(
    State(state): State<Arc<AppState>>,
    identity: Option<axum::Extension<Identity>>,
) -> Response {
    // The guard identified the caller already (a refused token: nobody).
    let identity = identity.map(|axum::Extension(i)| i);
    axum::Json(Me {
        mode: state.auth.mode,
        signed_in: identity.is_some(),
        permissions: identity
            .as_ref()
            .map(|i| i.role.permissions())
            .unwrap_or_default(),
        identity,
        sign_in: SignIn {
            local_admin: state.auth.local_admin_enabled(),
            oidc: state.auth.oidc.is_some(),
        },
    })
    .into_response()
}

/// A sign-in or sign-out, as an audited change.
fn session(actor: &Actor) -> Vec<ObjectChange> {
    vec![ObjectChange {
        kind: ObjectKind::Session,
        id: actor.name.clone(),
        before: None,
        after: None,
    }]
}

/// A token made or revoked, as an audited change (the record, never the token).
fn token_change(before: Option<&TokenRecord>, after: Option<&TokenRecord>) -> Vec<ObjectChange> {
    let json =
        |t: Option<&TokenRecord>| t.map(|t| serde_json::to_value(t).expect("records serialize"));
    let id = after
        .or(before)
        .map(|t| t.token_id.clone())
        .unwrap_or_default();
    vec![ObjectChange {
        kind: ObjectKind::Token,
        id,
        before: json(before),
        after: json(after),
    }]
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = if state.auth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        session::COOKIE
    )
}

/// Signs in as the local break-glass admin; the session is a cookie.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = crate::api::inputs::LoginInput, responses((status = 200, body = Identity), (status = 401, description = "Wrong name or password, or no local admin", body = crate::error::ErrorBody)))]
pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    request: axum::http::request::Parts,
    bytes: Bytes,
) -> Result<Response> {
    let mut body = Body::parse(&bytes)?;
    let username = required(body.string("username")?, "username")?;
    let password = required(body.string("password")?, "password")?;
    body.finish()?;
    if !state.auth.local_admin_enabled() {
        return Err(Error::Unauthenticated(
            "the local admin is not enabled (`auth.local_admin`)".into(),
        ));
    }
    let mut actor = Actor::named(format!("local:{username}"));
    actor.ip = super::guard::client_ip(&request);
    let Some(identity) = state.auth.local_sign_in(&username, &password) else {
        audit::record(&state, &actor, "sign-in refused", session(&actor)).await?;
        return Err(Error::Unauthenticated("wrong username or password".into()));
    };
    audit::record(&state, &actor, "sign in", session(&actor)).await?;
    let now = lightbulb_common::time::now_ms();
    let id = state.auth.sessions.create(identity.clone(), None, now);
    let set = cookie(&state, &id, state.auth.sessions.max_age_secs());
    Ok(([(header::SET_COOKIE, set)], axum::Json(identity)).into_response())
}

/// Where the browser goes to sign out at the provider too.
#[derive(Serialize, utoipa::ToSchema)]
struct SignedOut {
    /// The provider's end-session page (RP-initiated logout).
    redirect: String,
}

/// Ends the caller's session (if any) and clears its cookie. After a
/// sign-in through a provider that offers it, the answer names the
/// provider's page that ends the sign-in there too.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", responses((status = 200, description = "Signed out here; sign out at the provider too", body = SignedOut), (status = 204, description = "Signed out")))]
pub(super) async fn logout(
    State(state): State<Arc<AppState>>,
    request: axum::http::request::Parts,
) -> Response {
    let id = request
        .headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(session::from_cookie_header);
    let now = lightbulb_common::time::now_ms();
    let mut provider_sign_out = None;
    if let Some(id) = id {
        if let Some(seen) = state.auth.sessions.get(id, now) {
            let mut actor = seen.identity.actor();
            actor.ip = super::guard::client_ip(&request);
            if let Err(e) = audit::record(&state, &actor, "sign out", session(&actor)).await {
                tracing::warn!(error = %e, "cannot record a sign-out");
            }
            let id_token = state.auth.sessions.remove(id);
            if seen.identity.kind == crate::auth::IdentityKind::User {
                provider_sign_out = state
                    .auth
                    .oidc
                    .as_ref()
                    .and_then(|o| o.end_session_url(id_token.as_deref()));
            }
        }
        state.auth.sessions.remove(id);
    }
    let clear = [(header::SET_COOKIE, cookie(&state, "", 0))];
    match provider_sign_out {
        Some(redirect) => {
            (StatusCode::OK, clear, axum::Json(SignedOut { redirect })).into_response()
        }
        None => (StatusCode::NO_CONTENT, clear).into_response(),
    }
}

/// The cookie binding a sign-in at the provider to this browser.
const OIDC_COOKIE: &str = "lb_oidc";

fn oidc_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = if state.auth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{OIDC_COOKIE}={value}; Path=/api/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    )
}

/// A path of this collector to go to after sign-in; anything else is `/`.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/".to_string(),
    }
}

fn redirect(to: &str, cookies: &[String]) -> Response {
    let mut r = (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response();
    for c in cookies {
        if let Ok(v) = axum::http::HeaderValue::from_str(c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

#[derive(serde::Deserialize)]
pub(super) struct LoginParams {
    next: Option<String>,
}

/// Sends the browser to the OpenID provider to sign in.
#[utoipa::path(get, path = "/api/auth/oidc/login", tag = "auth", params(("next" = Option<String>, Query, description = "a path of this collector to go to once signed in")), responses((status = 302, description = "To the provider"), (status = 404, description = "No provider configured", body = crate::error::ErrorBody), (status = 503, description = "The provider cannot be reached", body = crate::error::ErrorBody)))]
pub(super) async fn oidc_login(
    State(state): State<Arc<AppState>>,
    axum::extract::Query(p): axum::extract::Query<LoginParams>,
) -> Result<Response> {
    let oidc = state
        .auth
        .oidc
        .as_ref()
        .ok_or_else(|| Error::not_found("no OpenID provider is configured (`auth.oidc`)"))?;
    let now = lightbulb_common::time::now_ms();
    let (url, bound) = oidc.begin(&local_path(p.next.as_deref()), now).await?;
    Ok(redirect(&url, &[oidc_cookie(&state, &bound, 600)]))
}

#[derive(serde::Deserialize)]
pub(super) struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The provider's answer: signed in (a session cookie) and on to where the
/// user was going, or back to the sign-in page saying why not.
#[utoipa::path(get, path = "/api/auth/oidc/callback", tag = "auth", params(("code" = Option<String>, Query), ("state" = Option<String>, Query)), responses((status = 302, description = "Signed in: to the page asked for; else to the sign-in page with `sign_in_error`")))]
pub(super) async fn oidc_callback(
    State(state): State<Arc<AppState>>,
    request: axum::http::request::Parts,
    axum::extract::Query(p): axum::extract::Query<CallbackParams>,
) -> Response {
    let bound = request
        .headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| session::cookie(c, OIDC_COOKIE))
        .map(str::to_string);
    let clear = oidc_cookie(&state, "", 0);
    let now = lightbulb_common::time::now_ms();
    let outcome = match (&state.auth.oidc, p.code, p.state, p.error) {
        (None, ..) => Err(Error::not_found(
            "no OpenID provider is configured (`auth.oidc`)",
        )),
        (_, _, _, Some(error)) => Err(Error::Unauthenticated(format!(
            "the provider refused: {error} {}",
            p.error_description.unwrap_or_default()
        ))),
        (Some(oidc), Some(code), Some(st), None) => {
            oidc.finish(&code, &st, bound.as_deref(), now).await
        }
        _ => Err(Error::bad_request("the answer has no `code` and `state`")),
    };
    let mut actor = Actor::named("user:?");
    actor.ip = super::guard::client_ip(&request);
    match outcome {
        Ok((identity, next, grant)) => {
            let actor = Actor {
                name: identity.actor().name,
                ..actor
            };
            if let Err(e) = audit::record(&state, &actor, "sign in", session(&actor)).await {
                tracing::warn!(error = %e, "cannot record a sign-in");
            }
            let id = state.auth.sessions.create(identity, Some(grant), now);
            let set = cookie(&state, &id, state.auth.sessions.max_age_secs());
            redirect(&next, &[set, clear])
        }
        Err(e) => {
            tracing::warn!(error = %e, "sign-in through the provider refused");
            if let Err(e) = audit::record(&state, &actor, "sign-in refused", session(&actor)).await
            {
                tracing::warn!(error = %e, "cannot record a refused sign-in");
            }
            let message: String =
                url::form_urlencoded::byte_serialize(e.to_string().as_bytes()).collect();
            redirect(&format!("/?sign_in_error={message}"), &[clear])
        }
    }
}

#[utoipa::path(get, path = "/api/tokens", tag = "auth", responses((status = 200, body = Vec<TokenRecord>)))]
pub(super) async fn list_tokens(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(state.auth.tokens.list()).into_response()
}

/// A new token: shown here once, never again.
#[derive(Serialize, utoipa::ToSchema)]
struct NewToken {
    token: String,
    record: TokenRecord,
}

/// Longest a token may live.
const MAX_TOKEN_LIFE_MS: i64 = 366 * 86_400_000;

#[utoipa::path(post, path = "/api/tokens", tag = "auth", request_body = crate::api::inputs::TokenInput, responses((status = 201, body = NewToken), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn create_token(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    bytes: Bytes,
) -> Result<Response> {
    let mut body = Body::parse(&bytes)?;
    let name = required(body.string("name")?, "name")?;
    let scope = required(body.string("scope")?, "scope")?;
    let expires_in = body.string("expires_in")?.unwrap_or_else(|| "90d".into());
    body.finish()?;
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", "must be 1–100 characters"));
    }
    let scope = Scope::parse(&scope).ok_or_else(|| {
        Error::invalid(
            "scope",
            format!("`{scope}` is not one of read, write, admin"),
        )
    })?;
    let life = lightbulb_common::time::parse_duration(&expires_in)
        .map_err(|e| Error::invalid("expires_in", e))?
        .as_millis() as i64;
    if !(1000..=MAX_TOKEN_LIFE_MS).contains(&life) {
        return Err(Error::invalid("expires_in", "must be between 1s and 366d"));
    }
    let now = lightbulb_common::time::now_ms();
    let (token, record) = state
        .auth
        .tokens
        .create(&name, scope, &actor.name, now, now + life)
        .await?;
    let change = token_change(None, Some(&record));
    let id = audit::record(&state, &actor, "create token", change).await?;
    let out = (StatusCode::CREATED, axum::Json(NewToken { token, record })).into_response();
    Ok(audit::audited(Some(id), out))
}

#[utoipa::path(delete, path = "/api/tokens/{token_id}", tag = "auth", params(("token_id" = String, Path, description = "Token id")), responses((status = 200, body = TokenRecord), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub(super) async fn revoke_token(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(token_id): Path<String>,
) -> Result<Response> {
    let now = lightbulb_common::time::now_ms();
    let before = state
        .auth
        .tokens
        .list()
        .into_iter()
        .find(|t| t.token_id == token_id);
    let record = state.auth.tokens.revoke(&token_id, now).await?;
    let change = token_change(before.as_ref(), Some(&record));
    let id = audit::record(&state, &actor, "revoke token", change).await?;
    Ok(audit::audited(Some(id), axum::Json(record).into_response()))
}
