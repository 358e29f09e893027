//! API tokens for automation: HS256 JWTs the collector signs, each with a
//! record in the store (name, scope, expiry, who made it, when it was last
//! used, whether it is revoked). The store keeps a SHA-256 of the token,
//! never the token: it is shown once, when it is made. A token counts only
//! while its signature, its record, its hash and its expiry all agree, so a
//! revoked one fails on the next request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{Identity, IdentityKind, random_hex};
use crate::access::Scope;
use crate::{BoxFuture, Error, Result};

const ISSUER: &str = "lightbulb";
/// Last-used times are written at most this often per token.
const TOUCH_EVERY_MS: i64 = 60_000;

/// A token as stored (without the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TokenRecord {
    pub token_id: String,
    pub name: String,
    pub scope: Scope,
    /// Who made it (`user:alice`, `local:admin`).
    pub created_by: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub revoked_ms: Option<i64>,
    pub last_used_ms: Option<i64>,
    /// SHA-256 of the token, hex.
    #[serde(skip)]
    pub hash: String,
}

/// Where token records are kept; both stores implement it.
pub trait TokenStore: Send + Sync + 'static {
    fn tokens(&self) -> BoxFuture<'_, Result<Vec<TokenRecord>>>;
    /// Stores `record`, replacing the one with its id.
    fn put_token(&self, record: TokenRecord) -> BoxFuture<'static, Result<()>>;
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    jti: String,
    iss: String,
    iat: i64,
    exp: i64,
}

pub struct Tokens {
    key: Vec<u8>,
    store: Arc<dyn TokenStore>,
    known: RwLock<HashMap<String, TokenRecord>>,
}

/// SHA-256 of `token`, hex.
fn digest(token: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal bytes, compared in time that does not depend on where they differ.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    pub async fn load(key: Vec<u8>, store: Arc<dyn TokenStore>) -> Result<Tokens> {
        let known = store
            .tokens()
            .await?
            .into_iter()
            .map(|t| (t.token_id.clone(), t))
            .collect();
        Ok(Tokens {
            key,
            store,
            known: RwLock::new(known),
        })
    }

    fn known(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, TokenRecord>> {
        self.known.read().unwrap_or_else(|e| e.into_inner())
    }

    async fn put(&self, record: TokenRecord) -> Result<()> {
        self.store.put_token(record.clone()).await?;
        self.known
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(record.token_id.clone(), record);
        Ok(())
    }

    /// Every token, newest first.
    pub fn list(&self) -> Vec<TokenRecord> {
        let mut all: Vec<TokenRecord> = self.known().values().cloned().collect();
        all.sort_by(|a, b| {
            b.created_ms
                .cmp(&a.created_ms)
                .then(a.token_id.cmp(&b.token_id))
        });
        all
    }

    /// HMAC-SHA256 of `text` with the token key, hex: the signature of a
    /// one-click link in a notification.
    pub fn sign_link(&self, text: &str) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.key);
        let tag = ring::hmac::sign(&key, text.as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `signature` is `text`'s, as `sign_link` makes it.
    pub fn link_signed(&self, text: &str, signature: &str) -> bool {
        same(self.sign_link(text).as_bytes(), signature.as_bytes())
    }

    /// Makes a token; returns it (shown once) and its record.
    pub async fn create(
        &self,
        name: &str,
        scope: Scope,
        created_by: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(String, TokenRecord)> {
        let claims = Claims {
            jti: format!("tok-{}", random_hex(8)),
            iss: ISSUER.into(),
            iat: now_ms / 1000,
            exp: expires_ms.div_euclid(1000),
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.key),
        )
        .map_err(|e| Error::internal(format!("cannot sign a token: {e}")))?;
        let record = TokenRecord {
            token_id: claims.jti,
            name: name.to_string(),
            scope,
            created_by: created_by.to_string(),
            created_ms: now_ms,
            expires_ms,
            revoked_ms: None,
            last_used_ms: None,
            hash: digest(&token),
        };
        self.put(record.clone()).await?;
        Ok((token, record))
    }

    /// Revokes a token; the next request with it is refused.
    pub async fn revoke(&self, token_id: &str, now_ms: i64) -> Result<TokenRecord> {
        let mut record = self
            .known()
            .get(token_id)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("token `{token_id}` not found")))?;
        if record.revoked_ms.is_none() {
            record.revoked_ms = Some(now_ms);
            self.put(record.clone()).await?;
        }
        Ok(record)
    }

    /// Who a bearer token speaks for and the token's id, or why it does
    /// not count.
    pub fn verify(
        &self,
        token: &str,
        now_ms: i64,
    ) -> std::result::Result<(Identity, String), String> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&self.key),
            &validation,
        )
        .map_err(|e| match e.kind() {
            // The signed expiry is in whole seconds, the record's in
            // milliseconds: either may be the one to notice first.
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "token has expired".to_string(),
            _ => format!("invalid token: {e}"),
        })?
        .claims;
        let known = self.known();
        let record = known
            .get(&claims.jti)
            .ok_or_else(|| "unknown token".to_string())?;
        if !same(record.hash.as_bytes(), digest(token).as_bytes()) {
            return Err("unknown token".into());
        }
        if record.revoked_ms.is_some() {
            return Err(format!("token `{}` is revoked", record.name));
        }
        if record.expires_ms <= now_ms {
            return Err(format!("token `{}` has expired", record.name));
        }
        let identity = Identity {
            name: record.name.clone(),
            kind: IdentityKind::Token,
            role: record.scope.role(),
        };
        Ok((identity, claims.jti))
    }

    /// Notes that `token_id` was used now (written at most once a minute).
    pub fn touch(self: &Arc<Self>, token_id: &str, now_ms: i64) {
        let stale = self
            .known()
            .get(token_id)
            .filter(|r| r.last_used_ms.is_none_or(|t| now_ms - t >= TOUCH_EVERY_MS))
            .cloned();
        let Some(mut record) = stale else { return };
        record.last_used_ms = Some(now_ms);
        self.known
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(record.token_id.clone(), record.clone());
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.put_token(record).await {
                tracing::warn!(error = %e, "cannot store a token's last use");
            }
        });
    }
}
