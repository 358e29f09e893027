//! `collector.toml`: listeners, TLS material, the store and sign-in.

mod alerting;
mod auth;
mod insights;

pub use self::alerting::AlertingConfig;
pub use self::auth::{AuthConfig, AuthMode, KEY_FILE_NEEDED, LocalAdmin, OidcConfig};
pub use self::insights::{AiConfig, AnomalyConfig, InsightsConfig, ReportConfig};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lightbulb_common::config::ConfigError;
use lightbulb_common::time::serde_duration;
use serde::{Deserialize, Serialize};

/// Top-level keys, also accepted as `LIGHTBULB_<SECTION>__<KEY>` environment variables.
pub const KEYS: &[&str] = &[
    "http", "grpc", "tls", "store", "sse", "agents", "status", "catalog", "auth", "limits",
    "checks", "alerting", "insights",
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    pub http: HttpConfig,
    pub grpc: GrpcConfig,
    pub tls: TlsConfig,
    pub store: StoreConfig,
    pub sse: SseConfig,
    pub agents: AgentsConfig,
    pub status: StatusConfig,
    pub catalog: CatalogConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub checks: ChecksConfig,
    pub alerting: AlertingConfig,
    pub insights: InsightsConfig,
}

/// Rules for checks defined in the catalog.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    /// Address blocks catalog checks may not target (422 naming the
    /// key). Default: link-local `169.254.0.0/16` and `fe80::/10` and the
    /// cloud metadata addresses; `[]` denies nothing.
    pub deny_networks: Vec<String>,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig {
            deny_networks: crate::catalog::targets::DEFAULT_DENIED
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// How much one caller may ask of the HTTP API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Requests per second each caller (a token, a signed-in user) and each
    /// client address may make on average; 0: no limit. Default 100.
    pub requests_per_second: u32,
    /// Requests a caller may make at once above that. Default 1000.
    pub burst: u32,
    /// Sign-in attempts per client address per minute. Default 10.
    pub logins_per_minute: u32,
    /// Live streams one caller may hold open (per client address while
    /// sign-in is off). Default 10.
    pub streams_per_caller: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            requests_per_second: 100,
            burst: 1000,
            logins_per_minute: 10,
            streams_per_caller: 10,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Services and relations declared in a TOML or YAML file, applied at start, on
    /// SIGHUP and when the file changes; what it declares is read-only
    /// through the API. Default: none. Env `LIGHTBULB_CATALOG__FILE`.
    pub file: Option<PathBuf>,
    /// The file's environment to apply: its `environments.<name>`
    /// overrides are merged in. Default none: the file as written.
    /// Env `LIGHTBULB_CATALOG__ENVIRONMENT`.
    pub environment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// REST, SSE, UI and `/metrics`. Default `127.0.0.1:8080`. Env `LIGHTBULB_HTTP__LISTEN`.
    pub listen: SocketAddr,
    /// Other sites whose pages may call the API (CORS), as origins
    /// (`https://grafana.example.com`). Default none.
    pub cors_origins: Vec<String>,
    /// A file holding a token `/metrics` then asks for (`Authorization:
    /// Bearer …`). Default none: `/metrics` is open.
    pub metrics_token_file: Option<PathBuf>,
    /// `[http.tls]`: serve HTTPS with this certificate (read again on
    /// SIGHUP) and send HSTS. Default none: plain HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<crate::https::HttpTlsConfig>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            cors_origins: Vec::new(),
            metrics_token_file: None,
            tls: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    /// Agent ingest, mutual TLS. Default `127.0.0.1:7443`. Env `LIGHTBULB_GRPC__LISTEN`.
    pub listen: SocketAddr,
    /// Agents refused whatever their certificate: agent ids and
    /// `serial:<hex>`, one per line; read again when it changes. Default none.
    pub deny_agents_file: Option<PathBuf>,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        GrpcConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7443)),
            deny_agents_file: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// CA that signs agent certificates. Default `certs/ca.crt`. Env `LIGHTBULB_TLS__CA`.
    pub ca: PathBuf,
    /// Collector certificate. Default `certs/collector.crt`. Env `LIGHTBULB_TLS__CERT`.
    pub cert: PathBuf,
    /// Collector private key. Default `certs/collector.key`. Env `LIGHTBULB_TLS__KEY`.
    pub key: PathBuf,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ca: "certs/ca.crt".into(),
            cert: "certs/collector.crt".into(),
            key: "certs/collector.key".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite` (embedded, the default) or `clickhouse`. Env `LIGHTBULB_STORE__KIND`.
    pub kind: StoreKind,
    /// SQLite database file. Default `data/lightbulb.db`. Env `LIGHTBULB_STORE__PATH`.
    pub path: PathBuf,
    /// ClickHouse HTTP(S) endpoint. Default `http://127.0.0.1:8123`. Env `LIGHTBULB_STORE__URL`.
    pub url: String,
    /// ClickHouse database, created if missing. Default `lightbulb`. Env `LIGHTBULB_STORE__DATABASE`.
    pub database: String,
    /// ClickHouse user. Default `default`. Env `LIGHTBULB_STORE__USER`.
    pub user: String,
    /// ClickHouse password. Default empty. Env `LIGHTBULB_STORE__PASSWORD`. Never logged.
    #[serde(serialize_with = "redact")]
    pub password: String,
    /// Non-empty: replicated tables on this ClickHouse cluster plus Distributed
    /// tables over them. Default empty (one server). Env `LIGHTBULB_STORE__CLUSTER`.
    pub cluster: String,
    /// Raw results (and status events) are kept this long. Default `90d`.
    #[serde(with = "serde_duration")]
    pub retention_raw: Duration,
    /// Per-minute and per-hour rollups are kept this long. Default `365d`.
    #[serde(with = "serde_duration")]
    pub retention_rollups: Duration,
    /// ClickHouse: an insert is sent once this many results wait. Default
    /// 50000; a large fleet ingests half as fast at 10000 (benchmarks.md §12).
    pub flush_rows: usize,
    /// ClickHouse: or once the oldest waiting result is this old. Default `100ms`.
    #[serde(with = "serde_duration")]
    pub flush_interval: Duration,
    /// ClickHouse: how often statuses and events written by other collectors
    /// sharing the database are read. Default `1s`.
    #[serde(with = "serde_duration")]
    pub poll_interval: Duration,
}

