//! One evaluation of every rule against every service: which alerts start,
//! fire, escalate and resolve, and which notifications that makes.
//!
//! - An alert whose service fails only because a dependency does (its root
//!   cause has an alert of its own) is grouped under that alert and named
//!   in its notification instead of sending one (a pending alert joins the
//!   group too); an alert that leaves its group waits `max(for, REGROUP_MS)`
//!   before notifying on its own, so dependants recovering a check after
//!   their dependency do not page.
//! - A firing alert resolves once its condition has been absent for the
//!   rule's `resolve_after` (hysteresis).
//! - More than `flap_limit` notifications of one rule and service within
//!   `flap_window` make it flapping: its alerts are recorded, not notified.
//! - An unacknowledged firing alert escalates on the rule's steps (timed
//!   from when it fired), then repeats; acknowledging stops that,
//!   un-acknowledging resumes it; resolving by hand ends the alert, and no
//!   new one starts until the condition has ended.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use super::model::{Alert, AlertState, Event, Message, Rule};
pub use super::world::{ServiceNow, World};

/// How long an alert that was grouped stays quiet after its group ends.
pub const REGROUP_MS: i64 = 60_000;

/// What one evaluation decided.
#[derive(Default)]
pub struct Step {
    /// Alerts to store (new, changed, resolved).
    pub changed: Vec<Alert>,
    /// Pending alerts that ended before firing: to delete.
    pub dropped: Vec<String>,
    /// Messages to send, with the channels to send them to.
    pub messages: Vec<(Message, Vec<String>)>,
    /// Messages a silence holds back (recorded, not sent), and its id.
    pub suppressed: Vec<(Message, Vec<String>, String)>,
}

impl Step {
    fn say(&mut self, m: Message, channels: Vec<String>, silence: Option<String>) {
        match silence {
            Some(s) => self.suppressed.push((m, channels, s)),
            None => self.messages.push((m, channels)),
        }
    }
}

type Key = (String, String);

