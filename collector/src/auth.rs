//! Who is calling, and how they proved it: a session cookie (signed in as
//! the local break-glass admin, or through OpenID Connect), an API token (a
//! bearer JWT the collector signed), or nobody. What each may do is in
//! `access`; `api::guard` applies both to every request.

pub mod oidc;
pub mod session;
pub mod token;

use std::path::Path;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::HeaderMap;
use ring::rand::SecureRandom;
use serde::Serialize;
use tracing::{info, warn};

use self::session::Sessions;
use self::token::{TokenStore, Tokens};
use crate::access::Role;
use crate::catalog::Actor;
use crate::config::{AuthMode, CollectorConfig, KEY_FILE_NEEDED, StoreKind};
use crate::{Error, Result};

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Identity {
    pub name: String,
    pub kind: IdentityKind,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// `auth.mode = "none"`: nobody signed in, everyone is an admin.
    Anonymous,
    /// Signed in through the OpenID provider.
    User,
    /// The break-glass admin.
    LocalAdmin,
    /// An API token.
    Token,
}

impl Identity {
    /// Everyone, when sign-in is off.
    pub fn anonymous() -> Identity {
        Identity {
            name: "anonymous".into(),
            kind: IdentityKind::Anonymous,
            role: Role::Admin,
        }
    }

    /// How changes made by this caller are attributed.
    pub fn actor(&self) -> Actor {
        Actor::named(match self.kind {
            IdentityKind::Anonymous => "anonymous".into(),
            IdentityKind::User => format!("user:{}", self.name),
            IdentityKind::LocalAdmin => format!("local:{}", self.name),
            IdentityKind::Token => format!("token:{}", self.name),
        })
    }
}

/// `n` random bytes as hex, from the system's secure generator.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random generator works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An argon2id hash of `password` (for `auth.local_admin.password_hash`).
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut salt)
        .expect("the system's random generator works");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a salt");
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

/// Sign-in, sessions and tokens, as configured.
pub struct Auth {
    pub mode: AuthMode,
    pub sessions: Sessions,
    pub tokens: Arc<Tokens>,
    /// The break-glass admin: name and password hash.
    local_admin: Option<(String, String)>,
    /// Sign-in through an OpenID provider, when configured.
    pub oidc: Option<Arc<oidc::Oidc>>,
    pub secure_cookies: bool,
    /// The token `/metrics` asks for, if any (`http.metrics_token_file`).
    metrics_token: Option<String>,
}

/// What a request's credentials say.
pub enum Caller {
    /// No credentials (or a session that ended).
    Nobody,
    /// A live session or a valid token.
    Known(Identity),
    /// Credentials that do not count (a bad bearer token, a session the
    /// provider ended), and why.
    Refused(String),
}

impl Auth {
    pub async fn new(config: &CollectorConfig, store: Arc<dyn TokenStore>) -> Result<Auth> {
        let mode = config
            .auth
            .effective_mode(config.http.listen)
            .map_err(|e| Error::bad_field("auth.mode", e))?;
        let key = match mode {
            // Everyone is an admin anyway; tokens last until a restart.
            AuthMode::None => random_hex(32).into_bytes(),
            AuthMode::Oidc => token_key(config)?,
        };
        if mode == AuthMode::None && !config.http.listen.ip().is_loopback() {
            warn!(
                listen = %config.http.listen,
                "auth.mode = \"none\" on a listener other hosts can reach: ANYONE WHO CAN REACH IT IS AN ADMIN"
            );
        }
        let local_admin = config
            .auth
            .local_admin
            .as_ref()
            .map(|l| (l.username.clone(), l.password_hash.clone()));
        let oidc = config.auth.oidc.clone().map(|o| {
            Arc::new(oidc::Oidc::new(
                o,
                config.auth.role_claim.clone(),
                config.auth.roles.clone(),
            ))
        });
        if mode == AuthMode::Oidc {
            info!(
                local_admin = local_admin.is_some(),
                oidc = oidc.is_some(),
                "sign-in required"
            );
        }
        if let Some(o) = oidc.clone().filter(|_| mode == AuthMode::Oidc) {
            // Found now if it is up; a provider that is down is tried again
            // at the next sign-in, which says why meanwhile.
            tokio::spawn(async move {
                if let Err(e) = o.provider(false).await {
                    warn!(error = %e, "sign-in through the provider is not possible yet");
                }
            });
        }
        Ok(Auth {
            mode,
            sessions: Sessions::new(config.auth.session_idle, config.auth.session_max),
            tokens: Arc::new(Tokens::load(key, store).await?),
            local_admin,
            oidc,
            secure_cookies: config.auth.secure_cookies,
            metrics_token: metrics_token(config)?,
        })
    }

