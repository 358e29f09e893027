//! Capacity: gauges with a limit and when each reaches it (`forecast`):
//! a Python process's RSS against its check's `max_rss` (from the hourly
//! rollups of the last week, or five-minute ones when the week holds less
//! than half a day), and each ClickHouse disk's free space against the
//! check's `failed_free_disk_percent`, and each container of a Kubernetes
//! check's pods, its memory in % of its limit against 100 % (the highest
//! of its pods', which come and go), both from the results' `details`. A
//! gauge is at risk when either method has it reach its limit within the
//! horizon. Agents' spools against their budgets are gauges too (`spool`).

use std::collections::BTreeMap;

pub mod spool;

use lightbulb_common::ServiceType;
use lightbulb_common::time::format_iso;
use serde::Serialize;
use serde_json::Value;

use super::forecast::{self, Reach};
use crate::Result;
use crate::store::rollup::RangeQuery;
use crate::store::{HistoryQuery, Store};

const HOUR_MS: i64 = 3_600_000;
const FIVE_MINUTES_MS: i64 = 300_000;
/// How far back samples are read.
pub const LOOKBACK_MS: i64 = 7 * 24 * HOUR_MS;
/// Results read for gauges kept in `details`.
const RESULTS: u32 = 2_000;

/// What is measured, and its limit.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// RSS in bytes, against `max_rss`.
    Rss,
    /// Free space of a ClickHouse disk in %, against the failing level.
    DiskFree,
    /// A container's memory in % of its limit, against 100 %.
    PodMemory,
    /// An agent's spool bytes, against its `max_bytes` (`spool.rs`).
    Spool,
}

/// A gauge to forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The service's id; the agent's for `Kind::Spool`.
    pub id: String,
    pub kind: Kind,
    /// For `Kind::Spool`, the newest sample's budget is the limit.
    pub limit: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReachView {
    pub method: forecast::Method,
    pub slope_per_hour: f64,
    /// When it reaches the limit; absent when it does not head there.
    pub at: Option<String>,
    /// The 95 % band around `at` (`latest` absent: the slow end never gets there).
    pub earliest: Option<String>,
    pub latest: Option<String>,
}

/// One gauge's forecast.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GaugeForecast {
    /// The service measured; absent for an agent's spool.
    pub service_id: Option<String>,
    /// The agent whose spool it is.
    pub agent_id: Option<String>,
    /// `rss`, `free disk <name>`, `memory of <container>` or `spool`.
    pub gauge: String,
    /// `bytes` or `%`.
    pub unit: &'static str,
    pub current: f64,
    pub limit: f64,
    pub samples: usize,
    pub linear: ReachView,
    pub holt: ReachView,
    /// The sooner of the two methods' times.
    pub reaches_at: Option<String>,
    #[serde(skip)]
    pub reaches_ms: Option<i64>,
    pub at_risk: bool,
}

/// The gauges the catalog's checks name.
pub fn specs(catalog: &crate::catalog::model::Catalog) -> Vec<Spec> {
    let mut out = Vec::new();
    for s in catalog.services.values().filter(|s| s.enabled) {
        let config = &s.status_config;
        let (kind, limit) = match s.service_type {
            ServiceType::PythonProcess => match config.get("max_rss").and_then(Value::as_f64) {
                Some(max) => (Kind::Rss, max),
                None => continue,
            },
            ServiceType::Database => (
                Kind::DiskFree,
                config
                    .get("failed_free_disk_percent")
                    .and_then(Value::as_f64)
                    .unwrap_or(2.0),
            ),
            ServiceType::KubernetesPod => (Kind::PodMemory, 100.0),
            _ => continue,
        };
        out.push(Spec {
            id: s.service_id.clone(),
            kind,
            limit,
        });
    }
    out
}

/// The spool gauges of `agents`.
pub fn spool_specs(agents: impl IntoIterator<Item = String>) -> Vec<Spec> {
    agents
        .into_iter()
        .map(|id| Spec {
            id,
            kind: Kind::Spool,
            limit: 0.0,
        })
        .collect()
}

