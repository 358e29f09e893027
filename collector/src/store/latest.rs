//! Latest statuses and status changes: what the writers track (`Heads`),
//! what one insert did (`Inserted`), and the collector's own results.

use std::collections::HashMap;

use lightbulb_common::{CheckResult, ServiceType, Status};

/// The agent id the collector stores its own results under: silence marks,
/// disabled services' STOPPED, application roll-ups.
pub const OWN_AGENT_ID: &str = "lightbulb-collector";

/// A seq for a row of the collector's own: from the clock, so seqs keep
/// growing across restarts, with a random tag per process so collectors
/// sharing a store never take one another's (`ms << 20 | tag << 10 | n`).
pub fn own_seq() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    static TAG: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let tag = *TAG.get_or_init(|| fastrand::u64(..1024));
    let now = (lightbulb_common::time::now_ms().max(0) as u64) << 20 | tag << 10;
    let step = |last: u64| Some((last + 1).max(now));
    let last = LAST
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, step)
        .unwrap_or(now);
    (last + 1).max(now)
}

/// The newest stored result of one service (how it is served is
/// `api::view::ServiceStatus`).
#[derive(Debug, Clone, PartialEq)]
pub struct LatestStatus {
    pub service_id: String,
    pub service_type: ServiceType,
    pub status: Status,
    pub message: String,
    /// When the result was checked, ms since the epoch.
    pub last_check_ms: i64,
    /// The result's seq: breaks ties between results of the same millisecond.
    pub seq: u64,
    pub response_time_ms: Option<f64>,
    pub cpu_usage: Option<f64>,
    pub memory_usage: Option<f64>,
    pub agent_id: String,
}

impl LatestStatus {
    /// UNKNOWN stored by the collector because no result came within the
    /// grace (an application's UNKNOWN is a roll-up, not silence).
    pub fn is_silence(&self) -> bool {
        self.agent_id == OWN_AGENT_ID
            && self.service_type != ServiceType::Application
            && self.status == Status::Unknown
    }

    pub fn from_result(agent_id: &str, seq: u64, r: &CheckResult) -> LatestStatus {
        LatestStatus {
            service_id: r.service_id.clone(),
            service_type: r.service_type,
            status: r.status,
            message: r.message.clone(),
            last_check_ms: r.timestamp_ms,
            seq,
            response_time_ms: r.metrics.response_time_ms,
            cpu_usage: r.metrics.cpu_usage,
            memory_usage: r.metrics.memory_usage,
            agent_id: agent_id.to_string(),
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
                        ((s.last_check_ms, s.seq), s.status.code()),
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
            self.0.insert(s.service_id.clone(), (key, s.status.code()));
        }
    }
}

/// A change of a service's status; `id` orders events and resumes SSE
/// streams (as served: `api::sse::StatusChange`).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusEvent {
    pub id: i64,
    pub service_id: String,
    pub status_code: u8,
    /// `None` for the first result of a service.
    pub previous_status_code: Option<u8>,
    pub message: String,
    /// When the result that changed it was checked, ms since the epoch.
    pub last_check_ms: i64,
    pub response_time_ms: Option<f64>,
    pub agent_id: String,
}

impl StatusEvent {
    /// The new status's name (`OK`, `FAILED`, …).
    pub fn status(&self) -> &'static str {
        crate::store::status_of(self.status_code.into()).name()
    }
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
