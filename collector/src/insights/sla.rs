//! SLA reports: each service's availability over a period against its
//! objective, by a declared method. Availability is counted in results:
//! up / (up + down), where up is OK (and DEGRADED, unless it counts as
//! down), down is FAILED (and DEGRADED then); STARTING, STOPPED and
//! UNKNOWN are not judged. Results in the service's maintenance windows
//! are left out (or counted, if asked). Counts come from the rollups in
//! buckets of a minute (periods up to two days) or an hour: a bucket
//! belongs to a window when it starts inside one. The error budget is the
//! down results the objective allows, `(1 − objective) × judged`; the burn
//! rate is the down share over the allowed share (1: exactly on target).
//! An application's status is stored only when it changes, so its
//! buckets are the status held longest in each (`held`), one result each.

mod applications;
pub mod csv;
pub mod pdf;
pub mod scheduled;

pub use self::applications::{application_counts, held};

use std::collections::BTreeMap;

use lightbulb_common::ServiceType;
use lightbulb_common::time::format_iso;
use serde::Serialize;

use crate::Result;
use crate::state::AppState;
use crate::store::Store;
use crate::store::rollup::{Bucket, RangeQuery};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
/// Periods up to this are counted by the minute.
const BY_MINUTE_MAX_MS: i64 = 2 * 24 * HOUR_MS;
/// Services named as the worst of the period.
const WORST: usize = 5;

/// How availability is counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Method {
    pub degraded_is_up: bool,
    pub exclude_maintenance: bool,
    /// The objective of services without their own (`metric_config.objective`), %.
    pub objective: f64,
}

/// Results of one service in a period, as the method counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub up: u64,
    pub down: u64,
    /// STARTING, STOPPED and UNKNOWN results.
    pub not_judged: u64,
    /// Results in maintenance windows (left out of the others when excluded).
    pub in_maintenance: u64,
    /// Runs of buckets where down results outnumber up ones.
    pub incidents: u64,
    /// The time those runs cover.
    pub downtime_ms: i64,
    /// The time the other buckets with judged results cover.
    pub uptime_ms: i64,
}

