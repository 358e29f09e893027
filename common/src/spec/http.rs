//! Network checks: HTTP(S), TCP connect, gRPC health and ICMP ping, all
//! named by the `url` of an `api_endpoint` service.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{CheckSpec, from_config};
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
    /// ping://: echo requests sent per run (default 3, at most 20).
    #[serde(default = "three")]
    pub ping_count: u32,
    /// ping://: a loss above this share (%) is DEGRADED (default 0: any
    /// loss); losing every packet is FAILED.
    #[serde(default)]
    pub loss_degraded_percent: f64,
}

fn three() -> u32 {
    3
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

/// ICMP echo to `host` (`ping://host`): RTT and loss over `count` requests.
#[derive(Debug, Clone, PartialEq)]
pub struct PingSpec {
    pub host: String,
    pub count: u32,
    /// Average RTT above this is DEGRADED.
    pub degraded_ms: Option<u64>,
    pub loss_degraded_percent: f64,
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

pub(super) fn parse_http(config: &serde_json::Value) -> Result<CheckSpec, (String, String)> {
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
    if let Some(rest) = spec.url.strip_prefix("ping://") {
        let host = rest.trim_end_matches('/');
        if host.is_empty() || host.contains(['/', '?', '#', '@']) {
            return Err((
                "url".into(),
                format!("`{}` must look like ping://host", spec.url),
            ));
        }
        if !(1..=20).contains(&spec.ping_count) {
            return Err(("ping_count".into(), "must be from 1 to 20".into()));
        }
        if !(0.0..100.0).contains(&spec.loss_degraded_percent) {
            return Err((
                "loss_degraded_percent".into(),
                "must be at least 0 and below 100".into(),
            ));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        return Ok(CheckSpec::Ping(PingSpec {
            host: host.to_string(),
            count: spec.ping_count,
            degraded_ms: spec.degraded_ms,
            loss_degraded_percent: spec.loss_degraded_percent,
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
                "`{}` must use http://, https://, tcp://, grpc://, grpcs:// or ping://",
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