    /// Who a request's credentials name: a bearer token first, then the
    /// session cookie (refreshed at the provider when its grant ran out).
    /// With sign-in off, everyone is the anonymous admin.
    pub async fn identify(&self, headers: &HeaderMap, now_ms: i64) -> Caller {
        if self.mode == AuthMode::None {
            return Caller::Known(Identity::anonymous());
        }
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(bearer) =
            header(axum::http::header::AUTHORIZATION).and_then(|v| v.strip_prefix("Bearer "))
        {
            return match self.tokens.verify(bearer.trim(), now_ms) {
                Ok((identity, token_id)) => {
                    self.tokens.touch(&token_id, now_ms);
                    Caller::Known(identity)
                }
                Err(why) => Caller::Refused(why),
            };
        }
        let Some(id) = header(axum::http::header::COOKIE).and_then(session::from_cookie_header)
        else {
            return Caller::Nobody;
        };
        let Some(seen) = self.sessions.get(id, now_ms) else {
            return Caller::Nobody;
        };
        let (Some(refresh), Some(oidc)) = (seen.refresh, &self.oidc) else {
            return Caller::Known(seen.identity);
        };
        match oidc.refresh(&refresh).await {
            Ok((identity, grant)) => {
                let identity = identity.unwrap_or(seen.identity);
                self.sessions.refreshed(id, identity.clone(), grant, now_ms);
                Caller::Known(identity)
            }
            Err(e @ (Error::Unauthenticated(_) | Error::Forbidden(_))) => {
                info!(user = %seen.identity.name, reason = %e, "session ended by the sign-in provider");
                self.sessions.remove(id);
                Caller::Refused(format!("your sign-in has ended: {e}"))
            }
            Err(e) => {
                // The provider is down: the session goes on, asked again later.
                warn!(user = %seen.identity.name, error = %e, "cannot refresh a sign-in");
                Caller::Known(seen.identity)
            }
        }
    }

    /// Whether a `/metrics` request may read the metrics.
    pub fn may_scrape(&self, headers: &HeaderMap) -> bool {
        let Some(want) = &self.metrics_token else {
            return true;
        };
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| token::same(given.trim().as_bytes(), want.as_bytes()))
    }

    pub fn local_admin_enabled(&self) -> bool {
        self.local_admin.is_some()
    }

    /// The break-glass admin, if `username` and `password` are its.
    pub fn local_sign_in(&self, username: &str, password: &str) -> Option<Identity> {
        let (name, hash) = self.local_admin.as_ref()?;
        let hash = PasswordHash::new(hash).ok()?;
        let password_ok = argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok();
        (password_ok && name == username).then(|| Identity {
            name: name.clone(),
            kind: IdentityKind::LocalAdmin,
            role: Role::Admin,
        })
    }
}

/// The token in `http.metrics_token_file`, if one is set.
fn metrics_token(config: &CollectorConfig) -> Result<Option<String>> {
    let Some(path) = &config.http.metrics_token_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::bad_field(
            "http.metrics_token_file",
            format!("`{}`: {e}", path.display()),
        )
    })?;
    let token = text.trim().to_string();
    if token.len() < 16 {
        return Err(Error::bad_field(
            "http.metrics_token_file",
            format!("`{}` holds fewer than 16 characters", path.display()),
        ));
    }
    Ok(Some(token))
}

/// The token signing key: read from `auth.token_key_file` (by default next
/// to the SQLite database), or made there (32 random bytes, mode 0600).
fn token_key(config: &CollectorConfig) -> Result<Vec<u8>> {
    let path = match (&config.auth.token_key_file, config.store.kind) {
        (Some(p), _) => p.clone(),
        (None, StoreKind::Sqlite) => config.store.path.with_file_name("token.key"),
        (None, StoreKind::Clickhouse) => {
            return Err(Error::bad_field("auth.token_key_file", KEY_FILE_NEEDED));
        }
    };
    read_or_make_key(&path)
        .map_err(|e| Error::bad_field("auth.token_key_file", format!("`{}`: {e}", path.display())))
}

fn read_or_make_key(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().len() >= 32 => Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => Err(std::io::Error::other("holds fewer than 32 characters")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let key = random_hex(32);
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?
                .write_all(key.as_bytes())?;
            info!(file = %path.display(), "made a new token signing key");
            Ok(key.into_bytes())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let auth_admin = |name: &str, pw: &str| {
            let parsed = PasswordHash::new(&hash).unwrap();
            name == "admin"
                && argon2::Argon2::default()
                    .verify_password(pw.as_bytes(), &parsed)
                    .is_ok()
        };
        assert!(auth_admin("admin", "correct horse"));
        assert!(!auth_admin("admin", "correct horsE"));
        assert!(!auth_admin("root", "correct horse"));
    }

    #[test]
    fn a_key_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/token.key");
        let made = read_or_make_key(&path).unwrap();
        assert_eq!(made.len(), 64);
        assert_eq!(read_or_make_key(&path).unwrap(), made);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&path, "short").unwrap();
        assert!(read_or_make_key(&path).is_err());
    }
}
