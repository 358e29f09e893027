//! Aggregates of a service's results over a bucket or a range: counts per
//! status, uptime, error rate and latency. The stores compute them (see
//! `store::rollup`); the API serves them as they are.

use serde::{Deserialize, Serialize};

/// Latency statistics of one bucket or range, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Latency {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// Counts and statistics of the results in one time bucket or range.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stats {
    pub count: u64,
    pub ok: u64,
    pub degraded: u64,
    pub failed: u64,
    /// STARTING, STOPPED and UNKNOWN.
    pub other: u64,
    /// (OK + DEGRADED) / (OK + DEGRADED + FAILED); absent without such results.
    pub uptime_pct: Option<f64>,
    /// FAILED / all results; absent without results.
    pub error_rate: Option<f64>,
    pub response_time_ms: Option<Latency>,
    pub cpu_usage_avg: Option<f64>,
    pub memory_usage_avg: Option<f64>,
}

impl Stats {
    /// Fills the derived ratios from the counts.
    pub fn with_ratios(mut self) -> Stats {
        let up = self.ok + self.degraded;
        let judged = up + self.failed;
        self.uptime_pct = (judged > 0).then(|| 100.0 * up as f64 / judged as f64);
        self.error_rate = (self.count > 0).then(|| self.failed as f64 / self.count as f64);
        self
    }
}
