//! `temporal_workflow`: asks a Temporal frontend (gRPC) about one namespace,
//! optionally one workflow type: runs by status over a window and the
//! failure rate, stuck runs, task queues without pollers or with an old
//! backlog, late or paused schedules, and activity durations, retries and
//! failures from recent histories. Each condition is a finding; the worst
//! decides, and `details` names the runs, queues and schedules at fault.

use std::collections::HashMap;
use std::time::Duration;

use lightbulb_common::Status;
use lightbulb_common::time::{format_iso, now_ms};
use serde_json::{Value, json};
use temporalio_protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_protos::temporal::api::enums::v1::{
    HistoryEventFilterType, WorkflowExecutionStatus,
};
use temporalio_protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_protos::temporal::api::workflow::v1::WorkflowExecutionInfo;
use temporalio_protos::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
use temporalio_protos::temporal::api::workflowservice::v1::{
    CountWorkflowExecutionsRequest, GetWorkflowExecutionHistoryRequest,
    ListWorkflowExecutionsRequest,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

pub use lightbulb_common::spec::TemporalSpec;

use super::{BoxFuture, Check, Finding, Outcome, summarize, timed};

mod activities;
mod queues;

type Client = WorkflowServiceClient<Channel>;

pub struct TemporalCheck {
    spec: TemporalSpec,
    client: Option<Client>,
    /// Skipped-run counters per schedule at the previous run.
    skipped: HashMap<String, i64>,
}

impl TemporalCheck {
    pub fn new(spec: TemporalSpec) -> TemporalCheck {
        TemporalCheck {
            spec,
            client: None,
            skipped: HashMap::new(),
        }
    }

    fn client(&mut self) -> Result<Client, String> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let spec = &self.spec;
        let mut endpoint = Endpoint::from_shared(spec.endpoint())
            .map_err(|e| format!("address `{}`: {e}", spec.address))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10));
        if spec.tls() {
            let read = |p: &std::path::Path| {
                std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
            };
            let mut tls = ClientTlsConfig::new();
            tls = match &spec.tls_ca {
                Some(ca) => tls.ca_certificate(Certificate::from_pem(read(ca)?)),
                None => tls.with_native_roots(),
            };
            if let (Some(cert), Some(key)) = (&spec.tls_cert, &spec.tls_key) {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            if let Some(name) = &spec.tls_server_name {
                tls = tls.domain_name(name.clone());
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| e.to_string())?;
        }
        let client =
            WorkflowServiceClient::new(endpoint.connect_lazy()).max_decoding_message_size(64 << 20);
        self.client = Some(client.clone());
        Ok(client)
    }

    /// A request with the namespace and API key headers.
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(message);
        if let Ok(ns) = self.spec.namespace.parse() {
            r.metadata_mut().insert("temporal-namespace", ns);
        }
        if let Some(key) = &self.spec.api_key
            && let Ok(v) = format!("Bearer {key}").parse()
        {
            r.metadata_mut().insert("authorization", v);
        }
        r
    }

    /// `WorkflowType = '…' AND ` when a type is configured.
    fn type_filter(&self) -> String {
        match &self.spec.workflow_type {
            Some(t) => format!("WorkflowType = '{t}' AND "),
            None => String::new(),
        }
    }

    async fn count(
        &self,
        c: &mut Client,
        query: String,
    ) -> Result<Vec<(String, i64)>, tonic::Status> {
        let r = c
            .count_workflow_executions(self.request(CountWorkflowExecutionsRequest {
                namespace: self.spec.namespace.clone(),
                query,
            }))
            .await?
            .into_inner();
        if r.groups.is_empty() {
            return Ok(vec![(String::new(), r.count)]);
        }
        Ok(r.groups
            .iter()
            .map(|g| {
                let value = g
                    .group_values
                    .first()
                    .and_then(|p| serde_json::from_slice::<String>(&p.data).ok())
                    .unwrap_or_default();
                (value, g.count)
            })
            .collect())
    }

    pub(super) async fn list(
        &self,
        c: &mut Client,
        query: String,
        page_size: i32,
    ) -> Result<Vec<WorkflowExecutionInfo>, tonic::Status> {
        Ok(
            c.list_workflow_executions(self.request(ListWorkflowExecutionsRequest {
                namespace: self.spec.namespace.clone(),
                page_size,
                query,
                ..Default::default()
            }))
            .await?
            .into_inner()
            .executions,
        )
    }

    async fn inspect(&mut self) -> Outcome {
        let mut c = match self.client() {
            Ok(c) => c,
            Err(e) => return Outcome::failed(format!("temporal_workflow: {e}")),
        };
        if let Some(id) = self.spec.schedule_id.clone() {
            return self.schedule_only(&mut c, &id).await;
        }
        let now = now_ms();
        let since = format_iso(now - self.spec.window.as_millis() as i64);
        let tf = self.type_filter();
        let open_or_recent = format!("{tf}(ExecutionStatus = 'Running' OR CloseTime > '{since}')");
        let counts = match self
            .count(&mut c, format!("{open_or_recent} GROUP BY ExecutionStatus"))
            .await
        {
            Ok(counts) => counts,
            Err(e) => {
                let mut o = Outcome::failed(format!(
                    "cannot query namespace `{}` at {}: {}",
                    self.spec.namespace,
                    self.spec.address,
                    e.message()
                ));
                o.details = json!({"address": self.spec.address, "namespace": self.spec.namespace, "error": e.message()});
                return o;
            }
        };
        let mut findings = Vec::new();
        let mut details = serde_json::Map::new();
        let mut outcome = Outcome::new(Status::Ok, "");
        let by_status: HashMap<String, i64> = counts.into_iter().collect();
        let n = |s: &str| by_status.get(s).copied().unwrap_or(0);
        let failed = n("Failed") + n("TimedOut") + n("Terminated");
        let closed: i64 = by_status
            .iter()
            .filter(|(s, _)| s.as_str() != "Running")
            .map(|(_, v)| v)
            .sum();
        let rate = if closed > 0 {
            failed as f64 / closed as f64
        } else {
            0.0
        };
        for (key, status) in [
            ("running", "Running"),
            ("completed", "Completed"),
            ("failed", "Failed"),
            ("timed_out", "TimedOut"),
            ("terminated", "Terminated"),
            ("canceled", "Canceled"),
        ] {
            outcome.metrics.extra.insert(key.into(), n(status) as f64);
        }
        outcome.metrics.extra.insert("failure_rate".into(), rate);
        details.insert(
            "window".into(),
            json!(humantime::format_duration(self.spec.window).to_string()),
        );
        details.insert("counts".into(), json!(by_status));
        details.insert("failure_rate".into(), json!(rate));
        let level = if closed > 0 && rate > self.spec.failure_rate_failed {
            Some(Status::Failed)
        } else if closed > 0 && rate > self.spec.failure_rate_degraded {
            Some(Status::Degraded)
        } else {
            None
        };
        if let Some(level) = level {
            findings.push(Finding::new(
                level,
                format!(
                    "{failed} of {closed} runs closed in the last {} failed, timed out or were terminated ({:.0}%)",
                    humantime::format_duration(self.spec.window),
                    rate * 100.0
                ),
            ));
        }
        if failed > 0 {
            let query = format!(
                "{tf}ExecutionStatus IN ('Failed', 'TimedOut', 'Terminated') AND CloseTime > '{since}'"
            );
            let runs = self.list(&mut c, query, 5).await.unwrap_or_default();
            let mut shown = Vec::new();
            for run in &runs {
                let failure = self.close_failure(&mut c, run).await;
                shown.push(run_json(run, now, failure));
            }
            details.insert("failed_runs".into(), Value::Array(shown));
        }
        self.stuck(&mut c, now, &mut findings, &mut details).await;
        let queues = self.queue_names(&mut c, &open_or_recent).await;
        self.task_queues(&mut c, &queues, &mut findings, &mut details)
            .await;
        if self.spec.schedules {
            self.schedules(&mut c, &mut findings, &mut details).await;
        }
        self.activities(&mut c, &mut findings, &mut details).await;
        let runs = closed + n("Running");
        summarize(
            &mut outcome,
            &findings,
            || {
                format!(
                    "{runs} runs in the last {}, {:.0}% failed; {} task queue(s) polled",
                    humantime::format_duration(self.spec.window),
                    rate * 100.0,
                    queues.len()
                )
            },
            &mut details,
        );
        outcome.details = Value::Object(details);
        outcome
    }

    async fn stuck(
        &self,
        c: &mut Client,
        now: i64,
        findings: &mut Vec<Finding>,
        details: &mut serde_json::Map<String, Value>,
    ) {
        let before = format_iso(now - self.spec.max_running.as_millis() as i64);
        let query = format!(
            "{}ExecutionStatus = 'Running' AND StartTime < '{before}'",
            self.type_filter()
        );
        let total = match self.count(c, query.clone()).await {
            Ok(v) => v.iter().map(|(_, n)| n).sum::<i64>(),
            Err(_) => return,
        };
        if total == 0 {
            return;
        }
        let runs = self.list(c, query, 5).await.unwrap_or_default();
        let oldest = runs.iter().map(|r| age_s(r, now)).fold(0.0, f64::max);
        findings.push(Finding::new(
            Status::Degraded,
            format!(
                "{total} run(s) open longer than {} (oldest {})",
                humantime::format_duration(self.spec.max_running),
                humantime::format_duration(Duration::from_secs(oldest as u64))
            ),
        ));
        details.insert(
            "stuck_runs".into(),
            runs.iter().map(|r| run_json(r, now, None)).collect(),
        );
    }

    /// The failure message of a closed run, from its close event.
    async fn close_failure(&self, c: &mut Client, run: &WorkflowExecutionInfo) -> Option<String> {
        let history = c
            .get_workflow_execution_history(self.request(GetWorkflowExecutionHistoryRequest {
                namespace: self.spec.namespace.clone(),
                execution: run.execution.clone(),
                history_event_filter_type: HistoryEventFilterType::CloseEvent as i32,
                ..Default::default()
            }))
            .await
            .ok()?
            .into_inner()
            .history?;
        history.events.iter().find_map(|e| match &e.attributes {
            Some(Attributes::WorkflowExecutionFailedEventAttributes(a)) => {
                a.failure.as_ref().map(|f| f.message.clone())
            }
            Some(Attributes::WorkflowExecutionTimedOutEventAttributes(_)) => {
                Some("workflow execution timed out".into())
            }
            Some(Attributes::WorkflowExecutionTerminatedEventAttributes(a)) => {
                Some(format!("terminated: {}", a.reason))
            }
            _ => None,
        })
    }
}

