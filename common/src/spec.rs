//! Check definitions (`status_config` per service type), parsed and
//! validated the same way wherever they come from: an agent's `agent.toml`
//! or a service defined through the collector's admin API.

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ServiceType;

mod database;
mod kubernetes;
mod process;
mod temporal;
pub use self::database::DatabaseSpec;
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// `http://`, `https://`, `tcp://host:port`, or `grpc://host:port` /
    /// `grpcs://host:port` (the gRPC health-checking protocol, plaintext or TLS).
    pub url: String,
    /// grpc://: the service asked about (default: the server as a whole).
    #[serde(default)]
    pub grpc_service: Option<String>,
    /// `GET` (default), `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE` or `OPTIONS`.
    #[serde(default = "default_method")]
    pub method: String,
    /// Request headers.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Request body.
    #[serde(default)]
    pub body: Option<String>,
    /// Assertions on a JSON response; one that does not hold is FAILED.
    #[serde(default)]
    pub json: Vec<JsonAssertion>,
    /// Accepted status codes; default any 2xx.
    #[serde(default)]
    pub expected_status: Vec<u16>,
    /// Latency above this is DEGRADED. Default: no latency threshold.
    #[serde(default)]
    pub degraded_ms: Option<u64>,
    /// The body must contain this text.
    #[serde(default)]
    pub body_contains: Option<String>,
    /// Follow redirects (default true, at most `max_redirects`).
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    /// Most redirects followed; one more is FAILED. Default 10.
    #[serde(default = "ten_redirects")]
    pub max_redirects: usize,
    /// Accept invalid TLS certificates (default false; https:// only).
    #[serde(default)]
    pub insecure: bool,
    /// PEM CA certificates trusted besides the system roots (https://, grpcs://).
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// https, grpcs: a certificate expiring within this many days is DEGRADED, an
    /// expired one FAILED. Default 14.
    #[serde(default = "fourteen")]
    pub cert_degraded_days: u32,
}

fn fourteen() -> u32 {
    14
}

fn default_method() -> String {
    "GET".into()
}

fn yes() -> bool {
    true
}

fn ten_redirects() -> usize {
    10
}

/// One assertion on a JSON response body: the value at `path` (`$.a.b[0]`
/// or `a.b.0`) exists (or not), and equals `equals` when given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonAssertion {
    pub path: String,
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    /// Default true.
    #[serde(default = "yes")]
    pub exists: bool,
}

impl JsonAssertion {
    /// Path steps: object keys and array indexes.
    pub fn steps(&self) -> Result<Vec<PathStep>, String> {
        let path = self.path.strip_prefix('$').unwrap_or(&self.path);
        let mut steps = Vec::new();
        for part in path.split('.').filter(|p| !p.is_empty()) {
            let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
            if !key.is_empty() {
                match key.parse::<usize>() {
                    Ok(i) => steps.push(PathStep::Index(i)),
                    Err(_) => steps.push(PathStep::Key(key.to_string())),
                }
            }
            for idx in rest.split('[').filter(|p| !p.is_empty()) {
                let n = idx
                    .strip_suffix(']')
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("`{}`: `[{idx}` is not an index like [0]", self.path))?;
                steps.push(PathStep::Index(n));
            }
        }
        if steps.is_empty() {
            return Err(format!("`{}` names no value", self.path));
        }
        Ok(steps)
    }

    /// The value at the path, if any.
    pub fn find<'a>(&self, v: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        let mut at = v;
        for step in self.steps().ok()? {
            at = match step {
                PathStep::Key(k) => at.get(&k)?,
                PathStep::Index(i) => at.get(i)?,
            };
        }
        Some(at)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// `grpc.health.v1.Health/Check` against `addr`.
#[derive(Debug, Clone, PartialEq)]
pub struct GrpcSpec {
    pub addr: String,
    pub service: String,
    pub degraded_ms: Option<u64>,
    /// grpcs://: TLS, trusting the system roots and `ca`.
    pub tls: bool,
    pub ca: Option<PathBuf>,
    pub cert_degraded_days: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TcpSpec {
    pub addr: String,
    pub degraded_ms: Option<u64>,
}

/// `host:port` of a `scheme://host:port` URL, or the `url` key's error.
fn host_port<'a>(url: &'a str, scheme: &str) -> Result<&'a str, (String, String)> {
    let addr = url
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"))
        .unwrap_or_default()
        .trim_end_matches('/');
    if addr
        .rsplit_once(':')
        .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
    {
        return Err((
            "url".into(),
            format!("`{url}` must look like {scheme}://host:port"),
        ));
    }
    Ok(addr)
}

fn parse_http(config: &serde_json::Value) -> Result<CheckSpec, (String, String)> {
    let spec: HttpSpec = from_config(config)?;
    for scheme in ["grpc", "grpcs"] {
        if !spec.url.starts_with(&format!("{scheme}://")) {
            continue;
        }
        let addr = host_port(&spec.url, scheme)?;
        if spec.insecure {
            return Err((
                "insecure".into(),
                "is not supported for gRPC; trust the server's CA with `ca`".into(),
            ));
        }
        return Ok(CheckSpec::Grpc(GrpcSpec {
            addr: addr.to_string(),
            service: spec.grpc_service.clone().unwrap_or_default(),
            degraded_ms: spec.degraded_ms,
            tls: scheme == "grpcs",
            ca: spec.ca.clone(),
            cert_degraded_days: spec.cert_degraded_days,
        }));
    }
    if spec.url.starts_with("tcp://") {
        let addr = host_port(&spec.url, "tcp")?;
        return Ok(CheckSpec::Tcp(TcpSpec {
            addr: addr.to_string(),
            degraded_ms: spec.degraded_ms,
        }));
    }
    let url = url::Url::parse(&spec.url).map_err(|e| {
        (
            "url".to_string(),
            format!("`{}` is not a URL: {e}", spec.url),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err((
            "url".into(),
            format!(
                "`{}` must use http://, https://, tcp://, grpc:// or grpcs://",
                spec.url
            ),
        ));
    }
    if !matches!(
        spec.method.to_ascii_uppercase().as_str(),
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS"
    ) {
        return Err((
            "method".into(),
            format!(
                "`{}` is not supported; use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS",
                spec.method
            ),
        ));
    }
    for (name, value) in &spec.headers {
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name || value.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err((
                format!("headers.{name}"),
                "is not a valid HTTP header".into(),
            ));
        }
    }
    for (i, a) in spec.json.iter().enumerate() {
        a.steps().map_err(|e| (format!("json[{i}].path"), e))?;
    }
    if let Some(bad) = spec
        .expected_status
        .iter()
        .find(|c| !(100..=599).contains(*c))
    {
        return Err((
            "expected_status".into(),
            format!("{bad} is not an HTTP status code"),
        ));
    }
    Ok(CheckSpec::Http(spec))
}

#[cfg(test)]
mod tests;
