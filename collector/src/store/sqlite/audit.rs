//! The audit log in SQLite: one row per entry, the changes as JSON.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::Result;
use crate::audit::{AuditEntry, AuditPage, AuditQuery, AuditRecord};

pub(super) fn insert(tx: &Transaction<'_>, e: &AuditEntry) -> Result<i64> {
    let changes = serde_json::to_string(&e.changes).unwrap_or_default();
    tx.prepare_cached(
        "INSERT INTO audit_log (ts, actor, ip, action, objects, changes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![e.at_ms, e.actor, e.ip, e.action, e.objects(), changes])?;
    Ok(tx.last_insert_rowid())
}

const COLUMNS: &str = "id, ts, actor, ip, action, changes";

fn record(r: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    let changes: String = r.get(5)?;
    Ok(AuditRecord {
        id: r.get(0)?,
        entry: AuditEntry {
            at_ms: r.get(1)?,
            actor: r.get(2)?,
            ip: r.get(3)?,
            action: r.get(4)?,
            changes: serde_json::from_str(&changes).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, e.into())
            })?,
        },
    })
}

pub(super) fn page(c: &Connection, q: &AuditQuery) -> Result<AuditPage> {
    // Every filter is a parameter; an absent one matches everything.
    let filter =
        "(?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR instr(objects, ',' || ?2 || ',') > 0)
        AND (?3 IS NULL OR action = ?3) AND (?4 IS NULL OR ts >= ?4) AND (?5 IS NULL OR ts <= ?5)";
    let args = params![
        q.actor, q.object, q.action, q.from_ms, q.to_ms, q.limit, q.offset
    ];
    let total: i64 = c
        .prepare_cached(&format!("SELECT count(*) FROM audit_log WHERE {filter}"))?
        .query_row(&args[..5], |r| r.get(0))?;
    let records = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE {filter} ORDER BY id DESC LIMIT ?6 OFFSET ?7"
        ))?
        .query_map(args, record)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AuditPage {
        records,
        total: total as u64,
    })
}

pub(super) fn one(c: &Connection, id: i64) -> Result<Option<AuditRecord>> {
    Ok(
        c.prepare_cached(&format!("SELECT {COLUMNS} FROM audit_log WHERE id = ?1"))?
            .query_row(params![id], record)
            .optional()?,
    )
}