/// Forecasts of `specs` as of `now_ms`, looking `horizon_ms` ahead: at
/// risk first, soonest first.
pub async fn forecasts(
    store: &dyn Store,
    specs: &[Spec],
    now_ms: i64,
    horizon_ms: i64,
) -> Result<Vec<GaugeForecast>> {
    let mut out = Vec::new();
    for spec in specs {
        for Gauge {
            name: gauge,
            unit,
            samples,
            limit,
        } in samples(store, spec, now_ms).await?
        {
            let Some(current) = samples.iter().max_by_key(|(t, _)| *t).map(|(_, v)| *v) else {
                continue;
            };
            let limit = limit.unwrap_or(spec.limit);
            let Some([linear, holt]) = forecast::reach(&samples, limit, horizon_ms) else {
                continue;
            };
            let reaches_ms = [linear.at_ms, holt.at_ms].into_iter().flatten().min();
            let spool = spec.kind == Kind::Spool;
            out.push(GaugeForecast {
                service_id: (!spool).then(|| spec.id.clone()),
                agent_id: spool.then(|| spec.id.clone()),
                gauge,
                unit,
                current,
                limit,
                samples: samples.len(),
                linear: view(&linear),
                holt: view(&holt),
                reaches_at: reaches_ms.map(format_iso),
                reaches_ms,
                at_risk: reaches_ms.is_some_and(|t| t <= now_ms + horizon_ms),
            });
        }
    }
    out.sort_by_key(|g| {
        (
            !g.at_risk,
            g.reaches_ms.unwrap_or(i64::MAX),
            g.service_id.clone().or_else(|| g.agent_id.clone()),
        )
    });
    Ok(out)
}

fn view(r: &Reach) -> ReachView {
    ReachView {
        method: r.method,
        slope_per_hour: r.slope_per_hour,
        at: r.at_ms.map(format_iso),
        earliest: r.earliest_ms.map(format_iso),
        latest: r.latest_ms.map(format_iso),
    }
}

/// One gauge's samples (time, value), and its limit where they tell it.
struct Gauge {
    name: String,
    unit: &'static str,
    samples: Vec<(i64, f64)>,
    limit: Option<f64>,
}

async fn samples(store: &dyn Store, spec: &Spec, now_ms: i64) -> Result<Vec<Gauge>> {
    match spec.kind {
        Kind::Rss => {
            let mut found = Vec::new();
            for step in [HOUR_MS, FIVE_MINUTES_MS] {
                let query = RangeQuery {
                    service_id: spec.id.clone(),
                    from_ms: if step == HOUR_MS {
                        now_ms - LOOKBACK_MS
                    } else {
                        now_ms - 24 * HOUR_MS
                    },
                    to_ms: now_ms,
                };
                let buckets = store.buckets(query, step).await?;
                found = buckets
                    .buckets
                    .iter()
                    .filter_map(|b| b.stats.memory_usage_avg.map(|m| (b.start_ms + step / 2, m)))
                    .collect();
                if found.len() >= 12 {
                    break;
                }
            }
            Ok(vec![Gauge {
                name: "rss".into(),
                unit: "bytes",
                samples: found,
                limit: None,
            }])
        }
        Kind::DiskFree => Ok(from_details(store, spec, now_ms, |details, out| {
            for d in details
                .get("disks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(name), Some(free)) = (
                    d.get("disk").and_then(Value::as_str),
                    d.get("free_percent").and_then(Value::as_f64),
                ) {
                    out.push((format!("free disk {name}"), free));
                }
            }
        })
        .await?),
        Kind::Spool => {
            let found = store
                .spool_samples(spec.id.clone(), now_ms - LOOKBACK_MS, now_ms)
                .await?;
            let Some(last) = found.last() else {
                return Ok(Vec::new());
            };
            Ok(vec![Gauge {
                name: "spool".into(),
                unit: "bytes",
                limit: Some(last.max_bytes as f64),
                samples: found.iter().map(|x| (x.ts_ms, x.bytes as f64)).collect(),
            }])
        }
        Kind::PodMemory => Ok(from_details(store, spec, now_ms, |details, out| {
            // Per container, the highest of its pods.
            let mut highest: BTreeMap<&str, f64> = BTreeMap::new();
            for c in details
                .get("usage")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(name), Some(p)) = (
                    c.get("container").and_then(Value::as_str),
                    c.get("memory_limit_percent").and_then(Value::as_f64),
                ) {
                    let h = highest.entry(name).or_insert(p);
                    *h = h.max(p);
                }
            }
            out.extend(
                highest
                    .into_iter()
                    .map(|(n, p)| (format!("memory of {n}"), p)),
            );
        })
        .await?),
    }
}

/// Gauges kept in the results' `details`: `pick` names each one a
/// result's details hold, with its value.
async fn from_details(
    store: &dyn Store,
    spec: &Spec,
    now_ms: i64,
    pick: impl Fn(&Value, &mut Vec<(String, f64)>),
) -> Result<Vec<Gauge>> {
    let history = store
        .history(HistoryQuery {
            service_id: spec.id.clone(),
            from_ms: now_ms - LOOKBACK_MS,
            to_ms: now_ms,
            limit: RESULTS,
        })
        .await?;
    let mut gauges: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    let mut found = Vec::new();
    for p in &history.points {
        found.clear();
        pick(&p.details, &mut found);
        for (name, v) in found.drain(..) {
            gauges.entry(name).or_default().push((p.timestamp_ms, v));
        }
    }
    Ok(gauges
        .into_iter()
        .map(|(name, samples)| Gauge {
            name,
            unit: "%",
            samples,
            limit: None,
        })
        .collect())
}
