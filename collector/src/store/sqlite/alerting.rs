//! Alerting in SQLite: one row per document, delivery attempts as a log.

use rusqlite::{Connection, Transaction, params};

use crate::Result;
use crate::alerting::model::Attempt;
use crate::alerting::store::{Doc, DocKind};

pub(super) fn put(tx: &Transaction<'_>, docs: &[Doc]) -> Result<()> {
    for d in docs {
        match &d.body {
            Some(body) => tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO alerting (kind, id, body) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![d.kind.as_str(), d.id, body])?,
            None => tx
                .prepare_cached("DELETE FROM alerting WHERE kind = ?1 AND id = ?2")?
                .execute(params![d.kind.as_str(), d.id])?,
        };
    }
    Ok(())
}

pub(super) fn read(c: &Connection, kind: DocKind) -> Result<Vec<String>> {
    let mut stmt = c.prepare_cached("SELECT body FROM alerting WHERE kind = ?1 ORDER BY id")?;
    let rows = stmt.query_map([kind.as_str()], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<String>, _>>()?)
}

pub(super) fn add_attempt(tx: &Transaction<'_>, a: &Attempt) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO alert_attempts (notification_id, at, attempt, ok, code, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        a.notification_id,
        a.at_ms,
        a.attempt,
        a.ok,
        a.code,
        a.detail
    ])?;
    Ok(())
}

pub(super) fn attempts(
    c: &Connection,
    notification: Option<&str>,
    limit: usize,
) -> Result<Vec<Attempt>> {
    let mut stmt = c.prepare_cached(
        "SELECT notification_id, at, attempt, ok, code, detail FROM alert_attempts
         WHERE ?1 IS NULL OR notification_id = ?1 ORDER BY at DESC, attempt DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![notification, limit as i64], |r| {
        Ok(Attempt {
            notification_id: r.get(0)?,
            at_ms: r.get(1)?,
            attempt: r.get(2)?,
            ok: r.get(3)?,
            code: r.get(4)?,
            detail: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
