//! Stored anomalies on ClickHouse: every write is a row with a higher
//! version (a cleared one marked); reads keep the newest row per service,
//! metric and hour. Agents' spool samples: one row each.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::ClickHouseStore;
use super::query::Ch;
use crate::insights::anomaly::stored::{AnomalyQuery, AnomalyStore, StoredAnomaly};
use crate::insights::anomaly::{Anomaly, Metric};
use crate::insights::capacity::spool::{SpoolSample, SpoolSampleStore};
use crate::{BoxFuture, Result};

#[derive(Debug, Row, Serialize, Deserialize)]
struct AnomalyRow {
    service_id: String,
    metric: String,
    start_ms: i64,
    value: f64,
    expected: f64,
    score: f64,
    detected_ms: i64,
    cleared: u8,
    version: u64,
}

impl AnomalyStore for ClickHouseStore {
    fn put_anomalies(&self, found: Vec<StoredAnomaly>) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        // Versions are taken now, so writes apply in call order.
        let rows: Vec<AnomalyRow> = found
            .into_iter()
            .map(|f| AnomalyRow {
                service_id: f.service_id,
                metric: f.anomaly.metric.name().into(),
                start_ms: f.anomaly.start_ms,
                value: f.anomaly.value,
                expected: f.anomaly.expected,
                score: f.anomaly.score,
                detected_ms: f.detected_ms,
                cleared: u8::from(f.cleared),
                version: self.versions.next(),
            })
            .collect();
        Box::pin(async move {
            if rows.is_empty() {
                return Ok(());
            }
            ch.insert("anomalies", &rows).await
        })
    }

    fn anomalies(&self, q: AnomalyQuery) -> BoxFuture<'_, Result<Vec<StoredAnomaly>>> {
        Box::pin(read(&self.ch, q))
    }
}

async fn read(ch: &Ch, q: AnomalyQuery) -> Result<Vec<StoredAnomaly>> {
    let only = if q.service_id.is_some() {
        "AND service_id = ?"
    } else {
        ""
    };
    let sql = format!(
        // Aliases differ from the columns: an alias named like a column
        // would stand for it inside the other aggregates.
        "SELECT service_id, metric, start_ms, argMax(value, version) AS v,
                argMax(expected, version) AS e, argMax(score, version) AS sc,
                argMax(detected_ms, version) AS d, argMax(cleared, version) AS c,
                max(version) AS ver
         FROM {} WHERE start_ms >= ? AND start_ms < ? {only}
         GROUP BY service_id, metric, start_ms HAVING c = 0
         ORDER BY start_ms DESC, sc DESC, service_id, metric LIMIT ?",
        ch.t("anomalies")
    );
    let mut query = ch.client.query(&sql).bind(q.from_ms).bind(q.to_ms);
    if let Some(id) = &q.service_id {
        query = query.bind(id);
    }
    let rows: Vec<AnomalyRow> = ch
        .call("anomalies", query.bind(q.limit).fetch_all())
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(StoredAnomaly {
                anomaly: Anomaly {
                    metric: Metric::parse(&r.metric)?,
                    start_ms: r.start_ms,
                    value: r.value,
                    expected: r.expected,
                    score: r.score,
                },
                service_id: r.service_id,
                detected_ms: r.detected_ms,
                cleared: false,
            })
        })
        .collect())
}

#[derive(Debug, Row, Serialize, Deserialize)]
struct SpoolRow {
    agent_id: String,
    ts: i64,
    bytes: u64,
    max_bytes: u64,
}

impl SpoolSampleStore for ClickHouseStore {
    fn put_spool_sample(&self, agent_id: String, x: SpoolSample) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        let row = SpoolRow {
            agent_id,
            ts: x.ts_ms,
            bytes: x.bytes,
            max_bytes: x.max_bytes,
        };
        Box::pin(async move { ch.insert("spool_samples", &[row]).await })
    }

    fn spool_samples(
        &self,
        agent_id: String,
        from_ms: i64,
        to_ms: i64,
    ) -> BoxFuture<'_, Result<Vec<SpoolSample>>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT ?fields FROM {} WHERE agent_id = ? AND ts >= ? AND ts <= ? ORDER BY ts",
                self.ch.t("spool_samples")
            );
            let q = self
                .ch
                .client
                .query(&sql)
                .bind(&agent_id)
                .bind(from_ms)
                .bind(to_ms);
            let rows: Vec<SpoolRow> = self.ch.call("spool samples", q.fetch_all()).await?;
            Ok(rows
                .into_iter()
                .map(|r| SpoolSample {
                    ts_ms: r.ts,
                    bytes: r.bytes,
                    max_bytes: r.max_bytes,
                })
                .collect())
        })
    }
}
