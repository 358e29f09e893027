//! Web Push to the dashboard in users' browsers: a browser subscribes for
//! the services its user chose; a change of their status, and an alert
//! rule's `web_push` channel, send it a message encrypted for that browser
//! alone (RFC 8291) and signed with the collector's VAPID key (RFC 8292).
//! The key is made at first start and kept in the store, so collectors
//! sharing a store share it (a subscription is bound to the key).

pub mod crypto;
pub mod vapid;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::{BoxFuture, Error, Result};
use vapid::VapidKey;

/// Most services one subscription may name.
pub const MAX_SERVICES: usize = 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushSubscription {
    /// Made from the endpoint: the same browser subscribing again replaces it.
    pub subscription_id: String,
    /// Who subscribed: the signed-in identity, a token's name, or `anonymous`.
    pub owner: String,
    /// The push service's URL for this browser (it is the credential to
    /// reach the browser, so the API shows it to its owner only).
    pub endpoint: String,
    pub keys: PushKeys,
    /// Services whose status changes are pushed (none: every service).
    pub services: Vec<String>,
    /// What the user calls this browser ("work laptop").
    pub label: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// The browser's keys, base64url as `PushSubscription.toJSON()` gives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushKeys {
    /// Its P-256 public key (65 bytes).
    pub p256dh: String,
    /// Its authentication secret (16 bytes).
    pub auth: String,
}

impl PushSubscription {
    /// Checks what a browser sent; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let url = url::Url::parse(&self.endpoint)
            .map_err(|e| Error::invalid("endpoint", format!("not a URL: {e}")))?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if !(url.scheme() == "https" || url.scheme() == "http" && loopback) {
            return Err(Error::invalid(
                "endpoint",
                "must be an https URL (http only to a push service on this host)",
            ));
        }
        let key = decode(&self.keys.p256dh);
        if !key.as_ref().is_ok_and(|k| k.len() == 65 && k[0] == 4) {
            return Err(Error::invalid(
                "keys.p256dh",
                "must be an uncompressed P-256 public key, base64url",
            ));
        }
        if !decode(&self.keys.auth).is_ok_and(|a| a.len() == 16) {
            return Err(Error::invalid("keys.auth", "must be 16 bytes, base64url"));
        }
        if self.services.len() > MAX_SERVICES {
            return Err(Error::invalid(
                "services",
                format!("at most {MAX_SERVICES} services"),
            ));
        }
        for id in &self.services {
            lightbulb_common::status::validate_service_id(id)
                .map_err(|e| Error::invalid("services", format!("`{id}`: {e}")))?;
        }
        if self.label.chars().count() > 100 {
            return Err(Error::invalid("label", "at most 100 characters"));
        }
        Ok(())
    }

    /// Whether a change of `service_id` is pushed here.
    pub fn follows(&self, service_id: &str) -> bool {
        self.services.is_empty() || self.services.iter().any(|s| s == service_id)
    }
}

/// `subscription_id` for `endpoint`.
pub fn id_for(endpoint: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, endpoint.as_bytes());
    digest.as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Browsers give base64url without padding; some add it.
fn decode(s: &str) -> std::result::Result<Vec<u8>, base64::DecodeError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('='))
}

/// A VAPID key as stored: PKCS#8, base64.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    pub pkcs8: String,
    pub created_ms: i64,
}

/// Where subscriptions and the VAPID key are kept.
pub trait PushStore: Send + Sync + 'static {
    fn push_subscriptions(&self) -> BoxFuture<'_, Result<Vec<PushSubscription>>>;
    /// Stores a new or changed subscription.
    fn put_push_subscription(&self, sub: PushSubscription) -> BoxFuture<'static, Result<()>>;
    fn delete_push_subscription(&self, subscription_id: String) -> BoxFuture<'static, Result<()>>;
    /// Every VAPID key stored; the oldest is the one in use.
    fn vapid_keys(&self) -> BoxFuture<'_, Result<Vec<StoredKey>>>;
    fn add_vapid_key(&self, key: StoredKey) -> BoxFuture<'static, Result<()>>;
}

