//! Check definitions (`status_config` per service type), parsed and
//! validated the same way wherever they come from: an agent's `agent.toml`
//! or a service defined through the collector's admin API.

use serde::de::DeserializeOwned;

use crate::ServiceType;

mod database;
mod http;
mod kubernetes;
mod process;
mod temporal;
pub use self::database::DatabaseSpec;
use self::http::parse_http;
pub use self::http::{GrpcSpec, HttpSpec, JsonAssertion, PathStep, PingSpec, TcpSpec};
pub use self::kubernetes::KubernetesSpec;
pub use self::process::ProcessSpec;
pub use self::temporal::TemporalSpec;

/// A validated check configuration.
#[derive(Debug, Clone)]
pub enum CheckSpec {
    Http(HttpSpec),
    Tcp(TcpSpec),
    Process(ProcessSpec),
    Database(DatabaseSpec),
    Grpc(GrpcSpec),
    Ping(PingSpec),
    Temporal(TemporalSpec),
    Kubernetes(KubernetesSpec),
}

impl CheckSpec {
    /// Parses `status_config` for `service_type`; errors are (key, reason).
    pub fn parse(
        service_type: ServiceType,
        config: &serde_json::Value,
    ) -> Result<CheckSpec, (String, String)> {
        match service_type {
            ServiceType::ApiEndpoint => parse_http(config),
            ServiceType::PythonProcess => {
                let spec: ProcessSpec = from_config(config)?;
                spec.validate()?;
                Ok(CheckSpec::Process(spec))
            }
            ServiceType::Database => {
                let spec: DatabaseSpec = from_config(config)?;
                spec.validate()?;
                Ok(CheckSpec::Database(spec))
            }
            ServiceType::TemporalWorkflow => {
                let spec: TemporalSpec = from_config(config)?;
                spec.validate()?;
                Ok(CheckSpec::Temporal(spec))
            }
            ServiceType::KubernetesPod => {
                let spec: KubernetesSpec = from_config(config)?;
                spec.validate()?;
                Ok(CheckSpec::Kubernetes(spec))
            }
            other => Err((
                String::new(),
                format!(
                    "check type `{other}` is not run by agents: the collector derives its status from its dependencies"
                ),
            )),
        }
    }
}

impl CheckSpec {
    /// Parses a `status_config` whose strings may be `secret://` references
    /// (see [`crate::secret`]) as the agent will once they are filled in:
    /// a reference stands for free text (a password, token, header or
    /// body). One that is malformed, sits where only a URL or a number
    /// fits, or decides where the check connects is refused with its key.
    pub fn parse_template(
        service_type: ServiceType,
        config: &serde_json::Value,
    ) -> Result<CheckSpec, (String, String)> {
        let refs = crate::secret::references(config);
        if refs.is_empty() {
            return CheckSpec::parse(service_type, config);
        }
        if let Some((key, Err(why))) = refs.iter().find(|(_, r)| r.is_err()) {
            return Err((key.clone(), why.clone()));
        }
        let with = |stand_in: &str| {
            let filled = crate::secret::fill(config, &mut |_| stand_in.to_string());
            CheckSpec::parse(service_type, &filled).map_err(|(key, reason)| {
                if refs.iter().any(|(k, _)| *k == key) {
                    (key, "holds a secret reference, but a reference can stand only for free text (a password, token, header or body)".into())
                } else {
                    (key, reason.replace(stand_in, "<secret reference>"))
                }
            })
        };
        let spec = with("secret-a")?;
        let other = with("secret-b")?;
        match (spec.target(), other.target()) {
            (Some((key, a)), Some((_, b))) if a != b => Err((
                key.to_string(),
                "a secret reference may not decide where the check connects".into(),
            )),
            _ => Ok(spec),
        }
    }
}

impl CheckSpec {
    /// The host the check connects to, and the `status_config` key naming
    /// it; `None` for checks that stay on the agent's machine or cluster.
    pub fn target(&self) -> Option<(&'static str, String)> {
        let (key, text) = match self {
            CheckSpec::Http(s) => ("url", s.url.as_str()),
            CheckSpec::Database(s) => ("url", s.url.as_str()),
            CheckSpec::Tcp(s) => ("url", s.addr.as_str()),
            CheckSpec::Grpc(s) => ("url", s.addr.as_str()),
            CheckSpec::Ping(s) => ("url", s.host.as_str()),
            CheckSpec::Temporal(s) => ("address", s.address.as_str()),
            CheckSpec::Process(_) | CheckSpec::Kubernetes(_) => return None,
        };
        host_of(text).map(|h| (key, h))
    }
}

/// The host of `scheme://user@host:port/path` or `host:port`, without
/// brackets around an IPv6 address.
pub fn host_of(target: &str) -> Option<String> {
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split_once(']')?.0
    } else if hostport.matches(':').count() > 1 {
        hostport
    } else {
        hostport.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Deserializes a typed `status_config`, reporting unknown or mistyped keys.
pub fn from_config<T: DeserializeOwned>(config: &serde_json::Value) -> Result<T, (String, String)> {
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

#[cfg(test)]
mod tests;
