//! The `spool_gaps` table: rows in, one service's rows out (a row stored
//! twice is read once).

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::query::Ch;
use crate::Result;
use crate::store::DroppedResults;

#[derive(Debug, Row, Serialize, Deserialize)]
pub(super) struct GapRow {
    pub service_id: String,
    pub agent_id: String,
    pub first_seq: u64,
    pub last_seq: u64,
    pub dropped: u64,
    pub from_ts: i64,
    pub ts: i64,
}

impl From<DroppedResults> for GapRow {
    fn from(g: DroppedResults) -> GapRow {
        GapRow {
            service_id: g.service_id,
            agent_id: g.agent_id,
            first_seq: g.first_seq,
            last_seq: g.last_seq,
            dropped: g.dropped,
            from_ts: g.from_ms,
            ts: g.to_ms,
        }
    }
}

/// One service's dropped results overlapping a time range.
pub(super) async fn gaps(
    ch: &Ch,
    service_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<DroppedResults>> {
    let rows: Vec<GapRow> = ch
        .call(
            "spool gaps",
            ch.client
                .query(&format!(
                    "SELECT service_id, agent_id, first_seq, any(last_seq), any(dropped), any(from_ts), any(ts)
                     FROM {} WHERE service_id = ? AND ts >= ? AND from_ts <= ?
                     GROUP BY service_id, agent_id, first_seq",
                    ch.t("spool_gaps")
                ))
                .bind(service_id)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| DroppedResults {
            agent_id: r.agent_id,
            service_id: r.service_id,
            first_seq: r.first_seq,
            last_seq: r.last_seq,
            dropped: r.dropped,
            from_ms: r.from_ts,
            to_ms: r.ts,
        })
        .collect())
}
