//! Vault / OpenBao KV version 2, signed in with a token or AppRole. The
//! token is renewed when two thirds of its time are gone; when renewal is
//! refused (or a read is), the agent signs in again. A secret read within
//! `cache_ttl` is reused; if Vault cannot be reached later, the last value
//! read is used (and that is logged).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use tracing::{info, warn};

/// `[secrets.vault]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// Vault's address, e.g. `https://vault.internal:8200`. Required.
    pub address: String,
    /// `token` (default) or `approle`.
    #[serde(default)]
    pub auth: VaultAuth,
    /// `auth = "token"`: a file holding the token. Default: the
    /// `VAULT_TOKEN` environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// `auth = "approle"`: the role id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role_id: String,
    /// `auth = "approle"`: a file holding the secret id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id_file: Option<PathBuf>,
    /// Where AppRole is mounted. Default `approle`.
    #[serde(default = "default_approle_mount")]
    pub approle_mount: String,
    /// CA bundle (PEM) for Vault's certificate. Default: the system's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// Namespace (`X-Vault-Namespace`), for Vault Enterprise and OpenBao.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

fn default_approle_mount() -> String {
    "approle".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VaultAuth {
    #[default]
    Token,
    Approle,
}

impl VaultConfig {
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !(self.address.starts_with("https://") || self.address.starts_with("http://"))
            || reqwest::Url::parse(&self.address).is_err()
        {
            out.push((
                "address".into(),
                format!("`{}` is not an http(s):// URL", self.address),
            ));
        }
        match self.auth {
            VaultAuth::Token => {
                if self.token_file.is_none() && std::env::var_os("VAULT_TOKEN").is_none() {
                    out.push((
                        "token_file".into(),
                        "is required with `auth = \"token\"` unless VAULT_TOKEN is set".into(),
                    ));
                }
            }
            VaultAuth::Approle => {
                if self.role_id.is_empty() {
                    out.push((
                        "role_id".into(),
                        "is required with `auth = \"approle\"`".into(),
                    ));
                }
                if self.secret_id_file.is_none() {
                    out.push((
                        "secret_id_file".into(),
                        "is required with `auth = \"approle\"`".into(),
                    ));
                }
            }
        }
        out
    }
}

struct Token {
    value: String,
    /// When to renew; `None`: it does not expire.
    renew_at: Option<Instant>,
    renewable: bool,
}

impl Token {
    fn new(value: String, ttl_secs: u64, renewable: bool) -> Token {
        let renew_at =
            (ttl_secs > 0).then(|| Instant::now() + Duration::from_secs(ttl_secs) * 2 / 3);
        Token {
            value,
            renew_at,
            renewable,
        }
    }
}

type Data = Map<String, Value>;

pub(super) struct Vault {
    config: VaultConfig,
    http: reqwest::Client,
    ttl: Duration,
    token: tokio::sync::Mutex<Option<Token>>,
    cache: Mutex<HashMap<(String, String), (Instant, Data)>>,
}

