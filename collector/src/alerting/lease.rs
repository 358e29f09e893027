//! Which collector evaluates alerts when several share a store: the one
//! holding the lease, a document every collector reads and the holder
//! renews each round. A collector takes an expired lease by writing it,
//! and leads only from the next round on, if the lease still names it
//! then: two that wrote at once both read the same winner, so they never
//! lead together. A holder that dies is replaced once its lease expires.

use serde::{Deserialize, Serialize};

use super::store::{AlertStore, Doc, DocKind, load};
use crate::Result;

const ID: &str = "evaluator";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseDoc {
    pub holder: String,
    pub expires_ms: i64,
}

pub struct Lease {
    pub holder: String,
    ttl_ms: i64,
}

impl Lease {
    /// A lease for this collector (`holder` names it in logs), lasting `ttl_ms`.
    pub fn new(holder: String, ttl_ms: i64) -> Lease {
        Lease { holder, ttl_ms }
    }

    /// The lease as stored; of two written with the same version, the same
    /// one for every reader.
    pub async fn current(store: &dyn AlertStore) -> Result<Option<LeaseDoc>> {
        let all: Vec<LeaseDoc> = load(store, DocKind::Lease).await?;
        Ok(all.into_iter().max_by(|a, b| {
            a.expires_ms
                .cmp(&b.expires_ms)
                .then_with(|| b.holder.cmp(&a.holder))
        }))
    }

    /// One round: renews the lease if this collector holds it or it has
    /// expired; whether this collector leads this round (it held the lease
    /// already when the round began).
    pub async fn round(&self, store: &dyn AlertStore, now_ms: i64) -> Result<bool> {
        let current = Lease::current(store).await?;
        let held = current.as_ref().is_some_and(|l| l.holder == self.holder);
        let free = current.as_ref().is_none_or(|l| l.expires_ms <= now_ms);
        if held || free {
            let doc = LeaseDoc {
                holder: self.holder.clone(),
                expires_ms: now_ms + self.ttl_ms,
            };
            store
                .put_alert_docs(vec![Doc::of(DocKind::Lease, ID, &doc)])
                .await?;
        }
        Ok(held && current.is_none_or(|l| l.expires_ms > now_ms))
    }
}
