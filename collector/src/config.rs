//! `collector.toml`: listeners, TLS material and the store.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lightbulb_common::config::ConfigError;
use lightbulb_common::time::serde_duration;
use serde::{Deserialize, Serialize};

/// Top-level keys, also accepted as `LIGHTBULB_<SECTION>__<KEY>` environment variables.
pub const KEYS: &[&str] = &["http", "grpc", "tls", "store", "sse", "agents"];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    pub http: HttpConfig,
    pub grpc: GrpcConfig,
    pub tls: TlsConfig,
    pub store: StoreConfig,
    pub sse: SseConfig,
    pub agents: AgentsConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// REST, SSE, UI and `/metrics`. Default `127.0.0.1:8080`. Env `LIGHTBULB_HTTP__LISTEN`.
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    /// Agent ingest, mutual TLS. Default `127.0.0.1:7443`. Env `LIGHTBULB_GRPC__LISTEN`.
    pub listen: SocketAddr,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        GrpcConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7443)),
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
    /// `sqlite` (embedded, the default). Env `LIGHTBULB_STORE__KIND`.
    pub kind: String,
    /// SQLite database file. Default `data/lightbulb.db`. Env `LIGHTBULB_STORE__PATH`.
    pub path: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            kind: "sqlite".into(),
            path: "data/lightbulb.db".into(),
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
}

impl Default for AgentsConfig {
    fn default() -> Self {
        AgentsConfig {
            heartbeat: Duration::from_secs(5),
        }
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
        if self.store.kind != "sqlite" {
            problems.push(format!(
                "{origin}: key `store.kind`: `{}` is not a store this collector has; use `sqlite`",
                self.store.kind
            ));
        }
        if self.sse.heartbeat < Duration::from_secs(1) {
            problems.push(format!(
                "{origin}: key `sse.heartbeat`: must be at least 1s"
            ));
        }
        if self.agents.heartbeat < Duration::from_millis(100) {
            problems.push(format!(
                "{origin}: key `agents.heartbeat`: must be at least 100ms"
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }
}
