//! AI analyses on ClickHouse: one row per analysis, the analysis as JSON;
//! written once, never changed.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::ClickHouseStore;
use super::query::Ch;
use crate::insights::ai::record::{Analysis, AnalysisStore, from_stored};
use crate::{BoxFuture, Result};

#[derive(Debug, Row, Serialize, Deserialize)]
struct AnalysisRow {
    analysis_id: String,
    service_id: String,
    created_ms: i64,
    incident_ms: i64,
    body: String,
}

impl AnalysisStore for ClickHouseStore {
    fn put_analysis(&self, a: Analysis) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        let row = AnalysisRow {
            analysis_id: a.analysis_id.clone(),
            service_id: a.service_id.clone(),
            created_ms: a.created_ms,
            incident_ms: a.incident_ms.unwrap_or(0),
            body: serde_json::to_string(&a).expect("analyses serialize"),
        };
        Box::pin(async move { ch.insert("analyses", &[row]).await })
    }

    fn analyses(&self, service_id: String, limit: u32) -> BoxFuture<'_, Result<Vec<Analysis>>> {
        Box::pin(read(&self.ch, service_id, limit))
    }
}

async fn read(ch: &Ch, service_id: String, limit: u32) -> Result<Vec<Analysis>> {
    let sql = format!(
        "SELECT ?fields FROM {} WHERE service_id = ?
         ORDER BY created_ms DESC, analysis_id DESC LIMIT ?",
        ch.t("analyses")
    );
    let rows: Vec<AnalysisRow> = ch
        .call(
            "analyses",
            ch.client
                .query(&sql)
                .bind(&service_id)
                .bind(limit)
                .fetch_all(),
        )
        .await?;
    rows.iter()
        .map(|r| from_stored(&r.body, r.created_ms, r.incident_ms))
        .collect()
}
