//! `temporal_workflow`: a namespace (optionally one workflow type or task
//! queues) on a Temporal frontend, and the thresholds that turn what it
//! reports into DEGRADED or FAILED.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::serde_duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemporalSpec {
    /// Frontend gRPC address: `host:port`, `http://host:port`, or
    /// `https://host:port` for TLS. Unreachable: FAILED.
    pub address: String,
    /// Default `default`.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Only runs of this workflow type; it also enables activity statistics.
    #[serde(default)]
    pub workflow_type: Option<String>,
    /// Task queues whose pollers are checked. Default: the queues of the
    /// runs seen in `window`.
    #[serde(default)]
    pub task_queues: Vec<String>,
    /// How far back closed runs are counted. Default `15m`.
    #[serde(default = "fifteen_minutes", with = "serde_duration")]
    pub window: Duration,
    /// Share of closed runs that failed, timed out or were terminated above
    /// which the service is DEGRADED (1 turns it off). Default 0.05.
    #[serde(default = "five_percent")]
    pub failure_rate_degraded: f64,
    /// ... and FAILED. Default 0.25.
    #[serde(default = "quarter")]
    pub failure_rate_failed: f64,
    /// A run still open after this long is stuck: DEGRADED. Default `1h`.
    #[serde(default = "one_hour", with = "serde_duration")]
    pub max_running: Duration,
    /// A task queue with no poller seen within this is FAILED (no workers).
    /// Default `2m`, above the server's one-minute long poll.
    #[serde(default = "two_minutes", with = "serde_duration")]
    pub poller_freshness: Duration,
    /// Tasks waiting longer than this in a queue: DEGRADED. Default `5m`.
    #[serde(default = "five_minutes", with = "serde_duration")]
    pub max_backlog_age: Duration,
    /// Check the namespace's schedules: paused, or a run later than their
    /// spec says, or runs skipped since the last check: DEGRADED. Default true.
    #[serde(default = "yes")]
    pub schedules: bool,
    /// Watch this one schedule only (its pause, lateness and skipped runs),
    /// not the namespace's runs: paused on purpose is STOPPED, a schedule
    /// that does not exist FAILED.
    #[serde(default)]
    pub schedule_id: Option<String>,
    /// A scheduled run may be this late before it counts as missed. Default `1m`.
    #[serde(default = "one_minute", with = "serde_duration")]
    pub schedule_grace: Duration,
    /// Recent closed runs of `workflow_type` whose histories give activity
    /// durations, retries and failures. 0 turns it off. Default 5.
    #[serde(default = "five")]
    pub activity_sample: u32,
    /// An activity type whose p95 is above this: DEGRADED. Default: none.
    #[serde(default, with = "crate::time::serde_duration_opt")]
    pub activity_p95_max: Option<Duration>,
    /// Sent as `authorization: Bearer <key>` (Temporal Cloud API keys).
    #[serde(default)]
    pub api_key: Option<String>,
    /// PEM CA bundle for https:// (default: the system roots).
    #[serde(default)]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate and key for mutual TLS.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Name expected in the server's certificate (default: the host).
    #[serde(default)]
    pub tls_server_name: Option<String>,
}

fn default_namespace() -> String {
    "default".into()
}
fn fifteen_minutes() -> Duration {
    Duration::from_secs(900)
}
fn five_minutes() -> Duration {
    Duration::from_secs(300)
}
fn two_minutes() -> Duration {
    Duration::from_secs(120)
}
fn one_minute() -> Duration {
    Duration::from_secs(60)
}
fn one_hour() -> Duration {
    Duration::from_secs(3600)
}
fn five_percent() -> f64 {
    0.05
}
fn quarter() -> f64 {
    0.25
}
fn five() -> u32 {
    5
}
fn yes() -> bool {
    true
}

impl TemporalSpec {
    /// The URL the client dials (`http://` added when no scheme is given).
    pub fn endpoint(&self) -> String {
        if self.address.contains("://") {
            self.address.clone()
        } else {
            format!("http://{}", self.address)
        }
    }

    pub fn tls(&self) -> bool {
        self.address.starts_with("https://")
    }

    pub fn validate(&self) -> Result<(), (String, String)> {
        let endpoint = self.endpoint();
        let url = url::Url::parse(&endpoint).map_err(|e| {
            (
                "address".to_string(),
                format!("`{}` is not host:port or a URL: {e}", self.address),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.port().is_none() {
            return Err((
                "address".into(),
                format!(
                    "`{}` must look like host:port, http://host:port or https://host:port",
                    self.address
                ),
            ));
        }
        if self.namespace.is_empty() {
            return Err(("namespace".into(), "must not be empty".into()));
        }
        if self.schedule_id.as_ref().is_some_and(|s| s.is_empty()) {
            return Err(("schedule_id".into(), "must not be empty".into()));
        }
        for (key, v) in [
            ("failure_rate_degraded", self.failure_rate_degraded),
            ("failure_rate_failed", self.failure_rate_failed),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err((key.into(), "must be a share between 0 and 1".into()));
            }
        }
        if self.failure_rate_failed < self.failure_rate_degraded {
            return Err((
                "failure_rate_failed".into(),
                "must not be below `failure_rate_degraded`".into(),
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err((
                "tls_key".into(),
                "`tls_cert` and `tls_key` go together".into(),
            ));
        }
        if !self.tls()
            && (self.tls_ca.is_some() || self.tls_cert.is_some() || self.tls_server_name.is_some())
        {
            return Err((
                "address".into(),
                "TLS settings need an https:// address".into(),
            ));
        }
        for (key, text) in [("workflow_type", self.workflow_type.as_deref())]
            .into_iter()
            .chain(
                self.task_queues
                    .iter()
                    .map(|q| ("task_queues", Some(q.as_str()))),
            )
        {
            // Values go into visibility queries as quoted strings.
            if text.is_some_and(|t| t.is_empty() || t.contains(['\'', '"', '\\'])) {
                return Err((
                    key.into(),
                    format!("`{}` is not a valid name", text.unwrap_or_default()),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals_name_the_key() {
        let s: TemporalSpec =
            serde_json::from_value(serde_json::json!({"address": "127.0.0.1:7233"})).unwrap();
        s.validate().unwrap();
        assert_eq!(s.endpoint(), "http://127.0.0.1:7233");
        assert_eq!((s.namespace.as_str(), s.activity_sample), ("default", 5));
        assert_eq!(s.poller_freshness, Duration::from_secs(120));
        let bad = |v: serde_json::Value| {
            serde_json::from_value::<TemporalSpec>(v)
                .unwrap()
                .validate()
                .unwrap_err()
                .0
        };
        assert_eq!(bad(serde_json::json!({"address": "temporal"})), "address");
        assert_eq!(
            bad(serde_json::json!({"address": "t:7233", "failure_rate_failed": 0.01})),
            "failure_rate_failed"
        );
        assert_eq!(
            bad(serde_json::json!({"address": "t:7233", "workflow_type": "a' OR 1=1"})),
            "workflow_type"
        );
        assert_eq!(
            bad(serde_json::json!({"address": "t:7233", "tls_ca": "/ca.pem"})),
            "address"
        );
        assert_eq!(
            bad(serde_json::json!({"address": "https://t:7233", "tls_cert": "/c.pem"})),
            "tls_key"
        );
    }
}