impl Vault {
    pub(super) fn new(config: VaultConfig, ttl: Duration) -> Result<Vault, String> {
        lightbulb_common::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("lightbulb-agent/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.ca {
            builder = crate::checks::support::trust(builder, path, "secrets.vault.ca")?;
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot build Vault client: {e}"))?;
        Ok(Vault {
            config,
            http,
            ttl,
            token: tokio::sync::Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// `key` of the KV v2 secret at `mount`/`path`.
    pub(super) async fn get(&self, mount: &str, path: &str, key: &str) -> Result<String, String> {
        let data = self.read(mount, path).await?;
        match data.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Ok(other.to_string()),
            None => Err(format!("the secret has no key `{key}`")),
        }
    }

    async fn read(&self, mount: &str, path: &str) -> Result<Data, String> {
        let at = (mount.to_string(), path.to_string());
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&at)
            .cloned();
        if let Some((read_at, data)) = &cached
            && read_at.elapsed() < self.ttl
        {
            return Ok(data.clone());
        }
        let fresh = match self.fetch(mount, path).await {
            Err(Refused::Token(_)) => {
                // Revoked or expired under us: sign in again, once.
                *self.token.lock().await = None;
                self.fetch(mount, path).await
            }
            other => other,
        };
        match (fresh, cached) {
            (Ok(data), _) => {
                self.cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(at, (Instant::now(), data.clone()));
                Ok(data)
            }
            (Err(Refused::Unreachable(e)), Some((_, data))) => {
                warn!(mount, path, error = %e, "cannot reach Vault; using the secret read before");
                Ok(data)
            }
            (Err(Refused::Token(e) | Refused::Unreachable(e) | Refused::Other(e)), _) => Err(e),
        }
    }

    async fn fetch(&self, mount: &str, path: &str) -> Result<Data, Refused> {
        let token = self.token().await?;
        let body = self
            .call(
                reqwest::Method::GET,
                &format!("{mount}/data/{path}"),
                Some(&token),
                None,
            )
            .await?;
        match body.pointer("/data/data") {
            Some(Value::Object(data)) => Ok(data.clone()),
            _ => Err(Refused::Other(format!(
                "`{mount}/{path}` is not a KV version 2 secret (no data.data in the answer)"
            ))),
        }
    }

    /// A valid token: the current one, renewed, or a fresh sign-in.
    async fn token(&self) -> Result<String, Refused> {
        let mut current = self.token.lock().await;
        if let Some(t) = current.as_mut() {
            if t.renew_at.is_none_or(|at| Instant::now() < at) {
                return Ok(t.value.clone());
            }
            if t.renewable {
                match self
                    .call(
                        reqwest::Method::POST,
                        "auth/token/renew-self",
                        Some(&t.value),
                        Some(json!({})),
                    )
                    .await
                {
                    Ok(answer) => {
                        let renewed = token_from_auth(&answer)?;
                        info!(
                            ttl_s = answer["auth"]["lease_duration"].as_u64(),
                            "Vault token renewed"
                        );
                        *t = renewed;
                        return Ok(t.value.clone());
                    }
                    Err(e) => {
                        warn!(error = %e.text(), "cannot renew the Vault token; signing in again")
                    }
                }
            }
        }
        let fresh = self.sign_in().await?;
        let value = fresh.value.clone();
        *current = Some(fresh);
        Ok(value)
    }

    async fn sign_in(&self) -> Result<Token, Refused> {
        match self.config.auth {
            VaultAuth::Token => {
                let value = match &self.config.token_file {
                    Some(f) => std::fs::read_to_string(f)
                        .map_err(|e| {
                            Refused::Other(format!("cannot read token_file {}: {e}", f.display()))
                        })?
                        .trim()
                        .to_string(),
                    None => std::env::var("VAULT_TOKEN")
                        .map_err(|_| Refused::Other("VAULT_TOKEN is not set".into()))?,
                };
                let answer = match self
                    .call(
                        reqwest::Method::GET,
                        "auth/token/lookup-self",
                        Some(&value),
                        None,
                    )
                    .await
                {
                    Ok(a) => a,
                    // A token without the default policy may not look
                    // itself up: used as it is, never renewed.
                    Err(Refused::Token(e)) => {
                        warn!(error = %e, "cannot look up the Vault token; it will not be renewed");
                        Value::Null
                    }
                    Err(e) => return Err(e),
                };
                let ttl = answer["data"]["ttl"].as_u64().unwrap_or(0);
                let renewable = answer["data"]["renewable"].as_bool().unwrap_or(false);
                info!(ttl_s = ttl, renewable, "Vault token accepted");
                Ok(Token::new(value, ttl, renewable))
            }
            VaultAuth::Approle => {
                let file = self.config.secret_id_file.as_ref().ok_or_else(|| {
                    Refused::Other("secret_id_file is required with AppRole".into())
                })?;
                let secret_id = std::fs::read_to_string(file).map_err(|e| {
                    Refused::Other(format!(
                        "cannot read secret_id_file {}: {e}",
                        file.display()
                    ))
                })?;
                let body = json!({"role_id": self.config.role_id, "secret_id": secret_id.trim()});
                let path = format!("auth/{}/login", self.config.approle_mount);
                let answer = self
                    .call(reqwest::Method::POST, &path, None, Some(body))
                    .await?;
                let token = token_from_auth(&answer)?;
                info!(
                    ttl_s = answer["auth"]["lease_duration"].as_u64(),
                    "signed in to Vault with AppRole"
                );
                Ok(token)
            }
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value, Refused> {
        let url = format!("{}/v1/{path}", self.config.address.trim_end_matches('/'));
        let mut req = self.http.request(method, &url);
        if let Some(t) = token {
            req = req.header("X-Vault-Token", t);
        }
        if let Some(ns) = &self.config.namespace {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let response = req.send().await.map_err(|e| {
            Refused::Unreachable(format!(
                "cannot reach Vault at {}: {e}",
                self.config.address
            ))
        })?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(answer);
        }
        let errors = answer["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let text = format!("Vault answered {status} to {path}: {errors}");
        Err(match status.as_u16() {
            401 | 403 if token.is_some() => Refused::Token(text),
            500.. => Refused::Unreachable(text),
            _ => Refused::Other(text),
        })
    }
}

/// Why a Vault call failed: the token was refused, Vault is down, or else.
enum Refused {
    Token(String),
    Unreachable(String),
    Other(String),
}

impl Refused {
    fn text(&self) -> &str {
        match self {
            Refused::Token(t) | Refused::Unreachable(t) | Refused::Other(t) => t,
        }
    }
}

fn token_from_auth(answer: &Value) -> Result<Token, Refused> {
    let auth = &answer["auth"];
    let value = auth["client_token"]
        .as_str()
        .ok_or_else(|| Refused::Other("Vault's answer has no auth.client_token".into()))?;
    Ok(Token::new(
        value.to_string(),
        auth["lease_duration"].as_u64().unwrap_or(0),
        auth["renewable"].as_bool().unwrap_or(false),
    ))
}
