//! Web Push on SQLite: a row per subscription (as JSON), and the VAPID key.

use rusqlite::params;

use super::SqliteStore;
use super::writer::WriteOp;
use crate::push::{PushStore, PushSubscription, StoredKey};
use crate::{BoxFuture, Error, Result};

impl PushStore for SqliteStore {
    fn push_subscriptions(&self) -> BoxFuture<'_, Result<Vec<PushSubscription>>> {
        self.read(|c| {
            let bodies = c
                .prepare_cached("SELECT body FROM push_subscriptions ORDER BY subscription_id")?
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            bodies
                .iter()
                .map(|b| {
                    serde_json::from_str(b)
                        .map_err(|e| Error::internal(format!("push subscription: {e}")))
                })
                .collect()
        })
    }

    fn put_push_subscription(&self, sub: PushSubscription) -> BoxFuture<'static, Result<()>> {
        let apply = Box::new(move |tx: &rusqlite::Transaction<'_>| {
            let body = serde_json::to_string(&sub).expect("subscriptions serialize");
            tx.prepare_cached(
                "INSERT OR REPLACE INTO push_subscriptions (subscription_id, owner, body) \
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![sub.subscription_id, sub.owner, body])?;
            Ok(())
        });
        self.submit(move |reply| WriteOp::Apply { apply, reply })
    }

    fn delete_push_subscription(&self, id: String) -> BoxFuture<'static, Result<()>> {
        let apply = Box::new(move |tx: &rusqlite::Transaction<'_>| {
            tx.execute(
                "DELETE FROM push_subscriptions WHERE subscription_id = ?1",
                params![id],
            )?;
            Ok(())
        });
        self.submit(move |reply| WriteOp::Apply { apply, reply })
    }

    fn vapid_keys(&self) -> BoxFuture<'_, Result<Vec<StoredKey>>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT pkcs8, created_ms FROM vapid_keys")?
                    .query_map([], |r| {
                        Ok(StoredKey {
                            pkcs8: r.get(0)?,
                            created_ms: r.get(1)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            )
        })
    }

    fn add_vapid_key(&self, key: StoredKey) -> BoxFuture<'static, Result<()>> {
        let apply = Box::new(move |tx: &rusqlite::Transaction<'_>| {
            tx.execute(
                "INSERT OR IGNORE INTO vapid_keys (pkcs8, created_ms) VALUES (?1, ?2)",
                params![key.pkcs8, key.created_ms],
            )?;
            Ok(())
        });
        self.submit(move |reply| WriteOp::Apply { apply, reply })
    }
}
