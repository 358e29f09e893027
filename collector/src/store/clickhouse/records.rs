//! The small record kinds on ClickHouse: the audit log, alerting documents
//! and delivery attempts, API token records.

use super::{ClickHouseStore, alerting, audit, tokens};
use crate::alerting::model::Attempt;
use crate::alerting::store::{AlertStore, Doc, DocKind};
use crate::audit::{AuditEntry, AuditPage, AuditQuery, AuditRecord, AuditStore};
use crate::auth::token::{TokenRecord, TokenStore};
use crate::{BoxFuture, Result};

impl AuditStore for ClickHouseStore {
    fn record_audit(&self, entry: AuditEntry) -> BoxFuture<'static, Result<i64>> {
        let ch = self.ch.clone();
        let id = self.audit_id();
        Box::pin(async move { audit::insert(&ch, id, &entry).await.map(|()| id) })
    }

    fn audit(&self, query: AuditQuery) -> BoxFuture<'_, Result<AuditPage>> {
        Box::pin(async move { audit::page(&self.ch, &query).await })
    }

    fn audit_record(&self, id: i64) -> BoxFuture<'_, Result<Option<AuditRecord>>> {
        Box::pin(audit::one(&self.ch, id))
    }
}

impl AlertStore for ClickHouseStore {
    fn alert_docs(&self, kind: DocKind) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(alerting::read(&self.ch, kind))
    }

    fn put_alert_docs(&self, docs: Vec<Doc>) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        // Versions are taken now, so puts apply in call order.
        let versions: Vec<u64> = docs.iter().map(|_| self.versions.next()).collect();
        Box::pin(async move { alerting::put(&ch, &docs, &versions).await })
    }

    fn add_attempt(&self, attempt: Attempt) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        Box::pin(async move { alerting::add_attempt(&ch, &attempt).await })
    }

    fn attempts(
        &self,
        notification_id: Option<String>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Attempt>>> {
        Box::pin(
            async move { alerting::attempts(&self.ch, notification_id.as_deref(), limit).await },
        )
    }
}

impl TokenStore for ClickHouseStore {
    fn tokens(&self) -> BoxFuture<'_, Result<Vec<TokenRecord>>> {
        Box::pin(tokens::read(&self.ch))
    }

    fn put_token(&self, record: TokenRecord) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        // The version is taken now, so puts apply in call order.
        let version = self.versions.next();
        Box::pin(async move { tokens::put(&ch, version, &record).await })
    }
}