/// Which store backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    Clickhouse,
}

pub(crate) fn redact<S: serde::Serializer>(secret: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if secret.is_empty() { "" } else { "<redacted>" })
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            kind: StoreKind::Sqlite,
            path: "data/lightbulb.db".into(),
            url: "http://127.0.0.1:8123".into(),
            database: "lightbulb".into(),
            user: "default".into(),
            password: String::new(),
            cluster: String::new(),
            retention_raw: Duration::from_secs(90 * 86_400),
            retention_rollups: Duration::from_secs(365 * 86_400),
            flush_rows: 50_000,
            flush_interval: Duration::from_millis(100),
            poll_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SseConfig {
    /// Comment line sent on idle streams. Default `15s`. Env `LIGHTBULB_SSE__HEARTBEAT`.
    #[serde(with = "serde_duration")]
    pub heartbeat: Duration,
}

impl Default for SseConfig {
    fn default() -> Self {
        SseConfig {
            heartbeat: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentsConfig {
    /// Heartbeat interval asked of agents; an agent silent for three intervals
    /// is shown as not connected. Default `5s`. Env `LIGHTBULB_AGENTS__HEARTBEAT`.
    #[serde(with = "serde_duration")]
    pub heartbeat: Duration,
    /// How often an agent's spool size is kept for capacity forecasts.
    /// Default `5m`.
    #[serde(with = "serde_duration")]
    pub spool_sample_every: Duration,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        AgentsConfig {
            heartbeat: Duration::from_secs(5),
            spool_sample_every: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusConfig {
    /// A service whose newest result is older than this many of its check
    /// intervals (and of agent heartbeats, whichever is longer) is UNKNOWN.
    /// A check's own `grace` overrides it. Default `3`. Env
    /// `LIGHTBULB_STATUS__GRACE_INTERVALS`.
    pub grace_intervals: u32,
}

impl Default for StatusConfig {
    fn default() -> Self {
        StatusConfig { grace_intervals: 3 }
    }
}

impl CollectorConfig {
    pub fn load(file: Option<&Path>) -> Result<CollectorConfig, ConfigError> {
        let config: CollectorConfig = lightbulb_common::config::load("collector", file, KEYS)?;
        let origin = file
            .map(|f| format!("file `{}`", f.display()))
            .unwrap_or_else(|| "configuration".into());
        config.validate(&origin)?;
        Ok(config)
    }

    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, reason: String| {
            problems.push(format!("{origin}: key `{key}`: {reason}"));
        };
        let store = &self.store;
        match store.kind {
            StoreKind::Sqlite => {}
            StoreKind::Clickhouse => {
                if !(store.url.starts_with("http://") || store.url.starts_with("https://")) {
                    problem(
                        "store.url",
                        format!("`{}` is not an http:// or https:// URL", store.url),
                    );
                }
                for (key, value) in [
                    ("store.database", &store.database),
                    ("store.cluster", &store.cluster),
                ] {
                    let ok = value.chars().enumerate().all(|(i, c)| {
                        c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                    });
                    if !ok || (key == "store.database" && value.is_empty()) {
                        problem(
                            key,
                            format!(
                                "`{value}` is not a plain identifier (letters, digits, `_`, not starting with a digit)"
                            ),
                        );
                    }
                }
                if store.flush_rows == 0 {
                    problem("store.flush_rows", "must be at least 1".into());
                }
                if store.poll_interval < Duration::from_millis(100) {
                    problem("store.poll_interval", "must be at least 100ms".into());
                }
            }
        }
        if store.retention_raw < Duration::from_secs(86_400) {
            problem("store.retention_raw", "must be at least 1d".into());
        }
        if store.retention_rollups < store.retention_raw {
            problem(
                "store.retention_rollups",
                "must not be shorter than `store.retention_raw`".into(),
            );
        }
        if self.sse.heartbeat < Duration::from_secs(1) {
            problem("sse.heartbeat", "must be at least 1s".into());
        }
        if self.status.grace_intervals == 0 {
            problem("status.grace_intervals", "must be at least 1".into());
        }
        if self.agents.heartbeat < Duration::from_millis(100) {
            problem("agents.heartbeat", "must be at least 100ms".into());
        }
        if self.agents.spool_sample_every < Duration::from_secs(1) {
            problem("agents.spool_sample_every", "must be at least 1s".into());
        }
        self.auth
            .problems(self.http.listen, self.store.kind, &mut problem);
        self.insights.problems(&mut problem);
        for origin in &self.http.cors_origins {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            if host.is_none_or(|h| h.is_empty() || h.contains(['/', '*'])) {
                problem(
                    "http.cors_origins",
                    format!("`{origin}` is not an origin like `https://grafana.example.com`"),
                );
            }
        }
        for n in &self.checks.deny_networks {
            if let Err(e) = crate::catalog::targets::Network::parse(n) {
                problem("checks.deny_networks", e);
            }
        }
        self.alerting.problems(&mut problem);
        if self.limits.requests_per_second > 0 && self.limits.burst == 0 {
            problem(
                "limits.burst",
                "must be at least 1 while requests are limited".into(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }
}
