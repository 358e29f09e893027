//! When a rule holds for a service: its condition, read from a request
//! (or the catalog file) with every problem named, and the verdict a
//! metric condition gets where results arrive (`thresholds.rs`).

use serde::{Deserialize, Serialize};

use crate::catalog::body::{Body, required};
use crate::catalog::metrics::{self as thresholds, Aggregate, Test};
use crate::{Error, Result};

/// When a rule holds for a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// The service's status is one of `statuses` (`FAILED`, `DEGRADED`,
    /// `UNKNOWN`: silent past its grace).
    Status { statuses: Vec<String> },
    /// A metric over a window is above (or `below`) `threshold`: judged
    /// where the results arrive (`thresholds.rs`).
    Metric {
        metric: String,
        aggregate: Aggregate,
        below: bool,
        threshold: f64,
        window_ms: i64,
    },
    /// The certificate expires in fewer than `days` (`cert_days_left`).
    CertExpiry { days: f64 },
    /// No result for `intervals` times the check's interval: the service
    /// (or its agent) is silent.
    Absent { intervals: u32 },
    /// The current hour or the one just ended is unusual in one of
    /// `metrics` by at least `min_score` deviations (`insights::anomaly`).
    Anomaly {
        metrics: Vec<crate::insights::anomaly::Metric>,
        min_score: f64,
    },
}

impl Condition {
    /// The metric test of a metric or certificate condition.
    pub fn test(&self) -> Option<Test> {
        match self {
            Condition::Metric {
                metric,
                aggregate,
                below,
                threshold,
                window_ms,
            } => Some(Test {
                metric: metric.clone(),
                aggregate: *aggregate,
                below: *below,
                threshold: *threshold,
                window_ms: *window_ms,
            }),
            Condition::CertExpiry { days } => Some(Test {
                metric: "cert_days_left".into(),
                aggregate: Aggregate::Last,
                below: true,
                threshold: *days,
                window_ms: 0,
            }),
            Condition::Status { .. } | Condition::Absent { .. } | Condition::Anomaly { .. } => None,
        }
    }
}

/// A rule's `condition` object.
pub fn read(c: &mut Body) -> Result<Condition> {
    Ok(
        match required(c.string("kind")?, "condition.kind")?.as_str() {
            "status" => {
                let statuses = required(c.strings("statuses")?, "condition.statuses")?;
                if statuses.is_empty() {
                    return Err(Error::invalid(
                        "condition.statuses",
                        "must name at least one status",
                    ));
                }
                for (i, s) in statuses.iter().enumerate() {
                    if !matches!(s.as_str(), "FAILED" | "DEGRADED" | "UNKNOWN") {
                        return Err(Error::invalid(
                            &format!("condition.statuses[{i}]"),
                            format!("`{s}` is not one of FAILED, DEGRADED, UNKNOWN"),
                        ));
                    }
                }
                Condition::Status { statuses }
            }
            "metric" => metric(c)?,
            "cert_expiry" => {
                let days = required(c.number("days")?, "condition.days")?;
                if !(0.0..=3650.0).contains(&days) {
                    return Err(Error::invalid("condition.days", "must be from 0 to 3650"));
                }
                Condition::CertExpiry { days }
            }
            "absent" => {
                let intervals = c.integer("intervals", 1..=1000)?.unwrap_or(3) as u32;
                Condition::Absent { intervals }
            }
            "anomaly" => anomaly(c)?,
            other => {
                return Err(Error::invalid(
                    "condition.kind",
                    format!(
                        "`{other}` is not a condition this collector knows (status, metric, cert_expiry, absent, anomaly)"
                    ),
                ));
            }
        },
    )
}

/// `{"metrics": ["response_time_ms"], "min_score": 6}`; both metrics and
/// any stored anomaly when left out.
fn anomaly(c: &mut Body) -> Result<Condition> {
    use crate::insights::anomaly::Metric;
    let metrics = match c.strings("metrics")? {
        None => vec![Metric::ResponseTimeMs, Metric::ErrorRate],
        Some(names) if names.is_empty() => {
            return Err(Error::invalid(
                "condition.metrics",
                "must name at least one metric",
            ));
        }
        Some(names) => names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                Metric::parse(n).ok_or_else(|| {
                    Error::invalid(
                        &format!("condition.metrics[{i}]"),
                        format!("`{n}` is not one of response_time_ms, error_rate"),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?,
    };
    let min_score = c.number("min_score")?.unwrap_or(0.0);
    if !(0.0..=1000.0).contains(&min_score) {
        return Err(Error::invalid(
            "condition.min_score",
            "must be from 0 to 1000",
        ));
    }
    Ok(Condition::Anomaly { metrics, min_score })
}

/// `{"metric": "response_time_ms", "aggregate": "p95", "above": 500,
/// "window": "5m"}` (or `below`).
fn metric(c: &mut Body) -> Result<Condition> {
    let name = required(c.string("metric")?, "condition.metric")?;
    let metric = thresholds::metric(&name, "condition.metric")?;
    let aggregate = thresholds::aggregate(c, &metric)?.unwrap_or(Aggregate::Avg);
    let (below, threshold) = match (c.number("above")?, c.number("below")?) {
        (Some(t), None) => (false, t),
        (None, Some(t)) => (true, t),
        _ => {
            return Err(Error::invalid(
                "condition.above",
                "give exactly one of `above` and `below`",
            ));
        }
    };
    let window_ms = thresholds::window(c, "window")?.unwrap_or(thresholds::DEFAULT_WINDOW_MS);
    Ok(Condition::Metric {
        metric,
        aggregate,
        below,
        threshold,
        window_ms,
    })
}

/// A metric rule's verdict on one service, as of the result `at_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub rule_id: String,
    pub service_id: String,
    pub holds: bool,
    /// "response_time_ms p95 812 over 5m is above 500".
    pub reason: String,
    pub at_ms: i64,
}

impl Verdict {
    pub fn key(&self) -> String {
        format!("{}/{}", self.rule_id, self.service_id)
    }
}
