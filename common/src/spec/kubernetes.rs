//! `kubernetes_pod`: which pods to watch and the thresholds that turn their
//! state into DEGRADED or FAILED.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::serde_duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSpec {
    /// A kubeconfig file. Default: the in-cluster service account, else
    /// `$KUBECONFIG` or `~/.kube/config`.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig (default: its current context).
    #[serde(default)]
    pub context: Option<String>,
    /// Default `default`.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Pods matching this label selector (`app=web,tier!=cache`).
    #[serde(default)]
    pub selector: Option<String>,
    /// One pod by name.
    #[serde(default)]
    pub pod: Option<String>,
    /// The pods of a deployment; its `replicas` is the desired count.
    #[serde(default)]
    pub deployment: Option<String>,
    /// Pods expected for `selector` (a deployment says it itself; a named
    /// pod is one). Default: as many as are found.
    #[serde(default)]
    pub desired: Option<u32>,
    /// Ready/desired below this: DEGRADED. Default 1.0.
    #[serde(default = "one")]
    pub degraded_ready_ratio: f64,
    /// Ready/desired below this (or no pod ready): FAILED. Default 0.5.
    #[serde(default = "half")]
    pub failed_ready_ratio: f64,
    /// A container restarted more often than this in all: DEGRADED; any
    /// restart since the previous run is DEGRADED too. Default 5.
    #[serde(default = "five")]
    pub max_restarts: u32,
    /// CPU or memory use above this share of the limit (metrics API):
    /// DEGRADED. Default 90.
    #[serde(default = "ninety")]
    pub max_limit_percent: f64,
    /// A claim volume fuller than this (%, where the kubelet reports use)
    /// is DEGRADED. Default 90.
    #[serde(default = "ninety")]
    pub max_volume_percent: f64,
    /// Warning events newer than this are shown. Default `15m`.
    #[serde(default = "fifteen_minutes", with = "serde_duration")]
    pub events_window: Duration,
    /// Log lines of a failing container put in `details`. Default 20.
    #[serde(default = "twenty")]
    pub log_lines: u32,
}

fn default_namespace() -> String {
    "default".into()
}
fn one() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}
fn five() -> u32 {
    5
}
fn ninety() -> f64 {
    90.0
}
fn twenty() -> u32 {
    20
}
fn fifteen_minutes() -> Duration {
    Duration::from_secs(900)
}

/// A Kubernetes object name (RFC 1123 subdomain).
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !s.starts_with(['-', '.'])
        && !s.ends_with(['-', '.'])
}

impl KubernetesSpec {
    pub fn validate(&self) -> Result<(), (String, String)> {
        let chosen = [
            self.selector.is_some(),
            self.pod.is_some(),
            self.deployment.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if chosen != 1 {
            return Err((
                "selector".into(),
                "give exactly one of `selector`, `pod` and `deployment`".into(),
            ));
        }
        for (key, v) in [
            ("namespace", Some(&self.namespace)),
            ("pod", self.pod.as_ref()),
            ("deployment", self.deployment.as_ref()),
        ] {
            if let Some(v) = v
                && !valid_name(v)
            {
                return Err((key.into(), format!("`{v}` is not a Kubernetes object name")));
            }
        }
        if self.selector.as_ref().is_some_and(|s| s.trim().is_empty()) {
            return Err(("selector".into(), "must not be empty".into()));
        }
        for (key, v) in [
            ("degraded_ready_ratio", self.degraded_ready_ratio),
            ("failed_ready_ratio", self.failed_ready_ratio),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err((key.into(), "must be a share between 0 and 1".into()));
            }
        }
        if self.failed_ready_ratio > self.degraded_ready_ratio {
            return Err((
                "failed_ready_ratio".into(),
                "must not be above `degraded_ready_ratio`".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals_name_the_key() {
        let s: KubernetesSpec =
            serde_json::from_value(serde_json::json!({"selector": "app=web"})).unwrap();
        s.validate().unwrap();
        assert_eq!((s.namespace.as_str(), s.log_lines), ("default", 20));
        let bad = |v: serde_json::Value| {
            serde_json::from_value::<KubernetesSpec>(v)
                .unwrap()
                .validate()
                .unwrap_err()
                .0
        };
        assert_eq!(bad(serde_json::json!({})), "selector");
        assert_eq!(
            bad(serde_json::json!({"pod": "a", "deployment": "b"})),
            "selector"
        );
        assert_eq!(bad(serde_json::json!({"pod": "Web_1"})), "pod");
        assert_eq!(
            bad(
                serde_json::json!({"pod": "a", "failed_ready_ratio": 1.0, "degraded_ready_ratio": 0.5})
            ),
            "failed_ready_ratio"
        );
    }
}
