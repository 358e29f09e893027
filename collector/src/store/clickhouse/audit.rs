//! The audit log on ClickHouse: one row per entry, the changes as JSON;
//! ids grow with time and carry a tag per collector, so collectors sharing
//! the database do not collide.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::query::Ch;
use crate::audit::{AuditEntry, AuditPage, AuditQuery, AuditRecord};
use crate::{Error, Result};

#[derive(Debug, Row, Serialize, Deserialize)]
struct AuditRow {
    id: i64,
    ts: i64,
    actor: String,
    /// Empty: not a request.
    ip: String,
    action: String,
    objects: String,
    changes: String,
}

pub(super) async fn insert(ch: &Ch, id: i64, e: &AuditEntry) -> Result<()> {
    let row = AuditRow {
        id,
        ts: e.at_ms,
        actor: e.actor.clone(),
        ip: e.ip.clone().unwrap_or_default(),
        action: e.action.clone(),
        objects: e.objects(),
        changes: serde_json::to_string(&e.changes).unwrap_or_default(),
    };
    ch.insert("audit_log", &[row]).await
}

fn record(r: AuditRow) -> Result<AuditRecord> {
    let changes = serde_json::from_str(&r.changes)
        .map_err(|e| Error::internal(format!("audit entry {}: changes: {e}", r.id)))?;
    Ok(AuditRecord {
        id: r.id,
        entry: AuditEntry {
            at_ms: r.ts,
            actor: r.actor,
            ip: (!r.ip.is_empty()).then_some(r.ip),
            action: r.action,
            changes,
        },
    })
}

pub(super) async fn page(ch: &Ch, q: &AuditQuery) -> Result<AuditPage> {
    // Every filter is bound; an empty one matches everything.
    let filter = "(? = '' OR actor = ?) AND (? = '' OR position(objects, concat(',', ?, ',')) > 0)
        AND (? = '' OR action = ?) AND ts >= ? AND ts <= ?";
    let bind = |query: clickhouse::query::Query| {
        let actor = q.actor.clone().unwrap_or_default();
        let object = q.object.clone().unwrap_or_default();
        let action = q.action.clone().unwrap_or_default();
        query
            .bind(actor.clone())
            .bind(actor)
            .bind(object.clone())
            .bind(object)
            .bind(action.clone())
            .bind(action)
            .bind(q.from_ms.unwrap_or(i64::MIN))
            .bind(q.to_ms.unwrap_or(i64::MAX))
    };
    let t = ch.t("audit_log");
    let total: u64 = ch
        .call(
            "audit count",
            bind(
                ch.client
                    .query(&format!("SELECT count() FROM {t} WHERE {filter}")),
            )
            .fetch_one(),
        )
        .await?;
    let rows: Vec<AuditRow> = ch
        .call(
            "audit",
            bind(ch.client.query(&format!(
                "SELECT ?fields FROM {t} WHERE {filter} ORDER BY id DESC LIMIT ? OFFSET ?"
            )))
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(),
        )
        .await?;
    Ok(AuditPage {
        records: rows.into_iter().map(record).collect::<Result<_>>()?,
        total,
    })
}

pub(super) async fn one(ch: &Ch, id: i64) -> Result<Option<AuditRecord>> {
    let sql = format!("SELECT ?fields FROM {} WHERE id = ?", ch.t("audit_log"));
    let rows: Vec<AuditRow> = ch
        .call("audit entry", ch.client.query(&sql).bind(id).fetch_all())
        .await?;
    rows.into_iter().next().map(record).transpose()
}
