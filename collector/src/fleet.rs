//! Which agent runs which catalog service: an enabled service with a check
//! goes to every agent whose labels include all of the service's `labels`
//! (each agent also carries `agent_id=<its id>`). A service with no labels
//! is assigned to nobody. Its `status_config` may say how often to run
//! (`interval`, default 30s), how long a run may take (`timeout`) and how
//! long it may stay silent before it is UNKNOWN (`grace`, see `staleness`).

use std::collections::BTreeMap;
use std::time::Duration;

use lightbulb_common::ServiceType;
use lightbulb_common::time::millis_u32;
use lightbulb_proto::v1;

use crate::store::catalog::{Catalog, ServiceDef};

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const SCHEDULE_KEYS: [&str; 3] = ["interval", "timeout", "grace"];

/// When a check runs, as its `status_config` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub interval: Duration,
    pub timeout: Option<Duration>,
    pub grace: Option<Duration>,
}

/// The schedule a `status_config` gives its check; errors are (key,
/// reason) like the check parsers'.
pub fn schedule(config: &serde_json::Value) -> Result<Schedule, (String, String)> {
    let mut found = [None, None, None];
    if let Some(obj) = config.as_object() {
        for (slot, key) in found.iter_mut().zip(SCHEDULE_KEYS) {
            let Some(v) = obj.get(key) else { continue };
            let text = v.as_str().ok_or_else(|| {
                (
                    key.to_string(),
                    "must be a duration like \"30s\"".to_string(),
                )
            })?;
            let d =
                lightbulb_common::time::parse_duration(text).map_err(|e| (key.to_string(), e))?;
            if d < Duration::from_millis(100) {
                return Err((key.to_string(), "must be at least 100ms".into()));
            }
            *slot = Some(d);
        }
    }
    Ok(Schedule {
        interval: found[0].unwrap_or(DEFAULT_INTERVAL),
        timeout: found[1],
        grace: found[2],
    })
}

/// `status_config` without the schedule keys, and the schedule.
pub fn split_schedule(
    config: &serde_json::Value,
) -> Result<(serde_json::Value, Schedule), (String, String)> {
    let schedule = schedule(config)?;
    let mut rest = config.clone();
    if let Some(obj) = rest.as_object_mut() {
        for key in SCHEDULE_KEYS {
            obj.remove(key);
        }
    }
    Ok((rest, schedule))
}

/// Whether `service` runs on an agent with these labels.
pub fn matches(service: &ServiceDef, agent_id: &str, labels: &BTreeMap<String, String>) -> bool {
    !service.labels.is_empty()
        && service
            .labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v) || (k == "agent_id" && v == agent_id))
}

/// Whether a service is run by an agent at all (applications are derived).
pub fn is_checked(service: &ServiceDef) -> bool {
    service.enabled && service.service_type != ServiceType::Application.as_str()
}

/// The checks for one agent, ordered by service id.
pub fn assignment(
    catalog: &Catalog,
    agent_id: &str,
    labels: &BTreeMap<String, String>,
) -> Vec<v1::CheckDefinition> {
    catalog
        .services
        .values()
        .filter(|s| is_checked(s) && matches(s, agent_id, labels))
        .filter_map(|s| {
            // Stored services passed validation; a bad one is skipped, not sent.
            let (config, schedule) = split_schedule(&s.status_config).ok()?;
            Some(v1::CheckDefinition {
                service_id: s.service_id.clone(),
                service_type: s.service_type.clone(),
                interval_ms: millis_u32(schedule.interval),
                status_config_json: config.to_string(),
                timeout_ms: schedule.timeout.map_or(0, millis_u32),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_keys_come_out_of_the_check_config() {
        let (rest, schedule) = split_schedule(&serde_json::json!(
            {"url": "http://x", "interval": "5s", "timeout": "1s", "grace": "1m"}
        ))
        .unwrap();
        assert_eq!(rest, serde_json::json!({"url": "http://x"}));
        assert_eq!(
            schedule,
            Schedule {
                interval: Duration::from_secs(5),
                timeout: Some(Duration::from_secs(1)),
                grace: Some(Duration::from_secs(60)),
            }
        );
        assert_eq!(
            split_schedule(&serde_json::json!({"interval": 5}))
                .unwrap_err()
                .0,
            "interval"
        );
        assert_eq!(
            split_schedule(&serde_json::json!({"timeout": "1ms"}))
                .unwrap_err()
                .0,
            "timeout"
        );
        assert_eq!(
            split_schedule(&serde_json::json!({})).unwrap().1.interval,
            DEFAULT_INTERVAL
        );
    }

    #[test]
    fn labels_select_agents() {
        let mut s = ServiceDef::tombstone("web");
        let agent: BTreeMap<String, String> = [("zone".to_string(), "eu".to_string())].into();
        assert!(!matches(&s, "a", &agent), "no labels: nobody");
        s.labels = [("zone".to_string(), "eu".to_string())].into();
        assert!(matches(&s, "a", &agent));
        s.labels.insert("agent_id".into(), "b".into());
        assert!(!matches(&s, "a", &agent));
        assert!(matches(&s, "b", &agent));
    }
}