pub(super) fn status_name(status: i32) -> &'static str {
    match WorkflowExecutionStatus::try_from(status) {
        Ok(WorkflowExecutionStatus::Running) => "Running",
        Ok(WorkflowExecutionStatus::Completed) => "Completed",
        Ok(WorkflowExecutionStatus::Failed) => "Failed",
        Ok(WorkflowExecutionStatus::Canceled) => "Canceled",
        Ok(WorkflowExecutionStatus::Terminated) => "Terminated",
        Ok(WorkflowExecutionStatus::ContinuedAsNew) => "ContinuedAsNew",
        Ok(WorkflowExecutionStatus::TimedOut) => "TimedOut",
        Ok(WorkflowExecutionStatus::Paused) => "Paused",
        _ => "Unspecified",
    }
}

/// Milliseconds since the epoch of a protobuf timestamp.
pub(super) fn ts_ms(seconds: i64, nanos: i32) -> i64 {
    seconds * 1000 + i64::from(nanos) / 1_000_000
}

fn age_s(run: &WorkflowExecutionInfo, now: i64) -> f64 {
    run.start_time
        .as_ref()
        .map_or(0.0, |t| (now - ts_ms(t.seconds, t.nanos)) as f64 / 1e3)
}

fn run_json(run: &WorkflowExecutionInfo, now: i64, failure: Option<String>) -> Value {
    let WorkflowExecution {
        workflow_id,
        run_id,
    } = run.execution.clone().unwrap_or_default();
    json!({
        "workflow_id": workflow_id,
        "run_id": run_id,
        "type": run.r#type.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
        "task_queue": run.task_queue,
        "status": status_name(run.status),
        "age_s": age_s(run, now),
        "failure": failure,
    })
}

impl Check for TemporalCheck {
    fn run(&mut self) -> BoxFuture<'_, Outcome> {
        timed(self.inspect())
    }
}
