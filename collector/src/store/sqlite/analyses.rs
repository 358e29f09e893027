//! AI analyses on SQLite: one row per analysis, the analysis as JSON.

use rusqlite::params;

use super::SqliteStore;
use super::writer::WriteOp;
use crate::insights::ai::record::{Analysis, AnalysisStore, from_stored};
use crate::{BoxFuture, Result};

impl AnalysisStore for SqliteStore {
    fn put_analysis(&self, a: Analysis) -> BoxFuture<'static, Result<()>> {
        let apply = Box::new(move |tx: &rusqlite::Transaction<'_>| {
            let body = serde_json::to_string(&a).expect("analyses serialize");
            tx.prepare_cached(
                "INSERT OR REPLACE INTO analyses
                 (analysis_id, service_id, created_ms, incident_ms, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                a.analysis_id,
                a.service_id,
                a.created_ms,
                a.incident_ms.unwrap_or(0),
                body
            ])?;
            Ok(())
        });
        self.submit(move |reply| WriteOp::Apply { apply, reply })
    }

    fn analyses(&self, service_id: String, limit: u32) -> BoxFuture<'_, Result<Vec<Analysis>>> {
        self.read(move |c| {
            let rows = c
                .prepare_cached(
                    "SELECT body, created_ms, incident_ms FROM analyses WHERE service_id = ?1
                     ORDER BY created_ms DESC, analysis_id DESC LIMIT ?2",
                )?
                .query_map(params![service_id, limit], |r| {
                    Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.iter()
                .map(|(body, created, incident)| from_stored(body, *created, *incident))
                .collect()
        })
    }
}
