//! The `Store` trait: where results, rollups, latest statuses, status-change
//! events and agents live. `store/sqlite.rs` is the embedded backend,
//! `store/clickhouse.rs` the scale-out one; `tests/conformance.rs` holds both
//! to the same behaviour.

pub mod catalog;
pub mod clickhouse;
mod gaps;
pub mod rollup;
pub mod sqlite;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;

use lightbulb_common::{CheckResult, Status};
use serde::Serialize;

use self::catalog::{Catalog, CatalogChange};
pub use self::gaps::{DroppedResults, HistoryGap, gap_runs};
use self::rollup::{Buckets, RangeQuery, Summary};
use crate::Result;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A result with its delivery identity.
#[derive(Debug, Clone)]
pub struct Sequenced {
    pub seq: u64,
    pub result: CheckResult,
}

/// The current status of one service, as served by `/api/status`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LatestStatus {
    pub service_id: String,
    pub service_type: String,
    pub status_code: u8,
    pub status: &'static str,
    pub message: String,
    pub last_check: String,
    #[serde(skip)]
    pub last_check_ms: i64,
    /// The result's seq: breaks ties between results of the same millisecond.
    #[serde(skip)]
    pub seq: u64,
    pub response_time_ms: Option<f64>,
    pub cpu_usage: Option<f64>,
    pub memory_usage: Option<f64>,
    pub agent_id: String,
    /// Dependencies that are DEGRADED or FAILED while this service is not OK
    /// (filled from the catalog when served; never stored).
    pub caused_by: Vec<String>,
    /// The catalog's display label and agent labels (filled when served;
    /// empty for services outside the catalog).
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// UNKNOWN because no result arrived within the grace: the message says
    /// which agent went silent (filled when served).
    #[serde(default)]
    pub silent: bool,
    /// When this result goes stale if no newer one arrives (filled when
    /// served; absent for statuses the collector derives or that are STOPPED).
    #[serde(default)]
    pub stale_at: Option<String>,
}

impl LatestStatus {
    pub fn from_result(agent_id: &str, seq: u64, r: &CheckResult) -> LatestStatus {
        LatestStatus {
            service_id: r.service_id.clone(),
            service_type: r.service_type.as_str().to_string(),
            status_code: r.status.code(),
            status: r.status.name(),
            message: r.message.clone(),
            last_check: lightbulb_common::time::format_iso(r.timestamp_ms),
            last_check_ms: r.timestamp_ms,
            seq,
            response_time_ms: r.metrics.response_time_ms,
            cpu_usage: r.metrics.cpu_usage,
            memory_usage: r.metrics.memory_usage,
            agent_id: agent_id.to_string(),
            caused_by: Vec::new(),
            label: String::new(),
            labels: BTreeMap::new(),
            silent: false,
            stale_at: None,
        }
    }
}

/// Which result is a service's newest: the later timestamp, then the higher seq.
pub fn newer(a: (i64, u64), b: (i64, u64)) -> bool {
    a > b
}

/// The newest result's `(timestamp, seq)` and status per service, as a
/// writer tracks them to decide what moves the latest status and what is a
/// status change.
#[derive(Debug, Default, Clone)]
pub struct Heads(HashMap<String, ((i64, u64), u8)>);

/// What one new result does to its service.
pub enum Advance {
    /// Older than the current head: stored, but the status stays.
    Stale,
    /// The new head; `previous` is the status before (None for a new service).
    Moved { previous: Option<u8>, changed: bool },
}

