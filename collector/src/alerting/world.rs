//! What the engine evaluates: every service with its status, labels and
//! root cause, what people did with alerts, and the silences; and what a
//! notification says.

use std::collections::{BTreeMap, HashMap};

use lightbulb_common::Status;

use super::model::Verdict;
use super::model::{Alert, Condition, Event, Handling, Message, Rule};
use super::silence::Silence;

/// One service as the engine sees it.
#[derive(Debug, Clone)]
pub struct ServiceNow {
    pub label: String,
    pub service_type: String,
    pub labels: BTreeMap<String, String>,
    pub status: Status,
    pub message: String,
    /// The failing dependency at the end of its `caused_by` chain.
    pub root_cause: Option<String>,
    /// When it is silent (UNKNOWN for want of results): its last result.
    pub last_result_ms: Option<i64>,
    /// How often it is checked, ms (known when it is silent; else 0).
    pub interval_ms: i64,
}

/// Every service by id, what people did with alerts, and the dashboard's
/// address for links.
#[derive(Default)]
pub struct World {
    pub services: BTreeMap<String, ServiceNow>,
    pub handling: HashMap<String, Handling>,
    pub silences: Vec<Silence>,
    pub link_base: String,
    /// Metric conditions as last judged, by rule and service id.
    pub verdicts: HashMap<(String, String), Verdict>,
    /// Stored unusual hours of the current and the previous hour, by service.
    pub anomalies: HashMap<String, Vec<crate::insights::anomaly::Anomaly>>,
}

impl World {
    /// Why `rule` holds for the service `id` now, if it does.
    pub(super) fn holds(
        &self,
        rule: &Rule,
        id: &str,
        s: &ServiceNow,
        now_ms: i64,
    ) -> Option<String> {
        if !rule.scope.matches(id, &s.service_type, &s.labels) {
            return None;
        }
        match &rule.condition {
            Condition::Status { statuses } => statuses
                .iter()
                .any(|x| x == s.status.name())
                .then(|| s.message.clone()),
            Condition::Absent { intervals } => {
                let last = s.last_result_ms?;
                (now_ms - last >= i64::from(*intervals) * s.interval_ms).then(|| s.message.clone())
            }
            Condition::Anomaly { metrics, min_score } => {
                let hour = crate::insights::anomaly::HOUR_MS;
                let since = now_ms.div_euclid(hour) * hour - hour;
                self.anomalies
                    .get(id)?
                    .iter()
                    .filter(|a| {
                        a.start_ms >= since && metrics.contains(&a.metric) && a.score >= *min_score
                    })
                    .max_by(|a, b| a.score.total_cmp(&b.score))
                    .map(crate::insights::anomaly::Anomaly::describe)
            }
            Condition::Metric { .. } | Condition::CertExpiry { .. } => self
                .verdicts
                .get(&(rule.rule_id.clone(), id.to_string()))
                .filter(|v| v.holds)
                .map(|v| v.reason.clone()),
        }
    }

    /// The open silence holding back `rule`'s notifications for `service_id`.
    pub(super) fn silence(&self, rule_id: &str, service_id: &str, now_ms: i64) -> Option<String> {
        let none = BTreeMap::new();
        let labels = self.services.get(service_id).map_or(&none, |s| &s.labels);
        self.silences
            .iter()
            .find(|s| s.matches(rule_id, service_id, labels) && s.open(now_ms))
            .map(|s| s.silence_id.clone())
    }

    /// Failing services whose root cause is `id`.
    pub(super) fn impacted_by(&self, id: &str) -> Vec<String> {
        self.services
            .iter()
            .filter(|(_, s)| s.root_cause.as_deref() == Some(id))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// What a notification of `a` (of `rule`) says about `event`.
    pub(super) fn message(&self, rule: &Rule, a: &Alert, event: Event) -> Message {
        let label = self
            .services
            .get(&a.service_id)
            .map_or_else(|| a.service_id.clone(), |s| s.label.clone());
        Message {
            event,
            alert_id: a.alert_id.clone(),
            rule_id: rule.rule_id.clone(),
            rule_name: rule.name.clone(),
            severity: a.severity,
            service_id: a.service_id.clone(),
            service_label: label,
            status: a.status.clone(),
            message: a.message.clone(),
            since_ms: a.since_ms,
            impacted: a.impacted.clone(),
            link: format!(
                "{}/services/{}",
                self.link_base.trim_end_matches('/'),
                a.service_id
            ),
            escalation: None,
            acknowledge_link: None,
        }
    }
}
