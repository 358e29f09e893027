//! Check types the agent runs. Each maps what it observes to a status with the
//! thresholds from its `status_config`.

mod cert;
pub mod database;
pub mod grpc;
pub mod http;
pub mod process;

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
    }
}
