//! Metric thresholds as configured: a service's own (`metric_config`,
//! which raise its status) and the metric tests of alert rules, with the
//! metrics checks report and how a window's values are aggregated. They
//! are judged where results arrive (`thresholds.rs`).
//!
//! ```json
//! {"response_time_ms": {"degraded": 500, "failed": 2000, "aggregate": "p95"},
//!  "error_rate": {"degraded": 5, "failed": 20},
//!  "window": "5m"}
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::body::Body;
use crate::{Error, Result};

/// Every metric a check reports, and `error_rate`: the share (%) of the
/// window's results that were FAILED.
pub const METRICS: &[&str] = &[
    "response_time_ms",
    "cpu_usage",
    "memory_usage",
    "error_rate",
    "dns_ms",
    "packet_loss",
    "rtt_min_ms",
    "rtt_avg_ms",
    "rtt_max_ms",
    "cert_days_left",
    "pid",
    "threads",
    "uptime_s",
    "open_fds",
    "processes",
    "children",
    "heartbeat_age_s",
    "pods",
    "ready",
    "desired",
    "restarts",
    "running",
    "completed",
    "failed",
    "timed_out",
    "terminated",
    "canceled",
    "failure_rate",
    "rows",
    "bytes_on_disk",
    "compression_ratio",
];

pub const ERROR_RATE: &str = "error_rate";

/// The longest window a metric is judged over.
pub const MAX_WINDOW_MS: i64 = 3_600_000;
pub const DEFAULT_WINDOW_MS: i64 = 300_000;

/// How a window's values become one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    Last,
    Avg,
    Min,
    Max,
    P50,
    P95,
    P99,
}

impl Aggregate {
    pub fn parse(s: &str) -> Option<Aggregate> {
        Some(match s {
            "last" => Aggregate::Last,
            "avg" => Aggregate::Avg,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "p50" => Aggregate::P50,
            "p95" => Aggregate::P95,
            "p99" => Aggregate::P99,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Last => "last",
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
            Aggregate::P50 => "p50",
            Aggregate::P95 => "p95",
            Aggregate::P99 => "p99",
        }
    }

    /// `values` in time order; `None` when there are none.
    pub fn of(self, values: &mut [f64]) -> Option<f64> {
        let last = *values.last()?;
        let n = values.len();
        let mut rank = |q: f64| {
            values.sort_by(f64::total_cmp);
            // Nearest rank.
            values[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
        };
        Some(match self {
            Aggregate::Last => last,
            Aggregate::Avg => values.iter().sum::<f64>() / n as f64,
            Aggregate::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Aggregate::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Aggregate::P50 => rank(0.50),
            Aggregate::P95 => rank(0.95),
            Aggregate::P99 => rank(0.99),
        })
    }
}

/// One metric judged over a window: "p95 response_time_ms above 500 over 5m".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Test {
    pub metric: String,
    pub aggregate: Aggregate,
    /// Holds when the value is below the threshold (else above).
    pub below: bool,
    pub threshold: f64,
    pub window_ms: i64,
}

impl Test {
    pub fn holds(&self, value: f64) -> bool {
        if self.below {
            value < self.threshold
        } else {
            value > self.threshold
        }
    }

    /// "response_time_ms p95 812 over 5m is above 500".
    pub fn describe(&self, value: f64) -> String {
        let side = if self.below { "below" } else { "above" };
        format!(
            "{} is {side} {}",
            measured(&self.metric, self.aggregate, self.window_ms, value),
            number(self.threshold)
        )
    }
}

/// "response_time_ms p95 812 over 5m".
fn measured(metric: &str, aggregate: Aggregate, window_ms: i64, value: f64) -> String {
    let how = if metric == ERROR_RATE {
        format!("{}%", number(value))
    } else if aggregate == Aggregate::Last {
        return format!("{metric} {}", number(value));
    } else {
        format!("{} {}", aggregate.as_str(), number(value))
    };
    format!(
        "{metric} {how} over {}",
        lightbulb_common::time::format_ms(window_ms)
    )
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

/// A metric named in a rule or `metric_config`, checked against `METRICS`.
pub fn metric(name: &str, field: &str) -> Result<String> {
    if METRICS.contains(&name) {
        Ok(name.to_string())
    } else {
        Err(Error::invalid(
            field,
            format!(
                "`{name}` is not a metric any check reports (known: {})",
                METRICS.join(", ")
            ),
        ))
    }
}

/// One metric's levels in `metric_config`.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub metric: String,
    pub aggregate: Aggregate,
    pub below: bool,
    pub degraded: Option<f64>,
    pub failed: Option<f64>,
}

impl Level {
    /// The status this value reaches (FAILED, DEGRADED) and the threshold.
    pub fn reached(&self, value: f64) -> Option<(lightbulb_common::Status, f64)> {
        use lightbulb_common::Status;
        let past = |t: f64| if self.below { value <= t } else { value >= t };
        match (self.failed, self.degraded) {
            (Some(f), _) if past(f) => Some((Status::Failed, f)),
            (_, Some(d)) if past(d) => Some((Status::Degraded, d)),
            _ => None,
        }
    }
}

/// A service's `metric_config`, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Own {
    pub window_ms: i64,
    pub levels: Vec<Level>,
}

