//! `[auth]`: who may use the HTTP API, and how they sign in.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use lightbulb_common::time::serde_duration;
use serde::{Deserialize, Serialize};

use crate::access::Role;

/// How callers are identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No sign-in: every caller is an admin (a laptop demo).
    None,
    /// Sign-in required: OpenID Connect, the local break-glass admin, or
    /// an API token.
    Oidc,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `oidc` or `none`. Unset: `none` while `http.listen` is a loopback
    /// address, else the collector refuses to start. Env `LIGHTBULB_AUTH__MODE`.
    pub mode: Option<AuthMode>,
    /// The ID-token claim whose values map to roles. Default `groups`.
    pub role_claim: String,
    /// Claim value → role (`viewer`, `editor` or `admin`); a user matching
    /// several gets the highest, one matching none is refused.
    pub roles: BTreeMap<String, Role>,
    /// The OpenID provider users sign in through.
    pub oidc: Option<OidcConfig>,
    /// A local admin for when the provider is down; off unless set.
    pub local_admin: Option<LocalAdmin>,
    /// A session ends after this long without a request. Default `30m`.
    #[serde(with = "serde_duration")]
    pub session_idle: Duration,
    /// And after this long in any case. Default `12h`.
    #[serde(with = "serde_duration")]
    pub session_max: Duration,
    /// Session cookies only over HTTPS. Default true; set false only for
    /// plain-HTTP testing on loopback.
    pub secure_cookies: bool,
    /// Key that signs API tokens (made, 32 random bytes, if missing).
    /// Default: `token.key` next to the SQLite database; required with
    /// ClickHouse, as collectors sharing a store must share the key.
    pub token_key_file: Option<PathBuf>,
}

/// An OpenID Connect provider (Vault or OpenBao's identity provider,
/// Keycloak, Dex, …): the authorization code flow with PKCE.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer URL; its discovery document is at
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// Never logged; `<redacted>` in print-config.
    #[serde(serialize_with = "crate::config::redact")]
    pub client_secret: String,
    /// Where the provider sends the browser back, as registered with it:
    /// `https://<this collector>/api/auth/oidc/callback`.
    pub redirect_url: String,
    /// Scopes asked for besides `openid`. Default `["groups"]`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Where the provider sends the browser after signing out there, as
    /// registered with it (e.g. `https://<this collector>/`). Default none:
    /// the provider's own page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_url: Option<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["groups".into()]
}

/// Why ClickHouse needs `auth.token_key_file` set.
pub const KEY_FILE_NEEDED: &str = "is required with `store.kind = \"clickhouse\"`: collectors sharing the store must share the key";

/// The break-glass admin: a name and an argon2 hash of its password
/// (`lightbulb-collector hash-password`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalAdmin {
    pub username: String,
    #[serde(serialize_with = "crate::config::redact")]
    pub password_hash: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: None,
            role_claim: "groups".into(),
            roles: BTreeMap::new(),
            oidc: None,
            local_admin: None,
            session_idle: Duration::from_secs(30 * 60),
            session_max: Duration::from_secs(12 * 3600),
            secure_cookies: true,
            token_key_file: None,
        }
    }
}

impl AuthConfig {
    /// The mode in effect for a listener on `listen`, or why there is none.
    pub fn effective_mode(&self, listen: std::net::SocketAddr) -> Result<AuthMode, String> {
        match self.mode {
            Some(mode) => Ok(mode),
            None if listen.ip().is_loopback() => Ok(AuthMode::None),
            None => Err(format!(
                "not set while `http.listen` ({listen}) is reachable from other hosts; set `oidc` to require sign-in, or `none` to let anyone in as admin"
            )),
        }
    }

    pub(super) fn problems(
        &self,
        listen: std::net::SocketAddr,
        store: super::StoreKind,
        problem: &mut dyn FnMut(&str, String),
    ) {
        match self.effective_mode(listen) {
            Err(e) => problem("auth.mode", e),
            Ok(AuthMode::Oidc)
                if store == super::StoreKind::Clickhouse && self.token_key_file.is_none() =>
            {
                problem("auth.token_key_file", KEY_FILE_NEEDED.into());
            }
            Ok(_) => {}
        }
        let mode = self.effective_mode(listen).ok();
        if mode == Some(AuthMode::Oidc) && self.oidc.is_none() && self.local_admin.is_none() {
            problem(
                "auth.oidc",
                "is required with `mode = \"oidc\"` unless `auth.local_admin` is set: nobody could sign in".into(),
            );
        }
        if let Some(o) = &self.oidc {
            for (key, url) in [
                ("auth.oidc.issuer", &o.issuer),
                ("auth.oidc.redirect_url", &o.redirect_url),
            ] {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    problem(key, format!("`{url}` is not an http:// or https:// URL"));
                }
            }
            if !o.redirect_url.ends_with("/api/auth/oidc/callback") {
                problem(
                    "auth.oidc.redirect_url",
                    "must end in `/api/auth/oidc/callback`, where this collector takes the provider's answer".into(),
                );
            }
            if o.client_id.is_empty() {
                problem("auth.oidc.client_id", "must not be empty".into());
            }
        }
        if let Some(local) = &self.local_admin {
            if local.username.trim().is_empty() {
                problem("auth.local_admin.username", "must not be empty".into());
            }
            if !local.password_hash.starts_with("$argon2") {
                problem(
                    "auth.local_admin.password_hash",
                    "is not an argon2 hash; make one with `lightbulb-collector hash-password`"
                        .into(),
                );
            }
        }
        if self.session_idle < Duration::from_secs(60) {
            problem("auth.session_idle", "must be at least 1m".into());
        }
        if self.session_max < self.session_idle {
            problem(
                "auth.session_max",
                "must not be shorter than `auth.session_idle`".into(),
            );
        }
        if self.role_claim.is_empty() {
            problem("auth.role_claim", "must not be empty".into());
        }
    }
}
