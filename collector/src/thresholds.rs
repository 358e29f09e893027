//! Metric thresholds judged where results arrive, over a window of each
//! watched service's recent results: a `metric_config` raises the status
//! of the result being stored (the reason in its message, the values
//! measured in its details), and each metric rule's verdict is kept (its
//! turns handed to the store, so the collector evaluating alerts sees
//! those judged by another).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use lightbulb_common::{CheckResult, Metrics, Status};
use serde_json::json;

use crate::alerting::model::{Rule, Verdict};
use crate::catalog::metrics::{self, ERROR_RATE, METRICS, Own, Test};
use crate::catalog::model::Catalog;

/// At most this many results are kept per service, whatever the window.
const MAX_SAMPLES: usize = 2048;

struct Sample {
    ts: i64,
    failed: bool,
    /// Only the metrics someone judges, by index in `METRICS`.
    values: Vec<(u8, f64)>,
}

#[derive(Default)]
struct Inner {
    series: HashMap<String, VecDeque<Sample>>,
    /// Each service's `metric_config` read, as of its catalog entry's update.
    own: HashMap<String, (i64, Option<Arc<Own>>)>,
    verdicts: HashMap<(String, String), Verdict>,
    changed: Vec<Verdict>,
}

#[derive(Default)]
pub struct Windows {
    inner: Mutex<Inner>,
}

fn value(m: &Metrics, name: &str) -> Option<f64> {
    match name {
        "response_time_ms" => m.response_time_ms,
        "cpu_usage" => m.cpu_usage,
        "memory_usage" => m.memory_usage,
        other => m.extra.get(other).copied(),
    }
}

fn index(name: &str) -> Option<u8> {
    METRICS.iter().position(|m| *m == name).map(|i| i as u8)
}

/// `metric` over the `window_ms` up to `at`: the share of FAILED results
/// for `error_rate`, else its aggregate.
fn measure(samples: &VecDeque<Sample>, t: &Test, at: i64) -> Option<f64> {
    let within = samples
        .iter()
        .filter(|s| s.ts <= at && s.ts >= at - t.window_ms);
    if t.metric == ERROR_RATE {
        let (n, failed) = within.fold((0, 0), |(n, f), s| (n + 1, f + usize::from(s.failed)));
        return (n > 0).then(|| 100.0 * failed as f64 / n as f64);
    }
    let i = index(&t.metric)?;
    let mut values: Vec<f64> = within
        .filter_map(|s| s.values.iter().find(|(k, _)| *k == i).map(|(_, v)| *v))
        .collect();
    t.aggregate.of(&mut values)
}

impl Windows {
    /// Takes in a batch before it is stored: raises statuses past their
    /// service's `metric_config` and judges the metric `rules`.
    pub fn judge<'a>(
        &self,
        rows: impl IntoIterator<Item = &'a mut CheckResult>,
        catalog: &Catalog,
        rules: &[Rule],
    ) {
        let metric_rules: Vec<(&Rule, Test)> = rules
            .iter()
            .filter(|rule| rule.enabled)
            .filter_map(|rule| Some((rule, rule.condition.test()?)))
            .collect();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for r in rows {
            let def = catalog.services.get(&r.service_id);
            let own = match def {
                None => None,
                Some(d) => match inner.own.get(&d.service_id) {
                    Some((at, own)) if *at == d.updated_at_ms => own.clone(),
                    _ => {
                        let own = metrics::own(&d.metric_config).ok().flatten().map(Arc::new);
                        inner
                            .own
                            .insert(d.service_id.clone(), (d.updated_at_ms, own.clone()));
                        own
                    }
                },
            };
            let none = Default::default();
            let labels = def.map_or(&none, |d| &d.labels);
            let kind = r.service_type.as_str();
            let tests: Vec<(&str, &Test)> = metric_rules
                .iter()
                .filter(|(rule, _)| rule.scope.matches(&r.service_id, kind, labels))
                .map(|(rule, t)| (rule.rule_id.as_str(), t))
                .collect();
            if own.is_none() && tests.is_empty() {
                inner.series.remove(&r.service_id);
                continue;
            }
            let levels = own.iter().flat_map(|o| &o.levels);
            let wanted: Vec<u8> = levels
                .map(|l| l.metric.as_str())
                .chain(tests.iter().map(|(_, t)| t.metric.as_str()))
                .filter_map(index)
                .collect();
            let keep = own
                .iter()
                .map(|o| o.window_ms)
                .chain(tests.iter().map(|(_, t)| t.window_ms))
                .max()
                .unwrap_or(0);
            let sample = Sample {
                ts: r.timestamp_ms,
                failed: r.status == Status::Failed,
                values: wanted
                    .iter()
                    .filter_map(|i| Some((*i, value(&r.metrics, METRICS[*i as usize])?)))
                    .collect(),
            };
            let series = inner.series.entry(r.service_id.clone()).or_default();
            add(series, sample, keep);
            if let Some(own) = &own {
                raise(r, own, series);
            }
            let series = &inner.series[&r.service_id];
            let judged: Vec<(&str, Option<f64>, &Test)> = tests
                .iter()
                .map(|(rule_id, t)| (*rule_id, measure(series, t, r.timestamp_ms), *t))
                .collect();
            for (rule_id, value, t) in judged {
                let holds = value.is_some_and(|v| t.holds(v));
                let key = (rule_id.to_string(), r.service_id.clone());
                let turned = match inner.verdicts.get_mut(&key) {
                    // A result replayed from a spool does not undo a newer one.
                    Some(old) if old.at_ms > r.timestamp_ms => continue,
                    Some(old) if old.holds == holds => {
                        old.at_ms = r.timestamp_ms;
                        // The message of an alert firing later shows the latest value.
                        if let Some(v) = value.filter(|_| holds) {
                            old.reason = t.describe(v);
                        }
                        false
                    }
                    _ => true,
                };
                if turned {
                    let v = Verdict {
                        rule_id: key.0.clone(),
                        service_id: key.1.clone(),
                        holds,
                        reason: value.map_or_else(
                            || format!("{} not reported", t.metric),
                            |v| t.describe(v),
                        ),
                        at_ms: r.timestamp_ms,
                    };
                    inner.changed.push(v.clone());
                    inner.verdicts.insert(key, v);
                }
            }
        }
    }

    /// Every verdict judged here, by rule and service.
    pub fn verdicts(&self) -> HashMap<(String, String), Verdict> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.verdicts.clone()
    }

    /// Verdicts that turned since the last call, to share.
    pub fn take_changed(&self) -> Vec<Verdict> {
        std::mem::take(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()).changed)
    }

    /// Puts back verdicts that could not be shared (older than any newer change).
    pub fn keep_changed(&self, mut verdicts: Vec<Verdict>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        verdicts.append(&mut inner.changed);
        inner.changed = verdicts;
    }

    /// Results kept, across services (for `/metrics` and the benchmark).
    pub fn samples(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.series.values().map(VecDeque::len).sum()
    }
}

