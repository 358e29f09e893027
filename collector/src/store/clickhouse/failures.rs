//! Failing results of a range on ClickHouse, newest first: a scan of the
//! range's days for the failing statuses (every value bound).

use clickhouse::Row;
use serde::Deserialize;

use super::ClickHouseStore;
use super::query::Ch;
use crate::insights::patterns::{FAILING, FailureLine, FailureQuery, FailureStore};
use crate::store::status_of;
use crate::{BoxFuture, Result};

#[derive(Debug, Row, Deserialize)]
struct Failing {
    service_id: String,
    ts: i64,
    status: u8,
    message: String,
}

impl FailureStore for ClickHouseStore {
    fn failures(&self, query: FailureQuery) -> BoxFuture<'_, Result<Vec<FailureLine>>> {
        Box::pin(failures(&self.ch, query))
    }
}

async fn failures(ch: &Ch, q: FailureQuery) -> Result<Vec<FailureLine>> {
    let sql = format!(
        "SELECT service_id, ts, status, message FROM {}
         WHERE status IN (?, ?, ?) AND ts >= ? AND ts <= ? AND (? = '' OR service_id = ?)
         ORDER BY ts DESC LIMIT ?",
        ch.t("results")
    );
    let service = q.service_id.unwrap_or_default();
    let rows: Vec<Failing> = ch
        .call(
            "failing results",
            ch.client
                .query(&sql)
                .bind(FAILING[0])
                .bind(FAILING[1])
                .bind(FAILING[2])
                .bind(q.from_ms)
                .bind(q.to_ms)
                .bind(&service)
                .bind(&service)
                .bind(q.limit)
                .fetch_all(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| FailureLine {
            service_id: r.service_id,
            ts_ms: r.ts,
            status: status_of(r.status.into()),
            message: r.message,
        })
        .collect())
}
