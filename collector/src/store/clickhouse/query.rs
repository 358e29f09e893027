//! ClickHouse rows and reads. Values are always bound (`?`, escaped by the
//! client); only validated identifiers (database, table) are formatted in.

use std::future::Future;
use std::time::Duration;

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use lightbulb_common::ServiceType;

use super::schema::Layout;
use crate::store::{AgentRecord, HistoryPoint, LatestStatus, StatusEvent, status_of};
use crate::{Error, Result};

/// Longest any one request to ClickHouse may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The client plus the table layout.
#[derive(Clone)]
pub(super) struct Ch {
    pub client: clickhouse::Client,
    pub layout: std::sync::Arc<Layout>,
}

impl Ch {
    /// Awaits a ClickHouse call with the timeout, mapping its error.
    pub async fn call<T>(
        &self,
        what: &str,
        f: impl Future<Output = clickhouse::error::Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(TIMEOUT, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Error::store(true, format!("clickhouse {what}: {e}"), e)),
            Err(_) => Err(Error::unavailable(format!(
                "clickhouse {what}: no answer within {}s",
                TIMEOUT.as_secs()
            ))),
        }
    }

    pub fn t(&self, name: &str) -> String {
        self.layout.table(name)
    }

    /// Inserts rows into a table in one request (RowBinary).
    pub async fn insert<T: clickhouse::RowOwned + clickhouse::RowWrite>(
        &self,
        table: &str,
        rows: &[T],
    ) -> Result<()> {
        self.insert_as(table, rows, None).await
    }

    /// `insert`, under `query_id` when given (so `system.processes` and
    /// `KILL QUERY` can find it).
    pub async fn insert_as<T: clickhouse::RowOwned + clickhouse::RowWrite>(
        &self,
        table: &str,
        rows: &[T],
        query_id: Option<&str>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let name = self.t(table);
        let work = async {
            let mut insert = self
                .client
                .insert_unescaped::<T>(&name)
                .await?
                .with_timeouts(Some(TIMEOUT), Some(TIMEOUT));
            if let Some(id) = query_id {
                insert = insert.with_setting("query_id", id);
            }
            if !self.layout.cluster.is_empty() {
                // Ack only once every shard has the rows, not when they are
                // queued, and every replica of it: a read served by any
                // replica then sees what was acked.
                insert = insert.with_setting("insert_distributed_sync", "1");
                if self.layout.replicas > 1 {
                    insert = insert.with_setting("insert_quorum", self.layout.replicas.to_string());
                }
            }
            for row in rows {
                insert.write(row).await?;
            }
            insert.end().await
        };
        self.call(&format!("insert into {table}"), work).await
    }
}

#[derive(Debug, Row, Serialize, Deserialize)]
pub(super) struct ResultRow {
    pub service_id: String,
    pub ts: i64,
    pub agent_id: String,
    pub seq: u64,
    pub service_type: String,
    pub status: u8,
    pub message: String,
    pub response_time_ms: Option<f64>,
    pub cpu_usage: Option<f64>,
    pub memory_usage: Option<f64>,
    pub metrics: String,
    pub details: String,
}

#[derive(Debug, Clone, Row, Serialize, Deserialize)]
pub(super) struct EventRow {
    pub id: i64,
    pub replica: u64,
    pub service_id: String,
    pub ts: i64,
    pub status: u8,
    pub previous_status: Option<u8>,
    pub message: String,
    pub response_time_ms: Option<f64>,
    pub agent_id: String,
}

impl EventRow {
    pub fn event(&self) -> StatusEvent {
        let status = status_of(self.status.into());
        StatusEvent {
            id: self.id,
            service_id: self.service_id.clone(),
            status_code: status.code(),
            previous_status_code: self.previous_status.map(|p| status_of(p.into()).code()),
            message: self.message.clone(),
            last_check_ms: self.ts,
            response_time_ms: self.response_time_ms,
            agent_id: self.agent_id.clone(),
        }
    }
}

#[derive(Debug, Row, Serialize, Deserialize)]
pub(super) struct AgentRow {
    pub agent_id: String,
    pub hostname: String,
    pub version: String,
    pub labels: String,
    pub local_checks: String,
    pub last_seen: i64,
}

#[derive(Debug, Row, Serialize, Deserialize)]
pub(super) struct RemovedRow {
    pub service_id: String,
    pub ts: i64,
}

/// When each deleted service left the live statuses.
async fn removed(ch: &Ch) -> Result<std::collections::HashMap<String, i64>> {
    let sql = format!(
        "SELECT service_id, max(ts) AS ts FROM {} GROUP BY service_id",
        ch.t("removed_services")
    );
    let rows: Vec<RemovedRow> = ch
        .call("removed services", ch.client.query(&sql).fetch_all())
        .await?;
    Ok(rows.into_iter().map(|r| (r.service_id, r.ts)).collect())
}

#[derive(Debug, Row, Deserialize)]
struct LatestRow {
    service_id: String,
    ts: i64,
    service_type: String,
    status: u8,
    message: String,
    rt: f64,
    cpu: f64,
    mem: f64,
    agent_id: String,
    seq: u64,
}