/// A service's availability objective (`metric_config.objective`, %).
pub fn objective(config: &Value) -> Option<f64> {
    config.get("objective").and_then(Value::as_f64)
}

/// Reads `metric_config` (null or `{}`: none; `objective` is not a
/// threshold). Errors name the field (`metric_config.response_time_ms.failed`).
pub fn own(config: &Value) -> Result<Option<Own>> {
    let mut map = match config {
        Value::Null => return Ok(None),
        Value::Object(map) => map.clone(),
        _ => {
            return Err(Error::invalid(
                "metric_config",
                "must be an object (or null)",
            ));
        }
    };
    if let Some(v) = map.remove("objective")
        && !v.as_f64().is_some_and(|o| o > 0.0 && o < 100.0)
    {
        return Err(Error::invalid(
            "metric_config.objective",
            "must be a percentage above 0 and below 100, like 99.9",
        ));
    }
    if map.is_empty() {
        return Ok(None);
    }
    let mut body = Body::nested(map, "metric_config");
    let window_ms = window(&mut body, "window")?.unwrap_or(DEFAULT_WINDOW_MS);
    let mut levels = Vec::new();
    for key in body.keys() {
        let field = body.field(&key);
        let name = metric(&key, &field)?;
        let mut m = body
            .object(&key)?
            .ok_or_else(|| Error::invalid(&field, "must be an object like {\"degraded\": 500}"))?;
        let aggregate = aggregate(&mut m, &name)?.unwrap_or(Aggregate::Avg);
        let degraded = m.number("degraded")?;
        let failed = m.number("failed")?;
        let direction = m.string("direction")?;
        let dfield = m.field("direction");
        m.finish()?;
        if degraded.is_none() && failed.is_none() {
            return Err(Error::invalid(&field, "needs `degraded`, `failed` or both"));
        }
        let inferred = match (degraded, failed) {
            (Some(d), Some(f)) if d != f => Some(d > f),
            _ => None,
        };
        let below = match direction.as_deref() {
            None => inferred.unwrap_or(false),
            Some(d @ ("above" | "below")) => {
                let below = d == "below";
                if inferred.is_some_and(|i| i != below) {
                    return Err(Error::invalid(
                        &dfield,
                        format!(
                            "`{d}` contradicts the levels: `failed` must be further {d} than `degraded`"
                        ),
                    ));
                }
                below
            }
            Some(other) => {
                return Err(Error::invalid(
                    &dfield,
                    format!("`{other}` is not one of above, below"),
                ));
            }
        };
        levels.push(Level {
            metric: name,
            aggregate,
            below,
            degraded,
            failed,
        });
    }
    Ok(Some(Own { window_ms, levels }))
}

/// An optional `aggregate`; `error_rate` takes none.
pub fn aggregate(body: &mut Body, metric: &str) -> Result<Option<Aggregate>> {
    let field = body.field("aggregate");
    let Some(text) = body.string("aggregate")? else {
        return Ok(None);
    };
    if metric == ERROR_RATE {
        return Err(Error::invalid(
            &field,
            "error_rate is the share of FAILED results in the window; it takes no aggregate",
        ));
    }
    Aggregate::parse(&text).map(Some).ok_or_else(|| {
        Error::invalid(
            &field,
            format!("`{text}` is not one of last, avg, min, max, p50, p95, p99"),
        )
    })
}

/// A window duration, at most an hour.
pub fn window(body: &mut Body, key: &str) -> Result<Option<i64>> {
    body.duration(key, MAX_WINDOW_MS, "1h")
}

#[cfg(test)]
mod tests;
