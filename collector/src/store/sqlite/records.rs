//! The small record kinds on SQLite: alerting documents and delivery
//! attempts, API token records, the audit log.

use super::writer::WriteOp;
use super::{SqliteStore, alerting, audit, tokens};
use crate::alerting::model::Attempt;
use crate::alerting::store::{AlertStore, Doc, DocKind};
use crate::audit::{AuditEntry, AuditPage, AuditQuery, AuditRecord, AuditStore};
use crate::auth::token::{TokenRecord, TokenStore};
use crate::{BoxFuture, Result};

impl AlertStore for SqliteStore {
    fn alert_docs(&self, kind: DocKind) -> BoxFuture<'_, Result<Vec<String>>> {
        self.read(move |c| alerting::read(c, kind))
    }

    fn put_alert_docs(&self, docs: Vec<Doc>) -> BoxFuture<'static, Result<()>> {
        let apply = Box::new(move |tx: &rusqlite::Transaction<'_>| alerting::put(tx, &docs));
        self.submit(move |reply| WriteOp::Apply { apply, reply })
    }

    fn add_attempt(&self, attempt: Attempt) -> BoxFuture<'static, Result<()>> {
        let apply =
            Box::new(move |tx: &rusqlite::Transaction<'_>| alerting::add_attempt(tx, &attempt));
        self.submit(move |reply| WriteOp::Apply { apply, reply })
    }

    fn attempts(
        &self,
        notification_id: Option<String>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Attempt>>> {
        self.read(move |c| alerting::attempts(c, notification_id.as_deref(), limit))
    }
}

impl TokenStore for SqliteStore {
    fn tokens(&self) -> BoxFuture<'_, Result<Vec<TokenRecord>>> {
        self.read(tokens::read)
    }

    fn put_token(&self, record: TokenRecord) -> BoxFuture<'static, Result<()>> {
        let apply = Box::new(move |tx: &rusqlite::Transaction<'_>| tokens::put(tx, &record));
        self.submit(move |reply| WriteOp::Apply { apply, reply })
    }
}

impl AuditStore for SqliteStore {
    fn record_audit(&self, entry: AuditEntry) -> BoxFuture<'static, Result<i64>> {
        self.submit(move |reply| WriteOp::Audited {
            changes: Vec::new(),
            entry,
            reply,
        })
    }

    fn audit(&self, query: AuditQuery) -> BoxFuture<'_, Result<AuditPage>> {
        self.read(move |c| audit::page(c, &query))
    }

    fn audit_record(&self, id: i64) -> BoxFuture<'_, Result<Option<AuditRecord>>> {
        self.read(move |c| audit::one(c, id))
    }
}