/// A stored type name; one this version does not know fails the read.
pub(super) fn kind<T>(id: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(text)
        .ok_or_else(|| Error::internal(format!("`{id}` has an unknown type `{text}` in the store")))
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

pub(super) async fn latest(ch: &Ch) -> Result<Vec<LatestStatus>> {
    let sql = format!(
        "SELECT service_id, t, s.1, s.2, s.3, s.4, s.5, s.6, s.7, s.8 FROM (
            SELECT service_id, maxMerge(max_ts) AS t, argMaxMerge(state) AS s
            FROM {} GROUP BY service_id) ORDER BY service_id",
        ch.t("latest")
    );
    let rows: Vec<LatestRow> = ch.call("latest", ch.client.query(&sql).fetch_all()).await?;
    let removed = removed(ch).await?;
    let list = rows
        .into_iter()
        .map(|r| {
            Ok(LatestStatus {
                service_type: kind(&r.service_id, &r.service_type, ServiceType::parse)?,
                service_id: r.service_id,
                status: status_of(r.status.into()),
                message: r.message,
                last_check_ms: r.ts,
                seq: r.seq,
                response_time_ms: finite(r.rt),
                cpu_usage: finite(r.cpu),
                memory_usage: finite(r.mem),
                agent_id: r.agent_id,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(crate::store::without_removed(list, &removed))
}

#[derive(Debug, Row, Deserialize)]
struct HistoryRow {
    ts: i64,
    status: u8,
    message: String,
    response_time_ms: Option<f64>,
    cpu_usage: Option<f64>,
    memory_usage: Option<f64>,
    metrics: String,
    details: String,
    agent_id: String,
    seq: u64,
}

pub(super) async fn history(
    ch: &Ch,
    service_id: &str,
    from_ms: i64,
    to_ms: i64,
    limit: u32,
) -> Result<(u64, Vec<HistoryPoint>)> {
    let total: u64 = ch
        .call(
            "history count",
            ch.client
                .query(&format!(
                    "SELECT count() FROM {} WHERE service_id = ? AND ts BETWEEN ? AND ?",
                    ch.t("results")
                ))
                .bind(service_id)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_one(),
        )
        .await?;
    // Sorting every row in range by all its columns is what makes a long
    // range slow on ClickHouse 18.16, so first find the timestamp of the
    // `limit`-th newest result reading only `ts`, then read whole rows from there.
    let lower: Option<i64> = ch
        .call(
            "history bound",
            ch.client
                .query(&format!(
                    "SELECT ts FROM {} WHERE service_id = ? AND ts BETWEEN ? AND ?
                     ORDER BY ts DESC LIMIT 1 OFFSET ?",
                    ch.t("results")
                ))
                .bind(service_id)
                .bind(from_ms)
                .bind(to_ms)
                .bind(limit.saturating_sub(1))
                .fetch_optional(),
        )
        .await?;
    let from_ms = lower.unwrap_or(from_ms);
    let rows: Vec<HistoryRow> = ch
        .call(
            "history",
            ch.client
                .query(&format!(
                    "SELECT ts, status, message, response_time_ms, cpu_usage, memory_usage, metrics, details, agent_id, seq
                     FROM {} WHERE service_id = ? AND ts BETWEEN ? AND ?
                     ORDER BY ts DESC, agent_id, seq DESC LIMIT ?",
                    ch.t("results")
                ))
                .bind(service_id)
                .bind(from_ms)
                .bind(to_ms)
                .bind(limit)
                .fetch_all(),
        )
        .await?;
    let points = rows
        .into_iter()
        .map(|r| {
            let status = status_of(r.status.into());
            HistoryPoint {
                timestamp_ms: r.ts,
                status,
                message: r.message,
                response_time_ms: r.response_time_ms,
                cpu_usage: r.cpu_usage,
                memory_usage: r.memory_usage,
                metrics: serde_json::from_str(&r.metrics).unwrap_or_default(),
                details: serde_json::from_str(&r.details).unwrap_or_default(),
                agent_id: r.agent_id,
                seq: r.seq,
            }
        })
        .collect();
    Ok((total, points))
}

pub(super) async fn events_after(ch: &Ch, after: i64, limit: u32) -> Result<Vec<EventRow>> {
    ch.call(
        "events",
        ch.client
            .query(&format!(
                "SELECT ?fields FROM {} WHERE id > ? ORDER BY id, replica LIMIT ?",
                ch.t("status_events")
            ))
            .bind(after)
            .bind(limit)
            .fetch_all(),
    )
    .await
}

pub(super) async fn last_event_id(ch: &Ch) -> Result<i64> {
    ch.call(
        "last event id",
        ch.client
            .query(&format!(
                "SELECT toInt64(max(id)) FROM {}",
                ch.t("status_events")
            ))
            .fetch_one(),
    )
    .await
}

pub(super) async fn agents(ch: &Ch) -> Result<Vec<AgentRecord>> {
    let rows: Vec<AgentRow> = ch
        .call(
            "agents",
            ch.client
                .query(&format!(
                    "SELECT ?fields FROM {} FINAL ORDER BY agent_id",
                    ch.t("agents")
                ))
                .fetch_all(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| AgentRecord {
            agent_id: r.agent_id,
            hostname: r.hostname,
            version: r.version,
            labels: serde_json::from_str(&r.labels).unwrap_or_default(),
            local_checks: serde_json::from_str(&r.local_checks).unwrap_or_default(),
            last_seen_ms: r.last_seen,
        })
        .collect())
}
