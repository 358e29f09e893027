//! The catalog file's `alert_channels` and `alert_rules`: read with the
//! API's own readers (so each is judged the same wherever it is written),
//! owned by the file (`managed_by = file:<path>`: the API refuses to
//! change them, 409), put in force with the rest of the file, and audited
//! as the file's doing. A channel's value may be `secret://env/NAME` or
//! `secret://file/PATH`, read here when the file is applied.

use std::collections::{BTreeMap, BTreeSet};

use lightbulb_common::secret::SecretRef;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::alerting::fields;
use crate::alerting::model::{Channel, Rule};
use crate::audit::{AuditEntry, ObjectChange, ObjectKind};
use crate::catalog::body::Body;
use crate::catalog::file::{AlertItems, Alerts};
use crate::catalog::owner;
use crate::state::AppState;
use crate::{BoxFuture, Error, Result};

pub struct FileAlerting<'a>(pub &'a AppState);

/// A new or different object (with the one it replaces), or one the file dropped.
enum Change<T> {
    Put(Option<T>, T),
    Delete(T),
}

/// Both parts read.
struct Read {
    channels: Vec<Channel>,
    rules: Vec<Rule>,
}

/// `secret://env/…` and `secret://file/…` values filled in.
fn fill(item: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut out = item.clone();
    for (key, v) in out.iter_mut() {
        let Some(text) = v.as_str() else { continue };
        let value = match SecretRef::parse(text) {
            None => continue,
            Some(Err(why)) => return Err(Error::invalid(key, why)),
            Some(Ok(r)) => r
                .read_local("the collector")
                .map_err(|why| Error::invalid(key, why))?,
        };
        *v = Value::String(value);
    }
    Ok(out)
}

/// `alert_rules[2] (slow)`: where a problem is.
fn place(list: &str, i: usize, item: &Map<String, Value>, key: &str) -> String {
    match item.get(key).and_then(Value::as_str) {
        Some(id) if !id.is_empty() => format!("{list}[{i}] ({id})"),
        _ => format!("{list}[{i}]"),
    }
}

fn problem(at: &str, e: Error) -> String {
    match e {
        Error::Invalid {
            field: Some(field),
            message,
        } => format!("{at}: {field}: {message}"),
        e => format!("{at}: {e}"),
    }
}

/// What putting `new` in force changes against `current` (compared
/// without their update times), and what `owner` held that is gone.
fn plan<T: Clone + PartialEq>(
    current: Vec<T>,
    new: Vec<T>,
    owner: &str,
    id: impl Fn(&T) -> &str,
    managed_by: impl Fn(&T) -> Option<&str>,
    same: impl Fn(&T, &T) -> bool,
) -> Vec<Change<T>> {
    let listed: BTreeSet<String> = new.iter().map(|x| id(x).to_string()).collect();
    let current: BTreeMap<String, T> = current
        .into_iter()
        .map(|x| (id(&x).to_string(), x))
        .collect();
    let mut changes: Vec<Change<T>> = new
        .into_iter()
        .filter_map(|x| {
            let old = current.get(id(&x)).cloned();
            (!old.as_ref().is_some_and(|o| same(o, &x))).then_some(Change::Put(old, x))
        })
        .collect();
    changes.extend(
        current
            .into_values()
            .filter(|x| managed_by(x) == Some(owner) && !listed.contains(id(x)))
            .map(Change::Delete),
    );
    changes
}

/// Every problem of the file's alerting part, judged on its own (for
/// `catalog check`: no channel or rule exists yet).
pub fn check_alone(items: &AlertItems, owner: &str) -> Vec<String> {
    read(items, owner, |_| None, |_| None)
        .err()
        .unwrap_or_default()
}