impl Heads {
    pub fn from_latest<'a>(list: impl IntoIterator<Item = &'a LatestStatus>) -> Heads {
        Heads(
            list.into_iter()
                .map(|s| {
                    (
                        s.service_id.clone(),
                        ((s.last_check_ms, s.seq), s.status_code),
                    )
                })
                .collect(),
        )
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn advance(&mut self, seq: u64, r: &CheckResult) -> Advance {
        let key = (r.timestamp_ms, seq);
        let previous = self.0.get(&r.service_id).copied();
        if previous.is_some_and(|(head, _)| !newer(key, head)) {
            return Advance::Stale;
        }
        let code = r.status.code();
        self.0.insert(r.service_id.clone(), (key, code));
        let previous = previous.map(|(_, c)| c);
        Advance::Moved {
            previous,
            changed: previous != Some(code),
        }
    }

    /// Forgets a removed service, unless a result newer than `at_ms` moved it since.
    pub fn forget(&mut self, service_id: &str, at_ms: i64) {
        if self
            .0
            .get(service_id)
            .is_some_and(|((ts, _), _)| *ts <= at_ms)
        {
            self.0.remove(service_id);
        }
    }

    /// Whether a status read back from the store is newer than ours.
    pub fn is_newer(&self, s: &LatestStatus) -> bool {
        let key = (s.last_check_ms, s.seq);
        self.0
            .get(&s.service_id)
            .is_none_or(|(head, _)| newer(key, *head))
    }

    /// Takes a status read back from the store if it is newer than ours.
    pub fn observe(&mut self, s: &LatestStatus) {
        if self.is_newer(s) {
            let key = (s.last_check_ms, s.seq);
            self.0.insert(s.service_id.clone(), (key, s.status_code));
        }
    }
}

/// A change of a service's status; `id` orders events and resumes SSE streams.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StatusEvent {
    pub id: i64,
    pub service_id: String,
    pub status_code: u8,
    pub status: &'static str,
    /// `None` for the first result of a service.
    pub previous_status_code: Option<u8>,
    pub message: String,
    pub last_check: String,
    pub response_time_ms: Option<f64>,
    pub agent_id: String,
}

/// What one insert did.
#[derive(Debug, Default)]
pub struct Inserted {
    pub inserted: u64,
    pub duplicates: u64,
    /// Status changes caused by the new rows, in order.
    pub events: Vec<StatusEvent>,
    /// New latest status of every service the new rows moved forward.
    pub latest: Vec<LatestStatus>,
}

/// One stored result, as served by the history API.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HistoryPoint {
    pub timestamp: String,
    pub status_code: u8,
    pub status: &'static str,
    pub message: String,
    pub response_time_ms: Option<f64>,
    pub cpu_usage: Option<f64>,
    pub memory_usage: Option<f64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
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

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct History {
    pub service_id: String,
    /// Results in the range (the points may be fewer, up to `limit`).
    pub total: u64,
    pub points: Vec<HistoryPoint>,
    /// Stretches in the range with no data because an agent's full spool
    /// dropped this service's results, oldest first.
    pub gaps: Vec<HistoryGap>,
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

/// `list` without the services removed at or after their newest result
/// (`removed`: service id → when it was removed).
pub fn without_removed(
    list: Vec<LatestStatus>,
    removed: &HashMap<String, i64>,
) -> Vec<LatestStatus> {
    list.into_iter()
        .filter(|s| {
            removed
                .get(&s.service_id)
                .is_none_or(|at| *at < s.last_check_ms)
        })
        .collect()
}

/// Storage for everything the collector keeps.
///
/// `insert` enqueues its rows when called and the returned future resolves
/// once they are durably committed; inserts are committed in call order, so a
/// stream can pipeline batches and ack them in order.
pub trait Store: Send + Sync + 'static {
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
    /// Every service and relation defined.
    fn catalog(&self) -> BoxFuture<'_, Result<Catalog>>;
    /// Applies catalog changes in order, together: in one transaction where
    /// the store has transactions.
    fn change_catalog(&self, changes: Vec<CatalogChange>) -> BoxFuture<'static, Result<()>>;
    /// Changes whenever anyone changes the catalog, for stores several
    /// collectors share (`None`: only this collector writes it).
    fn catalog_stamp(&self) -> BoxFuture<'_, Result<Option<u64>>> {
        Box::pin(async { Ok(None) })
    }
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
