//! Activity performance from the histories of recent runs: duration from
//! scheduling to close (retries included), retries and failures per type.
//! Temporal records one started event per activity, on its last attempt,
//! so retries come from that event's `attempt`.

use std::collections::{BTreeMap, HashMap};

use lightbulb_common::Status;
use serde_json::{Value, json};
use temporalio_protos::temporal::api::history::v1::HistoryEvent;
use temporalio_protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_protos::temporal::api::workflowservice::v1::GetWorkflowExecutionHistoryRequest;

use super::{Client, TemporalCheck, ts_ms};
use crate::checks::Finding;

/// Pages of history read per run, so one huge run cannot stall the check.
const MAX_PAGES: usize = 5;

#[derive(Debug, Default, PartialEq)]
pub struct ActivityStats {
    pub durations_ms: Vec<i64>,
    pub retries: i64,
    pub failures: i64,
    pub timeouts: i64,
    pub last_failure: Option<String>,
}

impl ActivityStats {
    pub fn percentile(&self, q: f64) -> i64 {
        let mut d = self.durations_ms.clone();
        d.sort_unstable();
        if d.is_empty() {
            return 0;
        }
        let i = ((d.len() as f64 - 1.0) * q).round() as usize;
        d[i]
    }
}

/// Adds one run's events to `stats`, keyed by activity type.
pub fn add_history(events: &[HistoryEvent], stats: &mut BTreeMap<String, ActivityStats>) {
    let mut scheduled: HashMap<i64, (String, i64)> = HashMap::new();
    let at = |e: &HistoryEvent| {
        e.event_time
            .as_ref()
            .map_or(0, |t| ts_ms(t.seconds, t.nanos))
    };
    for e in events {
        let closed_from = match &e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                let kind = a
                    .activity_type
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_default();
                scheduled.insert(e.event_id, (kind, at(e)));
                None
            }
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => {
                if let Some((kind, _)) = scheduled.get(&a.scheduled_event_id) {
                    let s = stats.entry(kind.clone()).or_default();
                    s.retries += i64::from(a.attempt.max(1) - 1);
                    if let Some(f) = &a.last_failure {
                        s.last_failure = Some(f.message.clone());
                    }
                }
                None
            }
            Some(Attributes::ActivityTaskCompletedEventAttributes(a)) => {
                Some((a.scheduled_event_id, None))
            }
            Some(Attributes::ActivityTaskFailedEventAttributes(a)) => Some((
                a.scheduled_event_id,
                Some(
                    a.failure
                        .as_ref()
                        .map(|f| f.message.clone())
                        .unwrap_or_default(),
                ),
            )),
            Some(Attributes::ActivityTaskTimedOutEventAttributes(a)) => {
                Some((a.scheduled_event_id, Some("activity timed out".to_string())))
            }
            _ => None,
        };
        let Some((id, failure)) = closed_from else {
            continue;
        };
        let Some((kind, started)) = scheduled.get(&id) else {
            continue;
        };
        let s = stats.entry(kind.clone()).or_default();
        s.durations_ms.push(at(e) - started);
        if let Some(f) = failure {
            if matches!(
                e.attributes,
                Some(Attributes::ActivityTaskTimedOutEventAttributes(_))
            ) {
                s.timeouts += 1;
            } else {
                s.failures += 1;
            }
            s.last_failure = Some(f);
        }
    }
}

impl TemporalCheck {
    pub(super) async fn activities(
        &self,
        c: &mut Client,
        findings: &mut Vec<Finding>,
        details: &mut serde_json::Map<String, Value>,
    ) {
        let Some(kind) = &self.spec.workflow_type else {
            return;
        };
        if self.spec.activity_sample == 0 {
            return;
        }
        let query = format!("WorkflowType = '{kind}' AND ExecutionStatus != 'Running'");
        let runs = self
            .list(c, query, self.spec.activity_sample as i32)
            .await
            .unwrap_or_default();
        let mut stats = BTreeMap::new();
        for run in &runs {
            let mut token = Vec::new();
            for _ in 0..MAX_PAGES {
                let Ok(page) = c
                    .get_workflow_execution_history(self.request(
                        GetWorkflowExecutionHistoryRequest {
                            namespace: self.spec.namespace.clone(),
                            execution: run.execution.clone(),
                            next_page_token: token,
                            ..Default::default()
                        },
                    ))
                    .await
                else {
                    break;
                };
                let page = page.into_inner();
                if let Some(h) = &page.history {
                    add_history(&h.events, &mut stats);
                }
                token = page.next_page_token;
                if token.is_empty() {
                    break;
                }
            }
        }
        if stats.is_empty() {
            return;
        }
        let mut shown = serde_json::Map::new();
        for (name, s) in &stats {
            let p95 = s.percentile(0.95);
            if let Some(max) = self.spec.activity_p95_max
                && p95 > max.as_millis() as i64
            {
                findings.push(Finding::new(
                    Status::Degraded,
                    format!(
                        "activity {name}: p95 {} ms over {} runs (max {})",
                        p95,
                        runs.len(),
                        humantime::format_duration(max)
                    ),
                ));
            }
            shown.insert(
                name.clone(),
                json!({
                    "count": s.durations_ms.len(),
                    "p50_ms": s.percentile(0.5),
                    "p95_ms": p95,
                    "retries": s.retries,
                    "failures": s.failures,
                    "timeouts": s.timeouts,
                    "last_failure": s.last_failure,
                }),
            );
        }
        details.insert(
            "activities".into(),
            json!({"sampled_runs": runs.len(), "by_type": shown}),
        );
    }
}
