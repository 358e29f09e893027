//! One evaluation of every rule against every service: which alerts start,
//! fire and resolve, and which notifications that makes. An alert whose
//! service fails only because a dependency does (its root cause has an
//! alert of its own) is grouped under that alert and named in its
//! notification instead of sending one; an alert that leaves its group
//! waits `max(for, REGROUP_MS)` before notifying on its own, so dependants
//! recovering a check after their dependency do not page one by one.

use std::collections::{BTreeMap, HashMap};

use lightbulb_common::Status;

use super::model::{Alert, AlertState, Event, Message, Rule};

/// How long an alert that was grouped stays quiet after its group ends.
pub const REGROUP_MS: i64 = 60_000;

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
}

/// Every service by id, and the dashboard's address for links.
pub struct World {
    pub services: BTreeMap<String, ServiceNow>,
    pub link_base: String,
}

impl World {
    /// Failing services whose root cause is `id`.
    fn impacted_by(&self, id: &str) -> Vec<String> {
        self.services
            .iter()
            .filter(|(_, s)| s.root_cause.as_deref() == Some(id))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// What one evaluation decided.
#[derive(Default)]
pub struct Step {
    /// Alerts to store (new, changed, resolved).
    pub changed: Vec<Alert>,
    /// Pending alerts that ended before firing: to delete.
    pub dropped: Vec<String>,
    /// Messages to send, with the rule's channels.
    pub messages: Vec<(Message, Vec<String>)>,
}

/// The alerts not yet resolved, by rule and service.
#[derive(Default)]
pub struct Engine {
    active: HashMap<(String, String), Alert>,
    /// When a grouped alert left its group, by alert id.
    ungrouped_at: HashMap<String, i64>,
}

impl Engine {
    /// Takes up the pending and firing alerts stored before a restart.
    pub fn resume(alerts: impl IntoIterator<Item = Alert>) -> Engine {
        let active = alerts
            .into_iter()
            .filter(|a| a.state != AlertState::Resolved)
            .map(|a| ((a.rule_id.clone(), a.service_id.clone()), a))
            .collect();
        Engine {
            active,
            ungrouped_at: HashMap::new(),
        }
    }

    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.active.values()
    }

    pub fn evaluate(&mut self, rules: &[Rule], world: &World, now_ms: i64) -> Step {
        let mut step = Step::default();
        let rules: BTreeMap<&str, &Rule> = rules
            .iter()
            .filter(|r| r.enabled)
            .map(|r| (r.rule_id.as_str(), r))
            .collect();
        let mut holding = std::collections::HashSet::new();
        for rule in rules.values() {
            for (id, s) in &world.services {
                if rule.scope.matches(id, &s.service_type, &s.labels)
                    && rule.condition.holds(s.status)
                {
                    holding.insert((rule.rule_id.clone(), id.clone()));
                }
            }
        }
        // Ended: resolved (or dropped while pending).
        let ended: Vec<(String, String)> = self
            .active
            .keys()
            .filter(|k| !holding.contains(*k))
            .cloned()
            .collect();
        for key in ended {
            let Some(mut a) = self.active.remove(&key) else {
                continue;
            };
            self.ungrouped_at.remove(&a.alert_id);
            if a.state == AlertState::Pending {
                step.dropped.push(a.alert_id);
                continue;
            }
            a.state = AlertState::Resolved;
            a.resolved_ms = Some(now_ms);
            if let Some(s) = world.services.get(&a.service_id) {
                a.status = s.status.name().to_string();
                a.message = s.message.clone();
            }
            if a.notified
                && let Some(rule) = rules.get(a.rule_id.as_str())
            {
                step.messages.push((
                    message(rule, &a, Event::Resolved, world),
                    rule.channels.clone(),
                ));
            }
            step.changed.push(a);
        }
        // Started, and fired once held for the rule's `for`.
        let mut keys: Vec<_> = holding.into_iter().collect();
        keys.sort();
        for key in &keys {
            let (rule, s) = (rules[key.0.as_str()], &world.services[&key.1]);
            let a = self.active.entry(key.clone()).or_insert_with(|| {
                let a = Alert {
                    alert_id: Alert::id(&rule.rule_id, &key.1, now_ms),
                    rule_id: rule.rule_id.clone(),
                    service_id: key.1.clone(),
                    severity: rule.severity,
                    state: AlertState::Pending,
                    since_ms: now_ms,
                    fired_ms: None,
                    resolved_ms: None,
                    status: s.status.name().to_string(),
                    message: s.message.clone(),
                    root_cause: None,
                    notified: false,
                    impacted: Vec::new(),
                };
                step.changed.push(a.clone());
                a
            });
            if a.state == AlertState::Pending && now_ms - a.since_ms >= rule.for_ms {
                a.state = AlertState::Firing;
                a.fired_ms = Some(now_ms);
                a.status = s.status.name().to_string();
                a.message = s.message.clone();
                step.changed.push(a.clone());
            }
        }
        // Notified on its own, or grouped under its root cause's alert.
        let alerting: std::collections::HashSet<String> =
            self.active.values().map(|a| a.service_id.clone()).collect();
        for key in &keys {
            let rule = rules[key.0.as_str()];
            let s = &world.services[&key.1];
            let a = self.active.get_mut(key).expect("active above");
            if a.state != AlertState::Firing {
                continue;
            }
            if a.notified {
                let impacted = world.impacted_by(&a.service_id);
                let mut grown = a.impacted.clone();
                grown.extend(impacted.into_iter().filter(|i| !a.impacted.contains(i)));
                if grown != a.impacted {
                    a.impacted = grown;
                    step.changed.push(a.clone());
                }
                continue;
            }
            let group = s.root_cause.clone().filter(|r| alerting.contains(r));
            if group.is_some() {
                if a.root_cause != group {
                    a.root_cause = group;
                    step.changed.push(a.clone());
                }
                self.ungrouped_at.remove(&a.alert_id);
                continue;
            }
            if a.root_cause.is_some() {
                let left = *self
                    .ungrouped_at
                    .entry(a.alert_id.clone())
                    .or_insert(now_ms);
                if now_ms - left < rule.for_ms.max(REGROUP_MS) {
                    continue;
                }
            }
            a.root_cause = None;
            a.notified = true;
            a.impacted = world.impacted_by(&a.service_id);
            step.messages.push((
                message(rule, a, Event::Firing, world),
                rule.channels.clone(),
            ));
            step.changed.push(a.clone());
        }
        step
    }
}

fn message(rule: &Rule, a: &Alert, event: Event, world: &World) -> Message {
    let label = world
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
            world.link_base.trim_end_matches('/'),
            a.service_id
        ),
    }
}

#[cfg(test)]
mod tests;
