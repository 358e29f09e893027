//! Where alerting keeps its state; both stores implement `AlertStore`.
//! Rules, channels, alerts and notifications are JSON documents, one per
//! id (a newer one replaces it; `None` deletes it); delivery attempts are
//! an append-only log.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::model::Attempt;
use crate::{BoxFuture, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    Rule,
    Channel,
    Alert,
    Notification,
    Handling,
    Lease,
    Silence,
    /// A metric rule's verdict on a service (`model::Verdict`).
    Verdict,
    /// When a scheduled SLA report was last sent (`insights::sla::scheduled`).
    ReportRun,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Rule => "rule",
            DocKind::Channel => "channel",
            DocKind::Alert => "alert",
            DocKind::Notification => "notification",
            DocKind::Handling => "handling",
            DocKind::Lease => "lease",
            DocKind::Silence => "silence",
            DocKind::Verdict => "verdict",
            DocKind::ReportRun => "report_run",
        }
    }
}

/// One document to store; `body: None` deletes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub kind: DocKind,
    pub id: String,
    pub body: Option<String>,
}

impl Doc {
    pub fn of<T: Serialize>(kind: DocKind, id: &str, value: &T) -> Doc {
        Doc {
            kind,
            id: id.to_string(),
            body: Some(serde_json::to_string(value).expect("alerting documents serialize")),
        }
    }

    pub fn deleted(kind: DocKind, id: &str) -> Doc {
        Doc {
            kind,
            id: id.to_string(),
            body: None,
        }
    }
}

pub trait AlertStore: Send + Sync + 'static {
    /// The bodies of every document of `kind`.
    fn alert_docs(&self, kind: DocKind) -> BoxFuture<'_, Result<Vec<String>>>;
    /// Stores `docs` in order, each replacing the one of its kind and id.
    fn put_alert_docs(&self, docs: Vec<Doc>) -> BoxFuture<'static, Result<()>>;
    fn add_attempt(&self, attempt: Attempt) -> BoxFuture<'static, Result<()>>;
    /// Attempts, newest first: of one notification, or of all; at most `limit`.
    fn attempts(
        &self,
        notification_id: Option<String>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Attempt>>>;
}

/// Every document of `kind`, read as `T`.
pub async fn load<T: DeserializeOwned>(store: &dyn AlertStore, kind: DocKind) -> Result<Vec<T>> {
    store
        .alert_docs(kind)
        .await?
        .iter()
        .map(|body| {
            serde_json::from_str(body).map_err(|e| {
                Error::internal(format!(
                    "a stored alerting {} does not read: {e}",
                    kind.as_str()
                ))
            })
        })
        .collect()
}