/// The VAPID key in use: the oldest stored, made and stored at first
/// start. If two collectors make one at once, both then use the older.
pub async fn vapid_key(store: &dyn PushStore) -> Result<StoredKey> {
    let oldest = |keys: Vec<StoredKey>| {
        keys.into_iter()
            .min_by(|a, b| (a.created_ms, &a.pkcs8).cmp(&(b.created_ms, &b.pkcs8)))
    };
    if let Some(k) = oldest(store.vapid_keys().await?) {
        return Ok(k);
    }
    let pkcs8 = base64::engine::general_purpose::STANDARD.encode(VapidKey::generate());
    store
        .add_vapid_key(StoredKey {
            pkcs8,
            created_ms: lightbulb_common::time::now_ms(),
        })
        .await?;
    info!("made the Web Push (VAPID) key; browsers subscribe with its public half");
    oldest(store.vapid_keys().await?)
        .ok_or_else(|| Error::internal("the VAPID key just stored is not there"))
}

/// What a push carries; the service worker shows it as a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushMessage {
    pub title: String,
    pub body: String,
    /// Same tag, same notification: a newer one replaces it.
    pub tag: String,
    /// Where a click on it leads (a path of the dashboard).
    pub url: String,
    /// FAILED and UNKNOWN are sent `high`, the rest `normal`.
    #[serde(skip)]
    pub urgent: bool,
}

/// How the last push to a subscription went.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    pub at_ms: i64,
    pub ok: bool,
    /// The push service's status code, when it answered.
    pub code: Option<u16>,
    pub detail: String,
}

/// Sends pushes with the collector's key.
pub struct Push {
    store: Arc<dyn PushStore>,
    key: VapidKey,
    subject: String,
    http: reqwest::Client,
    outcomes: Mutex<HashMap<String, Outcome>>,
    /// Pushes delivered, failed, and refused as gone.
    counts: [AtomicU64; 3],
}

impl Push {
    /// Opens with the stored key (`vapid_key`).
    pub async fn open(store: Arc<dyn PushStore>, subject: String) -> Result<Push> {
        let stored = vapid_key(store.as_ref()).await?;
        let pkcs8 = base64::engine::general_purpose::STANDARD
            .decode(&stored.pkcs8)
            .map_err(|e| Error::internal(format!("the stored VAPID key is not base64: {e}")))?;
        lightbulb_common::tls::install_crypto_provider();
        Ok(Push {
            store,
            key: VapidKey::from_pkcs8(&pkcs8)?,
            subject,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client"),
            outcomes: Mutex::default(),
            counts: Default::default(),
        })
    }

    pub fn public_key(&self) -> String {
        self.key.public_key()
    }

    pub fn store(&self) -> &dyn PushStore {
        self.store.as_ref()
    }

    /// Pushes so far: delivered, failed, gone (for `/metrics`).
    pub fn counts(&self) -> [u64; 3] {
        self.counts.each_ref().map(|c| c.load(Ordering::Relaxed))
    }

    /// How the last push to `subscription_id` went, if one was sent.
    pub fn outcome(&self, subscription_id: &str) -> Option<Outcome> {
        self.outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(subscription_id)
            .cloned()
    }

