//! Task queues (pollers, backlog) and schedules (paused, late, skipping).

use std::collections::BTreeSet;
use std::time::Duration;

use lightbulb_common::Status;
use lightbulb_common::time::{format_iso, now_ms};
use serde_json::{Value, json};
use temporalio_protos::temporal::api::enums::v1::TaskQueueType;
use temporalio_protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_protos::temporal::api::workflowservice::v1::{
    DescribeScheduleRequest, DescribeTaskQueueRequest, ListSchedulesRequest,
};

use super::{Client, TemporalCheck, ts_ms};
use crate::checks::{Finding, Outcome};

/// What one schedule's description says.
pub(super) struct Described {
    pub paused: bool,
    /// Paused (with its note; first), late, skipping: each is DEGRADED in a
    /// namespace check.
    pub problems: Vec<String>,
    pub shown: Value,
}

/// At most this many queues and schedules are described per run.
const MOST: usize = 20;

fn human(ms: i64) -> String {
    humantime::format_duration(Duration::from_secs((ms.max(0) / 1000) as u64)).to_string()
}

impl TemporalCheck {
    /// The configured queues, or those of the runs open or closed in the window.
    pub(super) async fn queue_names(&self, c: &mut Client, open_or_recent: &str) -> Vec<String> {
        if !self.spec.task_queues.is_empty() {
            return self.spec.task_queues.clone();
        }
        let runs = self
            .list(c, open_or_recent.to_string(), 100)
            .await
            .unwrap_or_default();
        let names: BTreeSet<String> = runs
            .into_iter()
            .map(|r| r.task_queue)
            .filter(|q| !q.is_empty())
            .collect();
        names.into_iter().take(MOST).collect()
    }

    pub(super) async fn task_queues(
        &self,
        c: &mut Client,
        names: &[String],
        findings: &mut Vec<Finding>,
        details: &mut serde_json::Map<String, Value>,
    ) {
        let now = now_ms();
        let fresh = self.spec.poller_freshness.as_millis() as i64;
        let mut shown = Vec::new();
        for name in names {
            let mut entry = json!({"name": name});
            for kind in [TaskQueueType::Workflow, TaskQueueType::Activity] {
                let r = match c
                    .describe_task_queue(self.request(DescribeTaskQueueRequest {
                        namespace: self.spec.namespace.clone(),
                        task_queue: Some(TaskQueue {
                            name: name.clone(),
                            ..Default::default()
                        }),
                        task_queue_type: kind as i32,
                        report_stats: true,
                        ..Default::default()
                    }))
                    .await
                {
                    Ok(r) => r.into_inner(),
                    Err(e) => {
                        findings.push(Finding::new(
                            Status::Degraded,
                            format!("cannot describe task queue {name}: {}", e.message()),
                        ));
                        continue;
                    }
                };
                let pollers: Vec<Value> = r
                    .pollers
                    .iter()
                    .map(|p| {
                        let seen = p.last_access_time.as_ref().map(|t| now - ts_ms(t.seconds, t.nanos));
                        json!({"identity": p.identity, "last_seen_s": seen.map(|ms| ms as f64 / 1e3)})
                    })
                    .collect();
                let newest = r
                    .pollers
                    .iter()
                    .filter_map(|p| p.last_access_time.as_ref())
                    .map(|t| now - ts_ms(t.seconds, t.nanos))
                    .min();
                let backlog = r.stats.as_ref().map_or(0, |s| s.approximate_backlog_count);
                let backlog_age = r
                    .stats
                    .as_ref()
                    .and_then(|s| s.approximate_backlog_age.as_ref())
                    .map_or(0, |d| ts_ms(d.seconds, d.nanos));
                let (label, needs_pollers) = match kind {
                    TaskQueueType::Workflow => ("workflow", true),
                    // A queue that only carries workflows has no activity pollers.
                    _ => ("activity", backlog > 0),
                };
                if needs_pollers && newest.is_none_or(|age| age > fresh) {
                    let last = newest.map_or("never".to_string(), |age| {
                        format!("last {} ago", human(age))
                    });
                    findings.push(Finding::new(
                        Status::Failed,
                        format!("no pollers on task queue {name} ({label} tasks; {last})"),
                    ));
                }
                if backlog_age > self.spec.max_backlog_age.as_millis() as i64 {
                    findings.push(Finding::new(
                        Status::Degraded,
                        format!(
                            "task queue {name}: {label} tasks wait {} (max {})",
                            human(backlog_age),
                            humantime::format_duration(self.spec.max_backlog_age)
                        ),
                    ));
                }
                entry[label] = json!({
                    "pollers": pollers,
                    "backlog_count": backlog,
                    "backlog_age_s": backlog_age as f64 / 1e3,
                });
            }
            shown.push(entry);
        }
        if !shown.is_empty() {
            details.insert("task_queues".into(), Value::Array(shown));
        }
    }