/// The alerts not yet resolved, by rule and service, and what the engine
/// remembers about them between rounds.
#[derive(Default)]
pub struct Engine {
    active: HashMap<Key, Alert>,
    /// When a grouped alert left its group, by alert id.
    ungrouped_at: HashMap<String, i64>,
    /// When a firing alert's condition stopped holding, by alert id.
    clear_since: HashMap<String, i64>,
    /// When notifications of each rule and service were sent.
    sent: HashMap<Key, VecDeque<i64>>,
    /// Resolved by hand while the condition holds: no new alert until it ends.
    held_down: HashSet<Key>,
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
            ..Engine::default()
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
        let mut holding: HashMap<Key, String> = HashMap::new();
        for rule in rules.values() {
            for (id, s) in &world.services {
                if let Some(why) = world.holds(rule, id, s, now_ms) {
                    holding.insert((rule.rule_id.clone(), id.clone()), why);
                }
            }
        }
        self.held_down.retain(|k| holding.contains_key(k));
        self.end(&rules, &holding, world, now_ms, &mut step);
        let mut keys: Vec<(Key, String)> = holding
            .into_iter()
            .filter(|(k, _)| !self.held_down.contains(k))
            .collect();
        keys.sort();
        for (key, why) in &keys {
            self.start_or_fire(
                rules[key.0.as_str()],
                key,
                (&world.services[&key.1], why),
                now_ms,
                &mut step,
            );
        }
        let keys: Vec<Key> = keys.into_iter().map(|(k, _)| k).collect();
        let alerting: HashSet<String> =
            self.active.values().map(|a| a.service_id.clone()).collect();
        // A pending alert whose failing dependency has an alert is in that
        // group already: should the group end just as it fires, it waits
        // like any alert leaving a group, instead of paging on its own.
        for key in &keys {
            let root = world.services[&key.1].root_cause.as_ref();
            if let Some(a) = self.active.get_mut(key)
                && a.state == AlertState::Pending
                && root.is_some_and(|r| alerting.contains(r))
                && a.root_cause.as_ref() != root
            {
                a.root_cause = root.cloned();
                step.changed.push(a.clone());
            }
        }
        for key in &keys {
            let rule = rules[key.0.as_str()];
            if self
                .active
                .get(key)
                .is_some_and(|a| a.state == AlertState::Firing)
            {
                self.handle(key, world, now_ms, &mut step);
                self.notify(rule, key, world, &alerting, now_ms, &mut step);
                self.escalate(rule, key, world, now_ms, &mut step);
            }
        }
        // An alert changed twice in a round is stored once, as it ends up.
        let mut seen = HashSet::new();
        step.changed.reverse();
        step.changed.retain(|a| seen.insert(a.alert_id.clone()));
        step.changed.reverse();
        step
    }

    /// Resolves (or drops) the alerts whose condition ended, or that were
    /// resolved by hand; and those of rules that are gone.
    fn end(
        &mut self,
        rules: &BTreeMap<&str, &Rule>,
        holding: &HashMap<Key, String>,
        world: &World,
        now_ms: i64,
        step: &mut Step,
    ) {
        let keys: Vec<Key> = self.active.keys().cloned().collect();
        for key in keys {
            let a = &self.active[&key];
            let by_hand = world
                .handling
                .get(&a.alert_id)
                .and_then(|h| h.resolved_by.clone());
            let rule = rules.get(key.0.as_str());
            if holding.contains_key(&key) && by_hand.is_none() && rule.is_some() {
                self.clear_since.remove(&a.alert_id);
                continue;
            }
            if by_hand.is_none() && a.state == AlertState::Firing {
                let since = *self.clear_since.entry(a.alert_id.clone()).or_insert(now_ms);
                if rule.is_some_and(|r| now_ms - since < r.resolve_after_ms) {
                    continue;
                }
            }
            let Some(mut a) = self.active.remove(&key) else {
                continue;
            };
            self.ungrouped_at.remove(&a.alert_id);
            self.clear_since.remove(&a.alert_id);
            if a.state == AlertState::Pending && by_hand.is_none() {
                step.dropped.push(a.alert_id);
                continue;
            }
            if by_hand.is_some() && holding.contains_key(&key) {
                self.held_down.insert(key.clone());
            }
            a.state = AlertState::Resolved;
            a.resolved_ms = Some(now_ms);
            a.resolved_by = by_hand;
            if let Some(s) = world.services.get(&a.service_id) {
                a.status = s.status.name().to_string();
                a.message = s.message.clone();
            }
            if a.notified
                && let Some(rule) = rule
            {
                let silence = world.silence(&a.rule_id, &a.service_id, now_ms);
                if silence.is_none() {
                    self.sent.entry(key).or_default().push_back(now_ms);
                }
                step.say(
                    world.message(rule, &a, Event::Resolved),
                    rule.channels.clone(),
                    silence,
                );
            }
            step.changed.push(a);
        }
    }

    fn start_or_fire(
        &mut self,
        rule: &Rule,
        key: &Key,
        (s, why): (&ServiceNow, &str),
        now_ms: i64,
        step: &mut Step,
    ) {
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
                message: why.to_string(),
                root_cause: None,
                notified: false,
                impacted: Vec::new(),
                acknowledged_by: None,
                acknowledged_ms: None,
                resolved_by: None,
                escalations: 0,
                last_escalation_ms: None,
                flapping: false,
                silenced_by: None,
            };
            step.changed.push(a.clone());
            a
        });
        if a.state == AlertState::Pending && now_ms - a.since_ms >= rule.for_ms {
            a.state = AlertState::Firing;
            a.fired_ms = Some(now_ms);
            a.status = s.status.name().to_string();
            a.message = why.to_string();
            step.changed.push(a.clone());
        }
    }

    /// Takes up an acknowledgement, or its withdrawal.
    fn handle(&mut self, key: &Key, world: &World, now_ms: i64, step: &mut Step) {
        let a = self.active.get_mut(key).expect("firing");
        let wanted = world
            .handling
            .get(&a.alert_id)
            .and_then(|h| h.acknowledged_by.clone());
        if wanted != a.acknowledged_by {
            a.acknowledged_ms = wanted.as_ref().map(|_| now_ms);
            a.acknowledged_by = wanted;
            step.changed.push(a.clone());
        }
    }

    /// Notifies a firing alert on its own, groups it under its root
    /// cause's alert, or (flapping) records it without notifying.
    fn notify(
        &mut self,
        rule: &Rule,
        key: &Key,
        world: &World,
        alerting: &HashSet<String>,
        now_ms: i64,
        step: &mut Step,
    ) {
        let s = &world.services[&key.1];
        let a = self.active.get_mut(key).expect("firing");
        if a.notified {
            let mut grown = a.impacted.clone();
            grown.extend(
                world
                    .impacted_by(&a.service_id)
                    .into_iter()
                    .filter(|i| !a.impacted.contains(i)),
            );
            if grown != a.impacted {
                a.impacted = grown;
                step.changed.push(a.clone());
            }
            return;
        }
        let group = s.root_cause.clone().filter(|r| alerting.contains(r));
        if group.is_some() {
            if a.root_cause != group {
                a.root_cause = group;
                step.changed.push(a.clone());
            }
            self.ungrouped_at.remove(&a.alert_id);
            return;
        }
        if a.root_cause.is_some() {
            let left = *self
                .ungrouped_at
                .entry(a.alert_id.clone())
                .or_insert(now_ms);
            if now_ms - left < rule.for_ms.max(REGROUP_MS) {
                return;
            }
        }
        if let Some(silence) = world.silence(&rule.rule_id, &a.service_id, now_ms) {
            // Recorded once per silence; notified when it ends, if still firing.
            if a.silenced_by.as_deref() != Some(&silence) {
                a.silenced_by = Some(silence.clone());
                a.impacted = world.impacted_by(&a.service_id);
                step.say(
                    world.message(rule, a, Event::Firing),
                    rule.channels.clone(),
                    Some(silence),
                );
                step.changed.push(a.clone());
            }
            return;
        }
        let sent = self.sent.entry(key.clone()).or_default();
        while sent
            .front()
            .is_some_and(|t| now_ms - t >= rule.flap_window_ms)
        {
            sent.pop_front();
        }
        let flapping = rule.flap_limit > 0 && sent.len() >= rule.flap_limit as usize;
        if flapping {
            if !a.flapping {
                a.flapping = true;
                step.changed.push(a.clone());
            }
            return;
        }
        sent.push_back(now_ms);
        a.flapping = false;
        a.silenced_by = None;
        a.root_cause = None;
        a.notified = true;
        a.impacted = world.impacted_by(&a.service_id);
        step.messages
            .push((world.message(rule, a, Event::Firing), rule.channels.clone()));
        step.changed.push(a.clone());
    }

    /// The escalation steps due for a notified, unacknowledged alert; then
    /// the repeats of the last step.
    fn escalate(&mut self, rule: &Rule, key: &Key, world: &World, now_ms: i64, step: &mut Step) {
        let a = self.active.get_mut(key).expect("firing");
        if !a.notified || a.acknowledged_by.is_some() || rule.escalation.is_empty() {
            return;
        }
        // Held while silenced; overdue steps go out when the silence ends.
        if world
            .silence(&rule.rule_id, &a.service_id, now_ms)
            .is_some()
        {
            return;
        }
        let fired = a.fired_ms.unwrap_or(a.since_ms);
        let last_step = rule.escalation.last().expect("not empty");
        let due = match rule.escalation.get(a.escalations as usize) {
            Some(next) => (now_ms - fired >= next.after_ms).then_some(next),
            None => rule
                .repeat_ms
                .filter(|r| a.last_escalation_ms.is_some_and(|l| now_ms - l >= *r))
                .map(|_| last_step),
        };
        let Some(due) = due else { return };
        a.escalations += 1;
        a.last_escalation_ms = Some(now_ms);
        let mut m = world.message(rule, a, Event::Escalated);
        m.escalation = Some(a.escalations);
        step.messages.push((m, due.channels.clone()));
        step.changed.push(a.clone());
    }
}

#[cfg(test)]
mod condition_tests;
#[cfg(test)]
mod tests;
