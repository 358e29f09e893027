//! The `Store` trait: where results, rollups, latest statuses, status-change
//! events and agents live. `store/sqlite.rs` is the embedded backend,
//! `store/clickhouse.rs` the scale-out one; `tests/conformance.rs` holds both
//! to the same behaviour.

pub mod clickhouse;
mod gaps;
mod latest;
pub mod rollup;
pub mod sqlite;

use std::collections::BTreeMap;

use lightbulb_common::{CheckResult, Status};
use serde::Serialize;

pub use self::gaps::{DroppedResults, GapRun, gap_runs};
pub use self::latest::{
    Advance, Heads, Inserted, LatestStatus, OWN_AGENT_ID, StatusEvent, newer, own_seq,
    without_removed,
};
use self::rollup::{Buckets, RangeQuery, Summary};
pub use crate::BoxFuture;
use crate::Result;
pub use crate::alerting::store::AlertStore;
pub use crate::audit::AuditStore;
pub use crate::auth::token::TokenStore;
pub use crate::catalog::model::CatalogStore;

/// A result with its delivery identity.
#[derive(Debug, Clone)]
pub struct Sequenced {
    pub seq: u64,
    pub result: CheckResult,
}

/// One stored result (as served: `api::history::HistoryPoint`).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPoint {
    pub timestamp_ms: i64,
    pub status: Status,
    pub message: String,
    pub response_time_ms: Option<f64>,
    pub cpu_usage: Option<f64>,
    pub memory_usage: Option<f64>,
    pub metrics: BTreeMap<String, f64>,
    /// `null` when the check gave none.
    pub details: serde_json::Value,
    pub agent_id: String,
    pub seq: u64,
}

/// A history query: `from <= timestamp <= to`, newest first.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub service_id: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub limit: u32,
}

/// A service's raw results in a range.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub service_id: String,
    /// Results in the range (the points may be fewer, up to `limit`).
    pub total: u64,
    pub points: Vec<HistoryPoint>,
    /// Stretches in the range with no data because an agent's full spool
    /// dropped this service's results, oldest first.
    pub gaps: Vec<GapRun>,
}

/// How long data is kept. Queries never return data older than this, even
/// before `Store::expire` has removed it, so both stores answer alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw_ms: i64,
    pub rollups_ms: i64,
}

impl Retention {
    pub fn from_config(c: &crate::config::StoreConfig) -> Retention {
        Retention {
            raw_ms: c.retention_raw.as_millis() as i64,
            rollups_ms: c.retention_rollups.as_millis() as i64,
        }
    }

    /// Oldest raw timestamp still served at `now_ms`.
    pub fn raw_cutoff(&self, now_ms: i64) -> i64 {
        now_ms - self.raw_ms
    }

    /// Oldest rollup bucket start still served at `now_ms`.
    pub fn rollup_cutoff(&self, now_ms: i64) -> i64 {
        now_ms - self.rollups_ms
    }
}

/// What the collector knows of an agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRecord {
    pub agent_id: String,
    pub hostname: String,
    pub version: String,
    pub labels: BTreeMap<String, String>,
    pub local_checks: Vec<LocalCheck>,
    pub last_seen_ms: i64,
}

