//! Check types the agent runs. Each maps what it observes to a status with the
//! thresholds from its `status_config`.

mod cert;
pub mod database;
pub mod grpc;
pub mod http;
pub mod kubernetes;
pub mod ping;
pub mod process;
pub(crate) mod support;
pub mod temporal;

use std::future::Future;
use std::pin::Pin;

pub use lightbulb_common::spec::CheckSpec;
use lightbulb_common::{Metrics, Status};

/// What one run of a check found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub message: String,
    pub metrics: Metrics,
    pub details: serde_json::Value,
}

impl Outcome {
    pub fn new(status: Status, message: impl Into<String>) -> Outcome {
        Outcome {
            status,
            message: message.into(),
            metrics: Metrics::default(),
            details: serde_json::Value::Null,
        }
    }

    pub fn failed(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Failed, message)
    }
}

/// One condition a check found, with the status it stands for.
pub(crate) struct Finding {
    status: Status,
    message: String,
}

impl Finding {
    pub(crate) fn new(status: Status, message: String) -> Finding {
        Finding { status, message }
    }
}

/// The worst finding decides the status; the message leads with the
/// failures (three at most, then a count) and `details.findings` lists all.
pub(crate) fn summarize(
    outcome: &mut Outcome,
    findings: &[Finding],
    healthy: impl FnOnce() -> String,
    details: &mut serde_json::Map<String, serde_json::Value>,
) {
    outcome.status = findings.iter().fold(Status::Ok, |w, f| w.worst(f.status));
    outcome.message = if findings.is_empty() {
        healthy()
    } else {
        let mut bad: Vec<&Finding> = findings.iter().collect();
        bad.sort_by_key(|f| std::cmp::Reverse(f.status == Status::Failed));
        let shown: Vec<&str> = bad.iter().take(3).map(|f| f.message.as_str()).collect();
        let more = bad.len().saturating_sub(3);
        let tail = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        format!("{}{tail}", shown.join("; "))
    };
    details.insert(
        "findings".into(),
        findings
            .iter()
            .map(|f| serde_json::json!({"status": f.status.name(), "message": f.message}))
            .collect(),
    );
}

/// Runs `inspect`, recording its duration as `response_time_ms`.
pub(crate) fn timed<'a>(
    inspect: impl Future<Output = Outcome> + Send + 'a,
) -> BoxFuture<'a, Outcome> {
    Box::pin(async move {
        let started = std::time::Instant::now();
        let mut o = inspect.await;
        o.metrics.response_time_ms = Some(started.elapsed().as_secs_f64() * 1e3);
        o
    })
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A runnable check; it may keep state between runs (last PID, CPU sample).
pub trait Check: Send {
    fn run(&mut self) -> BoxFuture<'_, Outcome>;
}

/// A fresh runner for a check definition.
pub fn build(spec: &CheckSpec) -> Box<dyn Check> {
    match spec {
        CheckSpec::Http(s) => Box::new(http::HttpCheck::new(s.clone())),
        CheckSpec::Tcp(s) => Box::new(http::TcpCheck::new(s.clone())),
        CheckSpec::Process(s) => Box::new(process::ProcessCheck::new(s.clone())),
        CheckSpec::Database(s) => Box::new(database::DatabaseCheck::new(s.clone())),
        CheckSpec::Grpc(s) => Box::new(grpc::GrpcCheck::new(s.clone())),
        CheckSpec::Ping(s) => Box::new(ping::PingCheck::new(s.clone())),
        CheckSpec::Temporal(s) => Box::new(temporal::TemporalCheck::new(s.clone())),
        CheckSpec::Kubernetes(s) => Box::new(kubernetes::KubernetesCheck::new(s.clone())),
    }
}
