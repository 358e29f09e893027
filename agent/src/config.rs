//! `agent.toml`: what the agent is, where it ships to and which checks it runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lightbulb_common::config::ConfigError;
use lightbulb_common::time::serde_duration;
use serde::{Deserialize, Serialize};

use crate::plan::{CheckConfig, PlannedCheck, plan};

/// Top-level keys, also accepted as `LIGHTBULB_<KEY>` environment variables.
pub const KEYS: &[&str] = &[
    "agent_id",
    "hostname",
    "collector",
    "spool_dir",
    "labels",
    "tls",
    "spool",
    "shipper",
    "scheduler",
    "discovery",
    "secrets",
    "checks",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Agent id; must be a name in the client certificate. Env `LIGHTBULB_AGENT_ID`. Required.
    pub agent_id: String,
    /// Host name reported to the collector. Default: the machine's host name.
    pub hostname: String,
    /// Collector gRPC URL. Default `https://127.0.0.1:7443`. Env `LIGHTBULB_COLLECTOR`.
    pub collector: String,
    /// Spool directory. Default `data/spool`. Env `LIGHTBULB_SPOOL_DIR`.
    pub spool_dir: PathBuf,
    /// Labels for central check assignment. Default none.
    pub labels: BTreeMap<String, String>,
    pub tls: TlsConfig,
    pub spool: SpoolConfig,
    pub shipper: ShipperConfig,
    pub scheduler: SchedulerConfig,
    /// Services found by watching Kubernetes (`[discovery.kubernetes]`).
    pub discovery: crate::discovery::DiscoveryConfig,
    /// Where `secret://` references in checks are read (`[secrets]`).
    pub secrets: crate::secrets::SecretsConfig,
    /// The local health listener (`[health]`).
    pub health: crate::health::HealthConfig,
    /// Locally configured checks.
    pub checks: Vec<CheckConfig>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            agent_id: String::new(),
            hostname: String::new(),
            collector: "https://127.0.0.1:7443".into(),
            spool_dir: "data/spool".into(),
            labels: BTreeMap::new(),
            tls: TlsConfig::default(),
            spool: SpoolConfig::default(),
            shipper: ShipperConfig::default(),
            scheduler: SchedulerConfig::default(),
            discovery: Default::default(),
            secrets: Default::default(),
            health: Default::default(),
            checks: Vec::new(),
        }
    }
}

/// Client certificate and the CA that signed the collector's certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Default `certs/ca.crt`. Env `LIGHTBULB_TLS__CA`.
    pub ca: PathBuf,
    /// Default `certs/agent.crt`. Env `LIGHTBULB_TLS__CERT`.
    pub cert: PathBuf,
    /// Default `certs/agent.key`. Env `LIGHTBULB_TLS__KEY`.
    pub key: PathBuf,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            ca: "certs/ca.crt".into(),
            cert: "certs/agent.crt".into(),
            key: "certs/agent.key".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolConfig {
    /// The spool's budget on disk; past it the oldest results are dropped
    /// (counted, reported and marked in history). Default 268435456
    /// (256 MiB). Env `LIGHTBULB_SPOOL__MAX_BYTES`.
    pub max_bytes: u64,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig {
            max_bytes: 256 << 20,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShipperConfig {
    /// Results per batch. Default 1000. Env `LIGHTBULB_SHIPPER__BATCH_SIZE`.
    pub batch_size: usize,
    /// How long a partial batch may wait for more results. Default `100ms`.
    #[serde(with = "serde_duration")]
    pub batch_latency: Duration,
    /// Batches sent but not yet acknowledged. Default 16 (the collector
    /// commits up to 16 batches of one stream at once).
    pub max_in_flight: usize,
    /// First reconnect delay. Default `200ms`.
    #[serde(with = "serde_duration")]
    pub backoff_min: Duration,
    /// Longest reconnect delay. Default `30s`.
    #[serde(with = "serde_duration")]
    pub backoff_max: Duration,
    /// Keep-alive interval on an idle stream. Default `5s`.
    #[serde(with = "serde_duration")]
    pub heartbeat: Duration,
}

impl Default for ShipperConfig {
    fn default() -> Self {
        ShipperConfig {
            batch_size: 1000,
            batch_latency: Duration::from_millis(100),
            max_in_flight: 16,
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            heartbeat: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// Checks running at the same time. Default 64. Env `LIGHTBULB_SCHEDULER__MAX_CONCURRENCY`.
    pub max_concurrency: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            max_concurrency: 64,
        }
    }
}

impl AgentConfig {
    /// Loads and validates the configuration.
    pub fn load(file: Option<&Path>) -> Result<AgentConfig, ConfigError> {
        let mut config: AgentConfig = lightbulb_common::config::load("agent", file, KEYS)?;
        let origin = file
            .map(|f| format!("file `{}`", f.display()))
            .unwrap_or_else(|| "configuration".into());
        config.validate(&origin)?;
        if config.hostname.is_empty() {
            config.hostname = read_hostname();
        }
        Ok(config)
    }

    /// Every problem at once, each naming the key.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut problem =
            |key: &str, reason: String| problems.push(format!("{origin}: key `{key}`: {reason}"));
        if self.agent_id.is_empty() {
            problem(
                "agent_id",
                "is required (the name in the agent's client certificate)".into(),
            );
        }
        if !(self.collector.starts_with("https://")) {
            problem(
                "collector",
                format!(
                    "`{}` must be an https:// URL (agents always use mutual TLS)",
                    self.collector
                ),
            );
        }
        if self.shipper.batch_size == 0 {
            problem("shipper.batch_size", "must be at least 1".into());
        }
        if self.shipper.max_in_flight == 0 {
            problem("shipper.max_in_flight", "must be at least 1".into());
        }
        if let Err(e) = lightbulb_common::backoff::Backoff::new(
            self.shipper.backoff_min,
            self.shipper.backoff_max,
        ) {
            problem("shipper.backoff_min", e);
        }
        if self.scheduler.max_concurrency == 0 {
            problem("scheduler.max_concurrency", "must be at least 1".into());
        }
        if self.spool.max_bytes < 1 << 20 {
            problem("spool.max_bytes", "must be at least 1048576 (1 MiB)".into());
        }
        for (key, reason) in self.secrets.problems() {
            problem(&format!("secrets.{key}"), reason);
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.checks.iter().enumerate() {
            if self.secrets.vault.is_none() {
                for (key, r) in lightbulb_common::secret::references(&c.status_config) {
                    if let Ok(r @ lightbulb_common::secret::SecretRef::Vault { .. }) = r {
                        problem(
                            &format!("checks[{i}].status_config.{key}"),
                            format!(
                                "`{r}` names a Vault secret, but `[secrets.vault]` is not configured"
                            ),
                        );
                    }
                }
            }
            if let Err(e) = plan(c) {
                for (key, reason) in e {
                    problem(&format!("checks[{i}].{key}"), reason);
                }
            }
            if !seen.insert(&c.service_id) {
                problem(
                    &format!("checks[{i}].service_id"),
                    format!("`{}` is configured twice", c.service_id),
                );
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }

    /// The checks to schedule (the configuration is valid).
    pub fn planned_checks(&self) -> Vec<PlannedCheck> {
        self.checks.iter().filter_map(|c| plan(c).ok()).collect()
    }
}

fn read_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}