/// Reads both parts with the API's readers; `channel` and `rule` look up
/// what exists already (who holds it, and a channel's secrets kept).
fn read(
    items: &AlertItems,
    owner: &str,
    channel: impl Fn(&str) -> Option<Channel>,
    rule: impl Fn(&str) -> Option<Rule>,
) -> std::result::Result<Read, Vec<String>> {
    let now = lightbulb_common::time::now_ms();
    let mut problems = Vec::new();
    let mut channels: Vec<Channel> = Vec::new();
    for (i, item) in items.channels.iter().enumerate() {
        let at = place("alert_channels", i, item, "channel_id");
        let read = fill(item).and_then(|filled| {
            let id = filled
                .get("channel_id")
                .and_then(Value::as_str)
                .unwrap_or("");
            let previous = channel(id);
            let mut c = fields::channel(Body::from_map(filled), None, previous.as_ref(), now)?;
            let held = previous.and_then(|p| p.managed_by);
            owner::may_change("channel", &c.channel_id, held.as_deref(), Some(owner))?;
            c.managed_by = Some(owner.to_string());
            Ok(c)
        });
        match read {
            Ok(c) if channels.iter().any(|x| x.channel_id == c.channel_id) => {
                problems.push(format!(
                    "{at}: channel_id: `{}` is listed twice",
                    c.channel_id
                ));
            }
            Ok(c) => channels.push(c),
            Err(e) => problems.push(problem(&at, e)),
        }
    }
    let known = |c: &str| channels.iter().any(|x| x.channel_id == c) || channel(c).is_some();
    let mut rules: Vec<Rule> = Vec::new();
    for (i, item) in items.rules.iter().enumerate() {
        let at = place("alert_rules", i, item, "rule_id");
        let read =
            fields::rule(Body::from_map(item.clone()), None, known, now).and_then(|mut r| {
                let held = rule(&r.rule_id).and_then(|old| old.managed_by);
                owner::may_change("rule", &r.rule_id, held.as_deref(), Some(owner))?;
                r.managed_by = Some(owner.to_string());
                Ok(r)
            });
        match read {
            Ok(r) if rules.iter().any(|x| x.rule_id == r.rule_id) => {
                problems.push(format!("{at}: rule_id: `{}` is listed twice", r.rule_id));
            }
            Ok(r) => rules.push(r),
            Err(e) => problems.push(problem(&at, e)),
        }
    }
    if problems.is_empty() {
        Ok(Read { channels, rules })
    } else {
        Err(problems)
    }
}

impl FileAlerting<'_> {
    fn read(&self, items: &AlertItems, owner: &str) -> std::result::Result<Read, Vec<String>> {
        let alerting = &self.0.alerting;
        read(
            items,
            owner,
            |id| alerting.channel(id),
            |id| alerting.rule(id),
        )
    }

    fn changes(&self, read: Read, owner: &str) -> (Vec<Change<Channel>>, Vec<Change<Rule>>) {
        let alerting = &self.0.alerting;
        let channels = plan(
            alerting.channels(),
            read.channels,
            owner,
            |c| &c.channel_id,
            |c| c.managed_by.as_deref(),
            |a, b| {
                Channel {
                    updated_ms: b.updated_ms,
                    ..a.clone()
                } == *b
            },
        );
        let rules = plan(
            alerting.rules(),
            read.rules,
            owner,
            |r| &r.rule_id,
            |r| r.managed_by.as_deref(),
            |a, b| {
                Rule {
                    updated_ms: b.updated_ms,
                    ..a.clone()
                } == *b
            },
        );
        (channels, rules)
    }
}

fn audited<T: Serialize>(
    kind: ObjectKind,
    id: &str,
    before: Option<&T>,
    after: Option<&T>,
) -> ObjectChange {
    let json = |v: Option<&T>| v.map(|v| serde_json::to_value(v).expect("serializes"));
    ObjectChange {
        kind,
        id: id.to_string(),
        before: json(before),
        after: json(after),
    }
}