    pub(super) async fn schedules(
        &mut self,
        c: &mut Client,
        findings: &mut Vec<Finding>,
        details: &mut serde_json::Map<String, Value>,
    ) {
        let list = match c
            .list_schedules(self.request(ListSchedulesRequest {
                namespace: self.spec.namespace.clone(),
                maximum_page_size: 100,
                ..Default::default()
            }))
            .await
        {
            Ok(r) => r.into_inner().schedules,
            Err(e) => {
                findings.push(Finding::new(
                    Status::Degraded,
                    format!("cannot list schedules: {}", e.message()),
                ));
                return;
            }
        };
        let mut shown = Vec::new();
        for entry in list.iter().take(MOST) {
            let id = &entry.schedule_id;
            let info = entry.info.clone().unwrap_or_default();
            let kind = info
                .workflow_type
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default();
            if self.spec.workflow_type.as_ref().is_some_and(|t| *t != kind) {
                continue;
            }
            let Ok(d) = self.describe(c, id, &kind).await else {
                continue;
            };
            for p in &d.problems {
                findings.push(Finding::new(Status::Degraded, p.clone()));
            }
            shown.push(d.shown);
        }
        if !shown.is_empty() {
            details.insert("schedules".into(), Value::Array(shown));
        }
    }
    /// A check of `schedule_id` alone: STOPPED while paused, DEGRADED when
    /// late or skipping, FAILED when it does not exist.
    pub(super) async fn schedule_only(&mut self, c: &mut Client, id: &str) -> Outcome {
        let ns = self.spec.namespace.clone();
        let kind = self.spec.workflow_type.clone().unwrap_or_default();
        let d = match self.describe(c, id, &kind).await {
            Ok(d) => d,
            Err(e) => {
                let why = if e.code() == tonic::Code::NotFound {
                    format!("schedule {id} does not exist in namespace `{ns}`")
                } else {
                    format!(
                        "cannot describe schedule {id} in namespace `{ns}` at {}: {}",
                        self.spec.address,
                        e.message()
                    )
                };
                let mut o = Outcome::failed(why);
                o.details = json!({"namespace": ns, "schedule_id": id, "error": e.message()});
                return o;
            }
        };
        let (status, message) = if d.paused {
            // The pause says it all; what it skipped stays in `details`.
            (Status::Stopped, d.problems[0].clone())
        } else if !d.problems.is_empty() {
            (Status::Degraded, d.problems.join("; "))
        } else {
            let at = |k: &str| d.shown[k].as_str().unwrap_or("never").to_string();
            (
                Status::Ok,
                format!(
                    "schedule {id} on time: last ran {}, next run {}",
                    at("last_run"),
                    at("next_run")
                ),
            )
        };
        let mut o = Outcome::new(status, message);
        o.metrics
            .extra
            .insert("actions".into(), d.shown["actions"].as_f64().unwrap_or(0.0));
        o.details = json!({"namespace": ns, "schedule": d.shown});
        o
    }

    /// One schedule: paused, late, skipping runs.
    pub(super) async fn describe(
        &mut self,
        c: &mut Client,
        id: &str,
        kind: &str,
    ) -> Result<Described, tonic::Status> {
        let now = now_ms();
        let grace = self.spec.schedule_grace.as_millis() as i64;
        let described = c
            .describe_schedule(self.request(DescribeScheduleRequest {
                namespace: self.spec.namespace.clone(),
                schedule_id: id.to_string(),
            }))
            .await?;
        let d = described.into_inner();
        let state = d.schedule.and_then(|s| s.state).unwrap_or_default();
        let info = d.info.unwrap_or_default();
        let mut problems = Vec::new();
        if state.paused {
            let why = if state.notes.is_empty() {
                String::new()
            } else {
                format!(": {}", state.notes)
            };
            problems.push(format!("schedule {id} is paused{why}"));
        }
        let times: Vec<i64> = info
            .future_action_times
            .iter()
            .map(|t| ts_ms(t.seconds, t.nanos))
            .collect();
        let last = info
            .recent_actions
            .iter()
            .filter_map(|a| a.schedule_time.as_ref())
            .map(|t| ts_ms(t.seconds, t.nanos))
            .max();
        let created = info
            .create_time
            .as_ref()
            .map_or(0, |t| ts_ms(t.seconds, t.nanos));
        // The latest run the spec called for: the next one if overdue,
        // else the last point of its period grid before now.
        if !state.paused
            && let [next, after, ..] = times[..]
            && after > next
        {
            let period = after - next;
            let expected = if next <= now {
                next
            } else {
                next - (next - now + period - 1) / period * period
            };
            let ran = last.unwrap_or(created);
            if expected > created && expected - ran > grace {
                problems.push(format!(
                    "schedule {id} is late: a run was due at {}, the last ran at {}",
                    format_iso(expected),
                    last.map_or("never".into(), format_iso)
                ));
            }
        }
        let skipped = info.overlap_skipped + info.missed_catchup_window + info.buffer_dropped;
        if let Some(before) = self.skipped.insert(id.to_string(), skipped)
            && skipped > before
        {
            problems.push(format!(
                "schedule {id} skipped {} run(s) since the last check (overlap {}, missed catch-up window {}, buffer dropped {})",
                skipped - before,
                info.overlap_skipped,
                info.missed_catchup_window,
                info.buffer_dropped
            ));
        }
        let shown = json!({
            "id": id,
            "workflow_type": kind,
            "paused": state.paused,
            "notes": state.notes,
            "actions": info.action_count,
            "last_run": last.map(format_iso),
            "next_run": times.first().copied().map(format_iso),
            "overlap_skipped": info.overlap_skipped,
            "missed_catchup_window": info.missed_catchup_window,
            "buffer_dropped": info.buffer_dropped,
            "problems": problems,
        });
        Ok(Described {
            paused: state.paused,
            problems,
            shown,
        })
    }
}
