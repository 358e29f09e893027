use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ServiceType, Status};

/// Numbers a check observed; `None` means not measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_time_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_usage: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_usage: Option<f64>,
    /// Type-specific numbers such as `threads`, `open_fds`, `uptime_s`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, f64>,
}

/// The outcome of one check run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub service_id: String,
    pub service_type: ServiceType,
    /// Milliseconds since the Unix epoch, UTC.
    pub timestamp_ms: i64,
    pub status: Status,
    pub message: String,
    pub metrics: Metrics,
    /// Evidence: error text, log tail, offenders. `Null` when there is none.
    pub details: serde_json::Value,
}
