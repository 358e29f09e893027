//! Web Push on ClickHouse: every change of a subscription is a row with a
//! higher version (a deletion too, marked); reads keep the newest row per
//! subscription. VAPID keys are only ever added.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::ClickHouseStore;
use crate::push::{PushStore, PushSubscription, StoredKey};
use crate::{BoxFuture, Error, Result};

#[derive(Debug, Row, Serialize, Deserialize)]
struct SubscriptionRow {
    subscription_id: String,
    owner: String,
    body: String,
    deleted: u8,
    version: u64,
}

#[derive(Debug, Row, Serialize, Deserialize)]
struct KeyRow {
    pkcs8: String,
    created_ms: i64,
}

impl PushStore for ClickHouseStore {
    fn push_subscriptions(&self) -> BoxFuture<'_, Result<Vec<PushSubscription>>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT ?fields FROM {t} WHERE (subscription_id, version) IN \
                 (SELECT subscription_id, max(version) FROM {t} GROUP BY subscription_id) \
                 ORDER BY subscription_id",
                t = self.ch.t("push_subscriptions")
            );
            let rows: Vec<SubscriptionRow> = self
                .ch
                .call("push subscriptions", self.ch.client.query(&sql).fetch_all())
                .await?;
            rows.iter()
                .filter(|r| r.deleted == 0)
                .map(|r| {
                    serde_json::from_str(&r.body).map_err(|e| {
                        Error::internal(format!("push subscription {}: {e}", r.subscription_id))
                    })
                })
                .collect()
        })
    }

    fn put_push_subscription(&self, sub: PushSubscription) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        // The version is taken now, so changes apply in call order.
        let row = SubscriptionRow {
            subscription_id: sub.subscription_id.clone(),
            owner: sub.owner.clone(),
            body: serde_json::to_string(&sub).expect("subscriptions serialize"),
            deleted: 0,
            version: self.versions.next(),
        };
        Box::pin(async move { ch.insert("push_subscriptions", &[row]).await })
    }

    fn delete_push_subscription(&self, id: String) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        let row = SubscriptionRow {
            subscription_id: id,
            owner: String::new(),
            body: String::new(),
            deleted: 1,
            version: self.versions.next(),
        };
        Box::pin(async move { ch.insert("push_subscriptions", &[row]).await })
    }

    fn vapid_keys(&self) -> BoxFuture<'_, Result<Vec<StoredKey>>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT ?fields FROM {} ORDER BY created_ms",
                self.ch.t("vapid_keys")
            );
            let rows: Vec<KeyRow> = self
                .ch
                .call("VAPID keys", self.ch.client.query(&sql).fetch_all())
                .await?;
            Ok(rows
                .into_iter()
                .map(|r| StoredKey {
                    pkcs8: r.pkcs8,
                    created_ms: r.created_ms,
                })
                .collect())
        })
    }

    fn add_vapid_key(&self, key: StoredKey) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        let row = KeyRow {
            pkcs8: key.pkcs8,
            created_ms: key.created_ms,
        };
        Box::pin(async move { ch.insert("vapid_keys", &[row]).await })
    }
}