/// A check from an agent's own configuration, with the cadence silence is
/// judged by. Stored as JSON; older rows hold just the service id.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(from = "LocalCheckForm")]
pub struct LocalCheck {
    pub service_id: String,
    /// 0: not known (the default interval applies).
    pub interval_ms: u64,
    /// 0: the collector's default grace.
    pub grace_ms: u64,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum LocalCheckForm {
    Id(String),
    Full {
        service_id: String,
        #[serde(default)]
        interval_ms: u64,
        #[serde(default)]
        grace_ms: u64,
    },
}

impl From<LocalCheckForm> for LocalCheck {
    fn from(f: LocalCheckForm) -> LocalCheck {
        match f {
            LocalCheckForm::Id(service_id) => LocalCheck::from(service_id.as_str()),
            LocalCheckForm::Full {
                service_id,
                interval_ms,
                grace_ms,
            } => LocalCheck {
                service_id,
                interval_ms,
                grace_ms,
            },
        }
    }
}

impl From<&str> for LocalCheck {
    fn from(id: &str) -> LocalCheck {
        LocalCheck {
            service_id: id.to_string(),
            interval_ms: 0,
            grace_ms: 0,
        }
    }
}

/// Storage for everything the collector keeps (the catalog through
/// `CatalogStore`, API tokens through `TokenStore`).
///
/// `insert` enqueues its rows when called and the returned future resolves
/// once they are durably committed; inserts are committed in call order, so a
/// stream can pipeline batches and ack them in order.
pub trait Store:
    CatalogStore
    + TokenStore
    + AuditStore
    + AlertStore
    + crate::search::SearchStore
    + crate::insights::patterns::FailureStore
    + crate::insights::ai::record::AnalysisStore
    + crate::insights::anomaly::stored::AnomalyStore
    + crate::insights::capacity::spool::SpoolSampleStore
    + crate::views::ViewStore
    + crate::push::PushStore
{
    /// Stores results, dropping any `(agent_id, seq)` already held.
    fn insert(
        &self,
        agent_id: &str,
        results: Vec<Sequenced>,
    ) -> BoxFuture<'static, Result<Inserted>>;
    /// Latest status of every service.
    fn latest(&self) -> BoxFuture<'_, Result<Vec<LatestStatus>>>;
    /// Raw results of one service in a time range, newest first, with the
    /// gaps agents' full spools left in it.
    fn history(&self, query: HistoryQuery) -> BoxFuture<'_, Result<History>>;
    /// Status events with `id > after`, oldest first, at most `limit`.
    fn events_after(&self, after: i64, limit: u32) -> BoxFuture<'_, Result<Vec<StatusEvent>>>;
    /// Id of the newest status event (0 when none).
    fn last_event_id(&self) -> BoxFuture<'_, Result<i64>>;
    /// Records an agent's registration or last contact.
    fn upsert_agent(&self, agent: AgentRecord) -> BoxFuture<'static, Result<()>>;
    /// Removes a deleted service from the latest statuses as of `at_ms`:
    /// `latest` leaves it out until a newer result arrives. Its results
    /// stay, for history.
    fn remove_service(&self, service_id: &str, at_ms: i64) -> BoxFuture<'static, Result<()>>;
    /// Stores what agents' full spools dropped (idempotent).
    fn record_gaps(&self, gaps: Vec<DroppedResults>) -> BoxFuture<'static, Result<()>>;
    /// Every agent ever registered.
    fn agents(&self) -> BoxFuture<'_, Result<Vec<AgentRecord>>>;
    /// Whether the store accepts writes now.
    fn ready(&self) -> BoxFuture<'_, Result<()>>;
    /// Aggregates of one service in `step_ms` buckets, oldest first, read
    /// from the source `rollup::Source::for_step` picks.
    fn buckets(&self, query: RangeQuery, step_ms: i64) -> BoxFuture<'_, Result<Buckets>>;
    /// One range summarised, from the source `rollup::Source::for_range` picks.
    fn summary(&self, query: RangeQuery) -> BoxFuture<'_, Result<Summary>>;
    /// Removes data older than the retention as of `now_ms`.
    fn expire(&self, now_ms: i64) -> BoxFuture<'_, Result<()>>;
    /// Statuses and events written by other collectors sharing this store;
    /// `None` when nobody else can write to it. Taken once.
    fn watch(&self) -> Option<tokio::sync::mpsc::Receiver<Inserted>> {
        None
    }
}

/// The status for a stored code; unknown codes read as UNKNOWN.
pub(crate) fn status_of(code: i64) -> Status {
    u32::try_from(code)
        .ok()
        .and_then(Status::from_code)
        .unwrap_or(Status::Unknown)
}
