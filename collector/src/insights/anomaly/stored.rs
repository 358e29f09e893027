//! Anomalies as stored: the scanner (`scan.rs`) writes what it finds, an
//! hour being replaced while it is young and cleared if it stops being
//! unusual; `GET /api/anomalies` and alert rules read them.

use serde::{Deserialize, Serialize};

use super::{Anomaly, Metric};
use crate::{BoxFuture, Result};

/// One service's unusual hour as kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAnomaly {
    pub service_id: String,
    pub anomaly: Anomaly,
    /// When it was last judged.
    pub detected_ms: i64,
    /// No longer unusual (a write that removes it).
    pub cleared: bool,
}

impl StoredAnomaly {
    pub fn key(&self) -> (String, Metric, i64) {
        (
            self.service_id.clone(),
            self.anomaly.metric,
            self.anomaly.start_ms,
        )
    }
}

/// Which stored anomalies to read: hours starting in `from_ms..to_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    pub service_id: Option<String>,
    pub limit: u32,
}

pub trait AnomalyStore: Send + Sync + 'static {
    /// Writes each one over what is kept for its service, metric and hour
    /// (a `cleared` one removes it).
    fn put_anomalies(&self, found: Vec<StoredAnomaly>) -> BoxFuture<'static, Result<()>>;
    /// The uncleared ones, newest hour first (then highest score), at most
    /// `limit`.
    fn anomalies(&self, query: AnomalyQuery) -> BoxFuture<'_, Result<Vec<StoredAnomaly>>>;
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::ResponseTimeMs => "response_time_ms",
            Metric::ErrorRate => "error_rate",
        }
    }

    pub fn parse(name: &str) -> Option<Metric> {
        match name {
            "response_time_ms" => Some(Metric::ResponseTimeMs),
            "error_rate" => Some(Metric::ErrorRate),
            _ => None,
        }
    }
}