/// Adds `s` in time order (once per instant) and drops what no window needs.
fn add(series: &mut VecDeque<Sample>, s: Sample, keep_ms: i64) {
    let at = series.partition_point(|x| x.ts <= s.ts);
    if at > 0 && series[at - 1].ts == s.ts {
        return;
    }
    series.insert(at, s);
    let newest = series.back().map_or(0, |x| x.ts);
    while series
        .front()
        .is_some_and(|x| x.ts < newest - keep_ms || series.len() > MAX_SAMPLES)
    {
        series.pop_front();
    }
}

/// Raises `r` to the worst level its metrics reach, saying why in the
/// message and what was measured in `details.metric_thresholds`. Only an
/// OK or DEGRADED result is raised: the check's own verdict comes first.
fn raise(r: &mut CheckResult, own: &Own, series: &VecDeque<Sample>) {
    if !matches!(r.status, Status::Ok | Status::Degraded) {
        return;
    }
    let mut worst = r.status;
    let mut reasons = Vec::new();
    let mut measured = Vec::new();
    for l in &own.levels {
        let t = Test {
            metric: l.metric.clone(),
            aggregate: l.aggregate,
            below: l.below,
            threshold: 0.0,
            window_ms: own.window_ms,
        };
        let Some(v) = measure(series, &t, r.timestamp_ms) else {
            continue;
        };
        let reached = l.reached(v);
        measured.push(json!({
            "metric": l.metric,
            "aggregate": if l.metric == ERROR_RATE { "share_failed" } else { l.aggregate.as_str() },
            "value": v,
            "window_ms": own.window_ms,
            "status": reached.map(|(s, _)| s.name()),
        }));
        if let Some((status, threshold)) = reached {
            let t = Test { threshold, ..t };
            reasons.push(format!("{} ({})", t.describe(v), status.name()));
            if status == Status::Failed {
                worst = Status::Failed;
            } else if worst == Status::Ok {
                worst = Status::Degraded;
            }
        }
    }
    if measured.is_empty() {
        return;
    }
    let check_status = r.status;
    let mut details = match std::mem::take(&mut r.details) {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => serde_json::Map::new(),
        other => serde_json::Map::from_iter([("check".to_string(), other)]),
    };
    details.insert("metric_thresholds".into(), measured.into());
    if worst != check_status {
        details.insert("check_status".into(), check_status.name().into());
        let check = if r.message.is_empty() {
            String::new()
        } else {
            format!("; check: {}", r.message)
        };
        r.message = format!("{}{check}", reasons.join("; "));
        r.status = worst;
    }
    r.details = serde_json::Value::Object(details);
}

#[cfg(test)]
mod tests;
