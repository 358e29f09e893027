//! Evidence search on ClickHouse: a scan of the range for results whose
//! message or details hold every word (`lowerUTF8(…) LIKE '%word%'`, every
//! value bound). Servers with data skipping indexes (20.1+) get an ngram
//! bloom filter on both, which lets the scan skip blocks without a word.

use clickhouse::Row;
use serde::Deserialize;

use super::ClickHouseStore;
use super::query::Ch;
use crate::search::{Found, SearchQuery, SearchStore};
use crate::store::status_of;
use crate::{BoxFuture, Result};

#[derive(Debug, Row, Deserialize)]
struct Hit {
    service_id: String,
    agent_id: String,
    seq: u64,
    ts: i64,
    status: u8,
    message: String,
    details: String,
}

impl SearchStore for ClickHouseStore {
    fn search(&self, query: SearchQuery) -> BoxFuture<'_, Result<Vec<Found>>> {
        Box::pin(search(&self.ch, query))
    }
}

/// `%word%` with LIKE's own characters escaped.
fn pattern(word: &str) -> String {
    let mut out = String::from("%");
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

async fn search(ch: &Ch, q: SearchQuery) -> Result<Vec<Found>> {
    let each = "(lowerUTF8(message) LIKE ? OR lowerUTF8(details) LIKE ?)";
    let words = vec![each; q.terms.len()].join(" AND ");
    let sql = format!(
        "SELECT service_id, agent_id, seq, ts, status, message, details FROM {}
         WHERE ts >= ? AND ts <= ? AND (? = '' OR service_id = ?) AND {words}
         ORDER BY ts DESC, seq DESC LIMIT ?",
        ch.t("results")
    );
    let service = q.service_id.clone().unwrap_or_default();
    let mut query = ch
        .client
        .query(&sql)
        .bind(q.from_ms)
        .bind(q.to_ms)
        .bind(service.clone())
        .bind(service);
    for t in &q.terms {
        query = query.bind(pattern(t)).bind(pattern(t));
    }
    let rows: Vec<Hit> = ch.call("search", query.bind(q.limit).fetch_all()).await?;
    Ok(rows
        .into_iter()
        .map(|h| Found {
            service_id: h.service_id,
            agent_id: h.agent_id,
            seq: h.seq,
            ts_ms: h.ts,
            status: status_of(i64::from(h.status)),
            message: h.message,
            details: h.details,
        })
        .collect())
}

/// Data skipping indexes are production-ready from 20.1.
pub(super) fn has_skip_indexes(version: (u32, u32)) -> bool {
    version >= (20, 1)
}

/// The ngram indexes on the results' text, where the server has them.
pub(super) async fn add_indexes(ch: &Ch, version: (u32, u32)) -> Result<()> {
    if !has_skip_indexes(version) {
        return Ok(());
    }
    let layout = &ch.layout;
    for column in ["message", "details"] {
        let sql = format!(
            "ALTER TABLE {}{} ADD INDEX IF NOT EXISTS search_{column} lowerUTF8({column}) \
             TYPE ngrambf_v1(3, 1024, 2, 0) GRANULARITY 4",
            layout.local("results"),
            layout.on_cluster()
        );
        ch.call("add search index", ch.client.query(&sql).execute())
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_characters_in_a_word_are_literal() {
        assert_eq!(pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
        assert!(!has_skip_indexes((18, 16)));
        assert!(has_skip_indexes((24, 8)));
    }
}
