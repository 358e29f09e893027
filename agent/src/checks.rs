//! Check types the agent runs. Each maps what it observes to a status with the
//! thresholds from its `status_config`.

pub mod http;
pub mod process;

use std::future::Future;
use std::pin::Pin;

use lightbulb_common::{Metrics, ServiceType, Status};
use serde::de::DeserializeOwned;

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

/// A validated check configuration.
#[derive(Debug, Clone)]
pub enum CheckSpec {
    Http(http::HttpSpec),
    Tcp(http::TcpSpec),
    Process(process::ProcessSpec),
}

impl CheckSpec {
    /// Parses `status_config` for `service_type`; errors are (key, reason).
    pub fn parse(
        service_type: ServiceType,
        config: &serde_json::Value,
    ) -> Result<CheckSpec, (String, String)> {
        match service_type {
            ServiceType::ApiEndpoint => http::parse(config),
            ServiceType::PythonProcess => {
                let spec: process::ProcessSpec = from_config(config)?;
                spec.validate()?;
                Ok(CheckSpec::Process(spec))
            }
            other => Err((
                String::new(),
                format!(
                    "check type `{other}` is not supported by this agent yet; it runs `api_endpoint` and `python_process`"
                ),
            )),
        }
    }

    /// A fresh runner for this check.
    pub fn build(&self) -> Box<dyn Check> {
        match self {
            CheckSpec::Http(s) => Box::new(http::HttpCheck::new(s.clone())),
            CheckSpec::Tcp(s) => Box::new(http::TcpCheck::new(s.clone())),
            CheckSpec::Process(s) => Box::new(process::ProcessCheck::new(s.clone())),
        }
    }
}

/// Deserializes a typed `status_config`, reporting unknown or mistyped keys.
pub(crate) fn from_config<T: DeserializeOwned>(
    config: &serde_json::Value,
) -> Result<T, (String, String)> {
    let value = if config.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        config.clone()
    };
    if !value.is_object() {
        return Err((String::new(), "must be a table of settings".into()));
    }
    serde_json::from_value(value).map_err(|e| (String::new(), e.to_string()))
}
