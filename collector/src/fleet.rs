//! Which agent runs which catalog service: an enabled service with a check
//! goes to every agent whose labels include all of the service's `labels`
//! (each agent also carries `agent_id=<its id>`). A service with no labels
//! is assigned to nobody. How often it runs comes from its `status_config`
//! (`crate::catalog::schedule`).

use std::collections::BTreeMap;

use lightbulb_common::time::millis_u32;
use lightbulb_proto::v1;

use crate::catalog::model::{Catalog, Service};
use crate::catalog::schedule::split_schedule;

/// Whether `service` runs on an agent with these labels.
pub fn matches(service: &Service, agent_id: &str, labels: &BTreeMap<String, String>) -> bool {
    !service.labels.is_empty()
        && service
            .labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v) || (k == "agent_id" && v == agent_id))
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
        .filter(|s| s.is_checked() && matches(s, agent_id, labels))
        .filter_map(|s| {
            // Stored services passed validation; a bad one is skipped, not sent.
            let (config, schedule) = split_schedule(&s.status_config).ok()?;
            Some(v1::CheckDefinition {
                service_id: s.service_id.clone(),
                service_type: s.service_type.as_str().to_string(),
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
    fn labels_select_agents() {
        let mut s = Service::new("web", lightbulb_common::ServiceType::ApiEndpoint, 0);
        let agent: BTreeMap<String, String> = [("zone".to_string(), "eu".to_string())].into();
        assert!(!matches(&s, "a", &agent), "no labels: nobody");
        s.labels = [("zone".to_string(), "eu".to_string())].into();
        assert!(matches(&s, "a", &agent));
        s.labels.insert("agent_id".into(), "b".into());
        assert!(!matches(&s, "a", &agent));
        assert!(matches(&s, "b", &agent));
    }
}