impl Alerts for FileAlerting<'_> {
    fn check(&self, items: &AlertItems, owner: &str) -> Vec<String> {
        let read = match self.read(items, owner) {
            Ok(read) => read,
            Err(problems) => return problems,
        };
        // A channel the file drops may not leave a rule notifying it.
        let (channels, rules) = self.changes(read, owner);
        let mut remaining: BTreeMap<String, Rule> = self
            .0
            .alerting
            .rules()
            .into_iter()
            .map(|r| (r.rule_id.clone(), r))
            .collect();
        for c in &rules {
            match c {
                Change::Put(_, r) => remaining.insert(r.rule_id.clone(), r.clone()),
                Change::Delete(r) => remaining.remove(&r.rule_id),
            };
        }
        channels
            .iter()
            .filter_map(|c| match c {
                Change::Delete(gone) => {
                    let users: Vec<&str> = remaining
                        .values()
                        .filter(|r| r.channels.contains(&gone.channel_id))
                        .map(|r| r.rule_id.as_str())
                        .collect();
                    (!users.is_empty()).then(|| {
                        format!(
                            "alert_channels: `{}` is no longer listed but rules {} notify it",
                            gone.channel_id,
                            users.join(", ")
                        )
                    })
                }
                Change::Put(..) => None,
            })
            .collect()
    }

    fn apply<'a>(
        &'a self,
        items: AlertItems,
        owner: &'a str,
    ) -> BoxFuture<'a, std::result::Result<usize, String>> {
        Box::pin(async move {
            let read = self.read(&items, owner).map_err(|p| p.join("\n"))?;
            let (channels, rules) = self.changes(read, owner);
            let alerting = &self.0.alerting;
            let failed = |e: Error| e.to_string();
            let mut log = Vec::new();
            // Channels first: the rules may name new ones; rules go before
            // the channels they named are deleted.
            for c in &channels {
                if let Change::Put(old, new) = c {
                    alerting.put_channel(new.clone()).await.map_err(failed)?;
                    let (old, new) = (old.as_ref().map(Channel::redacted), new.redacted());
                    log.push(audited(
                        ObjectKind::AlertChannel,
                        &new.channel_id,
                        old.as_ref(),
                        Some(&new),
                    ));
                }
            }
            for c in &rules {
                match c {
                    Change::Put(old, new) => {
                        alerting.put_rule(new.clone()).await.map_err(failed)?;
                        log.push(audited(
                            ObjectKind::AlertRule,
                            &new.rule_id,
                            old.as_ref(),
                            Some(new),
                        ));
                    }
                    Change::Delete(old) => {
                        alerting.delete_rule(&old.rule_id).await.map_err(failed)?;
                        log.push(audited(
                            ObjectKind::AlertRule,
                            &old.rule_id,
                            Some(old),
                            None,
                        ));
                    }
                }
            }
            for c in &channels {
                if let Change::Delete(old) = c {
                    alerting
                        .delete_channel(&old.channel_id)
                        .await
                        .map_err(failed)?;
                    let old = old.redacted();
                    log.push(audited(
                        ObjectKind::AlertChannel,
                        &old.channel_id,
                        Some(&old),
                        None,
                    ));
                }
            }
            let changed = log.len();
            if changed > 0 {
                let entry = AuditEntry {
                    at_ms: lightbulb_common::time::now_ms(),
                    actor: owner.to_string(),
                    ip: None,
                    action: "apply catalog file alerting".into(),
                    changes: log,
                };
                let id = self.0.store.record_audit(entry).await.map_err(failed)?;
                tracing::info!(target: "lightbulb::audit", actor = %owner, audit_id = id, changed, "alert channels and rules applied from the catalog file");
            }
            Ok(changed)
        })
    }

    fn drift(&self, items: &AlertItems, owner: &str) -> Vec<String> {
        let Ok(read) = self.read(items, owner) else {
            return Vec::new();
        };
        let (channels, rules) = self.changes(read, owner);
        let line = |what: &str, verb: &str, id: &str| format!("{verb} alert {what} `{id}`");
        let mut out: Vec<String> = channels
            .iter()
            .map(|c| match c {
                Change::Put(None, x) => line("channel", "create", &x.channel_id),
                Change::Put(Some(_), x) => line("channel", "update", &x.channel_id),
                Change::Delete(x) => line("channel", "delete", &x.channel_id),
            })
            .collect();
        out.extend(rules.iter().map(|c| match c {
            Change::Put(None, x) => line("rule", "create", &x.rule_id),
            Change::Put(Some(_), x) => line("rule", "update", &x.rule_id),
            Change::Delete(x) => line("rule", "delete", &x.rule_id),
        }));
        out
    }
}
