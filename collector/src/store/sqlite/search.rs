//! Evidence search on SQLite: the `results_fts` trigram index finds the
//! results whose message or details hold every word; each word is quoted,
//! so nothing in a query is read as FTS5 syntax.

use rusqlite::{Connection, params};

use super::SqliteStore;
use crate::search::{Found, SearchQuery, SearchStore};
use crate::store::status_of;
use crate::{BoxFuture, Result};

impl SearchStore for SqliteStore {
    fn search(&self, query: SearchQuery) -> BoxFuture<'_, Result<Vec<Found>>> {
        self.read(move |c| search(c, &query))
    }
}

fn search(c: &Connection, q: &SearchQuery) -> Result<Vec<Found>> {
    let words: Vec<String> = q
        .terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect();
    let rows = c
        .prepare_cached(
            "SELECT r.service_id, r.agent_id, r.seq, r.ts, r.status, r.message, coalesce(r.details, '')
             FROM results_fts f JOIN results r ON r.agent_id = f.agent_id AND r.seq = f.seq
             WHERE results_fts MATCH ?1 AND f.ts >= ?2 AND f.ts <= ?3
               AND (?4 IS NULL OR f.service_id = ?4)
             ORDER BY f.ts DESC, f.seq DESC LIMIT ?5",
        )?
        .query_map(
            params![words.join(" "), q.from_ms, q.to_ms, q.service_id, q.limit],
            |r| {
                Ok(Found {
                    service_id: r.get(0)?,
                    agent_id: r.get(1)?,
                    seq: r.get::<_, i64>(2)? as u64,
                    ts_ms: r.get(3)?,
                    status: status_of(r.get(4)?),
                    message: r.get(5)?,
                    details: r.get(6)?,
                })
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