/// One service's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SlaRow {
    pub service_id: String,
    pub label: String,
    pub service_type: String,
    pub objective_pct: f64,
    #[serde(flatten)]
    pub counts: Counts,
    /// up / (up + down); absent without judged results.
    pub uptime_pct: Option<f64>,
    /// Down results the objective allows.
    pub budget: f64,
    /// Share of the budget used, % (over 100: the objective is missed).
    pub budget_used_pct: Option<f64>,
    pub burn_rate: Option<f64>,
    pub met: Option<bool>,
    /// Mean time to recover: the incidents' mean length.
    pub mttr_ms: Option<i64>,
    /// Mean time between failures: the time up per incident.
    pub mtbf_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SlaMethod {
    /// `up` or `down`.
    pub degraded: &'static str,
    /// `excluded` or `included`.
    pub maintenance: &'static str,
    pub default_objective_pct: f64,
    /// The bucket results are counted in: `1m` or `1h`.
    pub granularity: &'static str,
    /// The method in words, as printed on the report.
    pub statement: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SlaSummary {
    pub services: usize,
    pub met: usize,
    pub missed: usize,
    /// Services without judged results in the period.
    pub no_data: usize,
    /// The lowest uptimes under 100 %, worst first.
    pub worst: Vec<String>,
    /// The most incidents, most first.
    pub most_incidents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SlaReport {
    pub from: String,
    pub to: String,
    pub method: SlaMethod,
    pub summary: SlaSummary,
    /// Worst uptime first; services without data last.
    pub services: Vec<SlaRow>,
}

/// Counts of `buckets` (of `step_ms`) with `windows` (sorted `[start, end)`).
pub fn count(buckets: &[Bucket], step_ms: i64, windows: &[(i64, i64)], method: &Method) -> Counts {
    let mut c = Counts::default();
    let mut failing = false;
    for b in buckets {
        let s = &b.stats;
        let maintained = windows
            .iter()
            .any(|(from, to)| *from <= b.start_ms && b.start_ms < *to);
        if maintained {
            c.in_maintenance += s.count;
            if method.exclude_maintenance {
                continue;
            }
        }
        let (up, down) = if method.degraded_is_up {
            (s.ok + s.degraded, s.failed)
        } else {
            (s.ok, s.degraded + s.failed)
        };
        c.up += up;
        c.down += down;
        c.not_judged += s.other;
        if down > up {
            c.incidents += u64::from(!failing);
            c.downtime_ms += step_ms;
            failing = true;
        } else if up > 0 {
            c.uptime_ms += step_ms;
            failing = false;
        }
    }
    c
}

/// A report line from its counts and objective.
pub fn row(
    service_id: &str,
    label: &str,
    service_type: &str,
    counts: Counts,
    objective: f64,
) -> SlaRow {
    let judged = counts.up + counts.down;
    let allowed = 1.0 - objective / 100.0;
    let budget = allowed * judged as f64;
    let uptime = (judged > 0).then(|| 100.0 * counts.up as f64 / judged as f64);
    SlaRow {
        service_id: service_id.to_string(),
        label: label.to_string(),
        service_type: service_type.to_string(),
        objective_pct: objective,
        counts,
        uptime_pct: uptime,
        budget,
        budget_used_pct: (judged > 0).then(|| 100.0 * counts.down as f64 / budget),
        burn_rate: (judged > 0).then(|| (counts.down as f64 / judged as f64) / allowed),
        met: uptime.map(|u| u >= objective),
        mttr_ms: (counts.incidents > 0).then(|| counts.downtime_ms / counts.incidents as i64),
        mtbf_ms: (counts.incidents > 0).then(|| counts.uptime_ms / counts.incidents as i64),
    }
}

/// The bucket size a period is counted in.
pub fn step_for(from_ms: i64, to_ms: i64) -> i64 {
    if to_ms - from_ms <= BY_MINUTE_MAX_MS {
        MINUTE_MS
    } else {
        HOUR_MS
    }
}

/// One service's counts from the store.
pub async fn service_counts(
    store: &dyn Store,
    service_id: &str,
    from_ms: i64,
    to_ms: i64,
    windows: &[(i64, i64)],
    method: &Method,
) -> Result<Counts> {
    let query = RangeQuery {
        service_id: service_id.to_string(),
        from_ms,
        to_ms,
    };
    let step = step_for(from_ms, to_ms);
    let buckets = store.buckets(query, step).await?;
    Ok(count(&buckets.buckets, step, windows, method))
}

/// What a service is reported as.
struct Subject {
    label: String,
    service_type: String,
    labels: BTreeMap<String, String>,
    objective: Option<f64>,
}

/// The report of every service (or `only` one) over `[from_ms, to_ms]`.
pub async fn report(
    state: &AppState,
    from_ms: i64,
    to_ms: i64,
    method: Method,
    only: Option<&str>,
) -> Result<SlaReport> {
    let mut subjects: BTreeMap<String, Subject> = state
        .statuses()
        .into_values()
        .map(|s| {
            let subject = Subject {
                label: String::new(),
                service_type: s.service_type.to_string(),
                labels: BTreeMap::new(),
                objective: None,
            };
            (s.service_id, subject)
        })
        .collect();
    state.catalog.read(|c| {
        for s in c.services.values() {
            subjects.insert(
                s.service_id.clone(),
                Subject {
                    label: s.label.clone(),
                    service_type: s.service_type.to_string(),
                    labels: s.labels.clone(),
                    objective: crate::catalog::metrics::objective(&s.metric_config),
                },
            );
        }
    });
    if let Some(id) = only {
        subjects.retain(|k, _| k == id);
        if subjects.is_empty() {
            return Err(crate::Error::not_found(format!("no service `{id}`")));
        }
    }
    let silences = state.alerting.silences();
    let mut rows = Vec::with_capacity(subjects.len());
    for (id, s) in &subjects {
        let mut windows: Vec<(i64, i64)> = silences
            .iter()
            .filter(|w| w.maintains(id, &s.labels))
            .flat_map(|w| w.openings(from_ms, to_ms))
            .collect();
        windows.sort_unstable();
        let store = state.store.as_ref();
        let counts = if s.service_type == ServiceType::Application.as_str() {
            application_counts(store, id, from_ms, to_ms, &windows, &method).await?
        } else {
            service_counts(store, id, from_ms, to_ms, &windows, &method).await?
        };
        let objective = s.objective.unwrap_or(method.objective);
        rows.push(row(id, &s.label, &s.service_type, counts, objective));
    }
    rows.sort_by(|a, b| {
        let key = |r: &SlaRow| r.uptime_pct.unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then_with(|| a.service_id.cmp(&b.service_id))
    });
    let summary = SlaSummary {
        services: rows.len(),
        met: rows.iter().filter(|r| r.met == Some(true)).count(),
        missed: rows.iter().filter(|r| r.met == Some(false)).count(),
        no_data: rows.iter().filter(|r| r.met.is_none()).count(),
        worst: rows
            .iter()
            .filter(|r| r.uptime_pct.is_some_and(|u| u < 100.0))
            .take(WORST)
            .map(|r| r.service_id.clone())
            .collect(),
        most_incidents: {
            let mut by: Vec<&SlaRow> = rows.iter().filter(|r| r.counts.incidents > 0).collect();
            by.sort_by_key(|r| std::cmp::Reverse(r.counts.incidents));
            by.iter()
                .take(WORST)
                .map(|r| r.service_id.clone())
                .collect()
        },
    };
    Ok(SlaReport {
        from: format_iso(from_ms),
        to: format_iso(to_ms),
        method: describe(&method, step_for(from_ms, to_ms)),
        summary,
        services: rows,
    })
}

fn describe(m: &Method, step_ms: i64) -> SlaMethod {
    let degraded = if m.degraded_is_up { "up" } else { "down" };
    let maintenance = if m.exclude_maintenance {
        "excluded"
    } else {
        "included"
    };
    let granularity = if step_ms == MINUTE_MS { "1m" } else { "1h" };
    SlaMethod {
        degraded,
        maintenance,
        default_objective_pct: m.objective,
        granularity,
        statement: format!(
            "Uptime = up / (up + down) results. OK is up, FAILED down, DEGRADED {degraded}; \
             STARTING, STOPPED and UNKNOWN are not judged. Results in maintenance windows are \
             {maintenance}, counted in {granularity} buckets. Objective {}% unless the service \
             sets its own; the error budget is the down results it allows.",
            m.objective
        ),
    }
}

#[cfg(test)]
mod tests;
