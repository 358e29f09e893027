//! Check planning: a `[[checks]]` entry (or a check the collector assigns,
//! or one discovered) checked and turned into a check ready to schedule.

use std::time::Duration;

use lightbulb_common::time::serde_duration;
use lightbulb_common::{ServiceType, validate_service_id};
use serde::{Deserialize, Serialize};

use crate::checks::CheckSpec;

/// One `[[checks]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    pub service_id: String,
    pub service_type: String,
    /// Shown in the collector's catalog. Default: the service id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Time between runs. Default `30s`.
    #[serde(with = "serde_duration", default = "default_interval")]
    pub interval: Duration,
    /// Longest a run may take before it counts as FAILED. Default: the
    /// interval, at most `10s`.
    #[serde(
        with = "lightbulb_common::time::serde_duration_opt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    /// How long the service may go without a result before the collector
    /// shows it UNKNOWN. Default: the collector's (three intervals, and at
    /// least three heartbeats).
    #[serde(
        with = "lightbulb_common::time::serde_duration_opt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub grace: Option<Duration>,
    /// Check-type specific settings.
    #[serde(default)]
    pub status_config: serde_json::Value,
}

fn default_interval() -> Duration {
    Duration::from_secs(30)
}

impl CheckConfig {
    pub fn timeout(&self) -> Duration {
        self.timeout
            .unwrap_or_else(|| self.interval.min(Duration::from_secs(10)))
    }
}

/// A check ready to schedule.
#[derive(Debug, Clone)]
pub struct PlannedCheck {
    pub service_id: String,
    pub service_type: ServiceType,
    pub interval: Duration,
    pub timeout: Duration,
    pub spec: CheckSpec,
    /// The `status_config` as written, when it holds `secret://`
    /// references (then `spec` was only checked with stand-ins).
    pub secret_config: Option<serde_json::Value>,
}

/// Turns one check entry into a schedulable check, or lists (key, reason).
pub fn plan(c: &CheckConfig) -> Result<PlannedCheck, Vec<(String, String)>> {
    let mut problems = Vec::new();
    if let Err(e) = validate_service_id(&c.service_id) {
        problems.push(("service_id".to_string(), e));
    }
    if c.interval < Duration::from_millis(100) {
        problems.push(("interval".into(), "must be at least 100ms".into()));
    }
    if c.grace.is_some_and(|g| g < c.interval) {
        problems.push(("grace".into(), "must not be shorter than `interval`".into()));
    }
    let service_type = ServiceType::parse(&c.service_type);
    let spec = match service_type {
        None => {
            problems.push((
                "service_type".into(),
                format!(
                    "unknown check type `{}`; this agent runs `api_endpoint`, `python_process`, `database`, `temporal_workflow` and `kubernetes_pod`",
                    c.service_type
                ),
            ));
            None
        }
        Some(t) => match CheckSpec::parse_template(t, &c.status_config) {
            Ok(spec) => Some(spec),
            Err((key, reason)) => {
                let key = if key.is_empty() {
                    "status_config".to_string()
                } else {
                    format!("status_config.{key}")
                };
                problems.push((key, reason));
                None
            }
        },
    };
    match (service_type, spec) {
        (Some(service_type), Some(spec)) if problems.is_empty() => Ok(PlannedCheck {
            service_id: c.service_id.clone(),
            service_type,
            interval: c.interval,
            timeout: c.timeout(),
            spec,
            secret_config: (!lightbulb_common::secret::references(&c.status_config).is_empty())
                .then(|| c.status_config.clone()),
        }),
        _ => Err(problems),
    }
}
