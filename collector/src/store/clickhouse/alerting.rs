//! Alerting on ClickHouse: documents as rows with a version (newest per
//! kind and id wins; a deleted one is a row with `deleted = 1`), delivery
//! attempts as a plain log.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::query::Ch;
use crate::Result;
use crate::alerting::model::Attempt;
use crate::alerting::store::{Doc, DocKind};

#[derive(Debug, Row, Serialize, Deserialize)]
struct DocRow {
    kind: String,
    id: String,
    body: String,
    deleted: u8,
    version: u64,
}

#[derive(Debug, Row, Serialize, Deserialize)]
struct AttemptRow {
    notification_id: String,
    at: i64,
    attempt: u32,
    ok: u8,
    /// 0: no answer.
    code: u16,
    detail: String,
}

pub(super) async fn put(ch: &Ch, docs: &[Doc], versions: &[u64]) -> Result<()> {
    let rows: Vec<DocRow> = docs
        .iter()
        .zip(versions)
        .map(|(d, v)| DocRow {
            kind: d.kind.as_str().to_string(),
            id: d.id.clone(),
            body: d.body.clone().unwrap_or_default(),
            deleted: u8::from(d.body.is_none()),
            version: *v,
        })
        .collect();
    ch.insert("alerting", &rows).await
}

pub(super) async fn read(ch: &Ch, kind: DocKind) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT ?fields FROM {t} WHERE kind = ? AND (id, version) IN
            (SELECT id, max(version) FROM {t} WHERE kind = ? GROUP BY id)
         ORDER BY id",
        t = ch.t("alerting")
    );
    let rows: Vec<DocRow> = ch
        .call(
            "alerting documents",
            ch.client
                .query(&sql)
                .bind(kind.as_str())
                .bind(kind.as_str())
                .fetch_all(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.deleted == 0)
        .map(|r| r.body)
        .collect())
}

pub(super) async fn add_attempt(ch: &Ch, a: &Attempt) -> Result<()> {
    let row = AttemptRow {
        notification_id: a.notification_id.clone(),
        at: a.at_ms,
        attempt: a.attempt,
        ok: u8::from(a.ok),
        code: a.code.unwrap_or(0),
        detail: a.detail.clone(),
    };
    ch.insert("alert_attempts", &[row]).await
}

pub(super) async fn attempts(
    ch: &Ch,
    notification: Option<&str>,
    limit: usize,
) -> Result<Vec<Attempt>> {
    let sql = format!(
        "SELECT ?fields FROM {} WHERE (? = '' OR notification_id = ?) ORDER BY at DESC, attempt DESC LIMIT ?",
        ch.t("alert_attempts")
    );
    let id = notification.unwrap_or_default();
    let rows: Vec<AttemptRow> = ch
        .call(
            "alert attempts",
            ch.client
                .query(&sql)
                .bind(id)
                .bind(id)
                .bind(limit as u64)
                .fetch_all(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Attempt {
            notification_id: r.notification_id,
            at_ms: r.at,
            attempt: r.attempt,
            ok: r.ok != 0,
            code: (r.code != 0).then_some(r.code),
            detail: r.detail,
        })
        .collect())
}
