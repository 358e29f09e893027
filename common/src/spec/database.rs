//! `database` (ClickHouse): what to look at, and the thresholds that turn
//! observations into DEGRADED or FAILED.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::serde_duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// ClickHouse HTTP(S) endpoint, e.g. `http://127.0.0.1:8123`. Unreachable: FAILED.
    pub url: String,
    /// Default `default`.
    #[serde(default = "default_user")]
    pub user: String,
    #[serde(default)]
    pub password: String,
    /// A cluster (from `system.clusters`) whose every node must answer; a
    /// node that does not: DEGRADED, none answering: FAILED.
    #[serde(default)]
    pub cluster: Option<String>,
    /// A read-only replica is FAILED; replication further behind than this
    /// is DEGRADED. Default `5m`.
    #[serde(default = "five_minutes", with = "serde_duration")]
    pub max_replication_delay: Duration,
    /// Replication queue longer than this: DEGRADED (entries failing with
    /// an error are DEGRADED too). Default 100.
    #[serde(default = "hundred")]
    pub max_replication_queue: u64,
    /// Active parts in one partition above this: DEGRADED. Default 300.
    #[serde(default = "three_hundred")]
    pub max_parts_per_partition: u64,
    /// Free disk below this share (servers with `system.disks`): DEGRADED. Default 10.
    #[serde(default = "ten")]
    pub min_free_disk_percent: f64,
    /// Free disk below this share: FAILED. Default 2.
    #[serde(default = "two")]
    pub failed_free_disk_percent: f64,
    /// A query running longer than this counts as slow. Default `10s`.
    #[serde(default = "ten_seconds", with = "serde_duration")]
    pub slow_query: Duration,
    /// More slow queries than this within `window`: DEGRADED. Default 0.
    #[serde(default)]
    pub max_slow_queries: u64,
    /// More failed queries than this within `window`: DEGRADED. Default 0.
    #[serde(default)]
    pub max_failed_queries: u64,
    /// How far back `system.query_log` is read. Default `5m`.
    #[serde(default = "five_minutes", with = "serde_duration")]
    pub window: Duration,
}

fn default_user() -> String {
    "default".into()
}
fn five_minutes() -> Duration {
    Duration::from_secs(300)
}
fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}
fn hundred() -> u64 {
    100
}
fn three_hundred() -> u64 {
    300
}
fn ten() -> f64 {
    10.0
}
fn two() -> f64 {
    2.0
}

impl DatabaseSpec {
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err((
                "url".into(),
                format!("`{}` must start with http:// or https://", self.url),
            ));
        }
        url::Url::parse(&self.url).map_err(|e| {
            (
                "url".to_string(),
                format!("`{}` is not a URL: {e}", self.url),
            )
        })?;
        for (key, v) in [
            ("min_free_disk_percent", self.min_free_disk_percent),
            ("failed_free_disk_percent", self.failed_free_disk_percent),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return Err((key.into(), "must be a percentage between 0 and 100".into()));
            }
        }
        if self.failed_free_disk_percent > self.min_free_disk_percent {
            return Err((
                "failed_free_disk_percent".into(),
                "must not be above `min_free_disk_percent`".into(),
            ));
        }
        if let Some(c) = &self.cluster
            && (c.is_empty() || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        {
            return Err(("cluster".into(), format!("`{c}` is not a cluster name")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals_name_the_key() {
        let s: DatabaseSpec =
            serde_json::from_value(serde_json::json!({"url": "http://ch:8123"})).unwrap();
        assert_eq!(
            (s.user.as_str(), s.max_parts_per_partition),
            ("default", 300)
        );
        assert_eq!(s.slow_query, Duration::from_secs(10));
        s.validate().unwrap();
        let bad = |v: serde_json::Value| {
            serde_json::from_value::<DatabaseSpec>(v)
                .unwrap()
                .validate()
                .unwrap_err()
                .0
        };
        assert_eq!(bad(serde_json::json!({"url": "ch:8123"})), "url");
        assert_eq!(
            bad(serde_json::json!({"url": "http://ch", "min_free_disk_percent": 120})),
            "min_free_disk_percent"
        );
        assert_eq!(
            bad(serde_json::json!({"url": "http://ch", "failed_free_disk_percent": 50})),
            "failed_free_disk_percent"
        );
        assert_eq!(
            bad(serde_json::json!({"url": "http://ch", "cluster": "a'b"})),
            "cluster"
        );
    }
}