    /// Sends `message` to one browser. A subscription its push service
    /// says is gone (404, 410) is deleted.
    pub async fn send(&self, sub: &PushSubscription, message: &PushMessage) -> Outcome {
        let outcome = self.try_send(sub, message).await;
        let gone = matches!(outcome.code, Some(404 | 410));
        let kind = if outcome.ok {
            0
        } else if gone {
            2
        } else {
            1
        };
        self.counts[kind].fetch_add(1, Ordering::Relaxed);
        if gone {
            info!(subscription = %sub.subscription_id, owner = %sub.owner, "the push service says the subscription is gone; deleted");
            if let Err(e) = self
                .store
                .delete_push_subscription(sub.subscription_id.clone())
                .await
            {
                warn!(error = %e, "cannot delete a push subscription that is gone");
            }
        } else if !outcome.ok {
            warn!(subscription = %sub.subscription_id, detail = %outcome.detail, "push not delivered");
        }
        self.outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sub.subscription_id.clone(), outcome.clone());
        outcome
    }

    async fn try_send(&self, sub: &PushSubscription, message: &PushMessage) -> Outcome {
        let now = lightbulb_common::time::now_ms();
        let failed = |code: Option<u16>, detail: String| Outcome {
            at_ms: now,
            ok: false,
            code,
            detail,
        };
        let (Ok(endpoint), Ok(ua), Ok(auth)) = (
            url::Url::parse(&sub.endpoint),
            decode(&sub.keys.p256dh),
            decode(&sub.keys.auth),
        ) else {
            return failed(None, "the subscription is malformed".into());
        };
        let plaintext = serde_json::to_vec(message).expect("messages serialize");
        let body = match crypto::encrypt(&ua, &auth, &plaintext, &ring::rand::SystemRandom::new()) {
            Ok(b) => b,
            Err(e) => return failed(None, e.to_string()),
        };
        let answer = self
            .http
            .post(endpoint.clone())
            .header(
                "authorization",
                self.key.authorization(&endpoint, &self.subject, now / 1000),
            )
            .header("content-encoding", "aes128gcm")
            .header("content-type", "application/octet-stream")
            .header("ttl", "86400")
            .header("urgency", if message.urgent { "high" } else { "normal" })
            .body(body)
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => Outcome {
                at_ms: now,
                ok: true,
                code: Some(r.status().as_u16()),
                detail: "delivered to the push service".into(),
            },
            Ok(r) => {
                let code = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                let text: String = text.chars().take(200).collect();
                failed(
                    Some(code),
                    format!("the push service answered {code}: {text}"),
                )
            }
            Err(e) => failed(None, format!("cannot reach the push service: {e}")),
        }
    }

    /// Sends `message` to the subscriptions of `owners` (everyone's when
    /// empty) that follow `service_id`; how many took it, of how many.
    pub async fn send_to_owners(
        &self,
        owners: &[String],
        service_id: &str,
        message: &PushMessage,
    ) -> Result<(usize, usize)> {
        let subs: Vec<PushSubscription> = self
            .store
            .push_subscriptions()
            .await?
            .into_iter()
            .filter(|s| owners.is_empty() || owners.contains(&s.owner))
            .filter(|s| s.follows(service_id))
            .collect();
        let mut ok = 0;
        for sub in &subs {
            if self.send(sub, message).await.ok {
                ok += 1;
            }
        }
        Ok((ok, subs.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(endpoint: &str) -> PushSubscription {
        PushSubscription {
            subscription_id: id_for(endpoint),
            owner: "anonymous".into(),
            endpoint: endpoint.into(),
            keys: PushKeys {
                p256dh: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4".into(),
                auth: "BTBZMqHH6r4Tts7J_aSIgg==".into(),
            },
            services: vec![],
            label: String::new(),
            created_ms: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn subscriptions_are_checked_field_by_field() {
        assert!(
            sub("https://fcm.googleapis.com/fcm/send/x")
                .validate()
                .is_ok()
        );
        assert!(sub("http://127.0.0.1:9/push").validate().is_ok());
        let field = |s: PushSubscription| s.validate().unwrap_err().field().map(str::to_string);
        assert_eq!(
            field(sub("http://push.example.net/x")).as_deref(),
            Some("endpoint")
        );
        let mut s = sub("https://p.example.net/x");
        s.keys.p256dh = "AAAA".into();
        assert_eq!(field(s).as_deref(), Some("keys.p256dh"));
        let mut s = sub("https://p.example.net/x");
        s.keys.auth = "AAAA".into();
        assert_eq!(field(s).as_deref(), Some("keys.auth"));
        let mut s = sub("https://p.example.net/x");
        s.services = vec!["bad id!".into()];
        assert_eq!(field(s).as_deref(), Some("services"));
    }

    #[test]
    fn a_subscription_follows_its_services_or_all() {
        let mut s = sub("https://p.example.net/x");
        assert!(s.follows("db"));
        s.services = vec!["api".into()];
        assert!(s.follows("api") && !s.follows("db"));
        assert_eq!(id_for("https://a"), id_for("https://a"));
        assert_ne!(id_for("https://a"), id_for("https://b"));
    }
}
