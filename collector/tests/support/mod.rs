//! Helpers for the collector's integration tests: certificates, the real
//! collector and agent binaries as child processes, HTTP and SSE clients,
//! the stores under test. The peers themselves are in `lightbulb-testkit`.
#![allow(dead_code)]

pub mod alerts;
pub mod api;
pub mod rng;
pub mod sse;
pub mod stores;

// The peers shared with the agent's tests (each test file uses some).
#[allow(unused_imports)]
pub use lightbulb_testkit::{Proc, clickhouse, eventually, free_port, kubernetes};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A scratch directory with a dev CA and certificates for `agents`.
pub fn certs(dir: &Path, agents: &[&str]) -> PathBuf {
    let out = dir.join("certs");
    let agents: Vec<String> = agents.iter().map(|a| a.to_string()).collect();
    lightbulb_common::certs::init(&out, &agents, &[]).expect("certs init");
    out
}

pub fn collector_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lightbulb-collector"))
}

/// The agent binary, built next to the collector's by `cargo build --workspace`.
pub fn agent_bin() -> PathBuf {
    let bin = collector_bin().with_file_name("lightbulb-agent");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --bins` before these tests (the README's test command does)",
        bin.display()
    );
    bin
}

/// The agent's `bench` (named `name` in failure output) with `config` and
/// `args` (`--results`, `--services`, …).
pub fn agent_bench(name: &str, config: &Path, args: &[&str]) -> Proc {
    let mut cmd = std::process::Command::new(agent_bin());
    cmd.arg("--config").arg(config).arg("bench").args(args);
    Proc::spawn(name, cmd)
}

/// Where a collector child keeps its data.
#[derive(Clone)]
pub enum StoreSpec {
    Sqlite(PathBuf),
    ClickHouse { url: String, database: String },
}

impl StoreSpec {
    fn toml(&self) -> String {
        match self {
            StoreSpec::Sqlite(db) => format!("kind = \"sqlite\"\npath = \"{}\"\n", db.display()),
            StoreSpec::ClickHouse { url, database } => format!(
                "kind = \"clickhouse\"\nurl = \"{url}\"\ndatabase = \"{database}\"\npoll_interval = \"200ms\"\n"
            ),
        }
    }
}

/// A collector child process and the addresses it bound.
pub struct Collector {
    pub proc: Proc,
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub config: PathBuf,
    pub store: StoreSpec,
    /// TOML appended to the generated config.
    pub extra: String,
}

impl Collector {
    /// Starts a collector in `dir` on free ports, storing into SQLite.
    pub fn start(dir: &Path, certs: &Path) -> Collector {
        Collector::start_with(dir, certs, StoreSpec::Sqlite(dir.join("data/lightbulb.db")))
    }

    /// Starts a collector in `dir` on free ports with `store`.
    pub fn start_with(dir: &Path, certs: &Path, store: StoreSpec) -> Collector {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        Collector::start_on(dir, certs, any, any, store, "")
    }

    /// The collector command for a config with `extra` TOML appended, not started.
    pub fn command(dir: &Path, certs: &Path, extra: &str) -> (std::process::Command, PathBuf) {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let store = StoreSpec::Sqlite(dir.join("data/lightbulb.db"));
        let config = Collector::write_config(dir, certs, any, any, &store, extra);
        let mut cmd = std::process::Command::new(collector_bin());
        cmd.arg("--config").arg(&config);
        (cmd, config)
    }

    pub fn write_config(
        dir: &Path,
        certs: &Path,
        http: SocketAddr,
        grpc: SocketAddr,
        store: &StoreSpec,
        extra: &str,
    ) -> PathBuf {
        // Each collector of a test gets its own config file.
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let config = dir.join(format!("collector-{n}.toml"));
        std::fs::write(
            &config,
            format!(
                "[http]\nlisten = \"{http}\"\n[grpc]\nlisten = \"{grpc}\"\n[tls]\nca = \"{c}/ca.crt\"\ncert = \"{c}/collector.crt\"\nkey = \"{c}/collector.key\"\n[store]\n{store}[sse]\nheartbeat = \"1s\"\n{extra}",
                c = certs.display(),
                store = store.toml(),
            ),
        )
        .unwrap();
        config
    }

    /// Starts a collector with `extra` TOML appended to its config.
    /// On free ports with a SQLite store in `dir/data`, plus `extra` configuration.
    pub fn sqlite(dir: &Path, certs: &Path, extra: &str) -> Collector {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let store = StoreSpec::Sqlite(dir.join("data/lightbulb.db"));
        Collector::start_on(dir, certs, any, any, store, extra)
    }

    pub fn start_on(
        dir: &Path,
        certs: &Path,
        http: SocketAddr,
        grpc: SocketAddr,
        store: StoreSpec,
        extra: &str,
    ) -> Collector {
        let config = Collector::write_config(dir, certs, http, grpc, &store, extra);
        let mut cmd = std::process::Command::new(collector_bin());
        cmd.arg("--config").arg(&config);
        let proc = Proc::spawn("collector", cmd);
        let line = proc.wait_for_line("collector listening", Duration::from_secs(30));
        let addr = |key: &str| -> SocketAddr {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} in `{line}`"))
                .parse()
                .unwrap()
        };
        Collector {
            http: addr("http="),
            grpc: addr("grpc="),
            proc,
            config,
            store,
            extra: extra.to_string(),
        }
    }

    /// SIGKILL, then start again on the same ports.
    pub fn kill_and_restart(&mut self, dir: &Path, certs: &Path) {
        self.proc.kill();
        let next = Collector::start_on(
            dir,
            certs,
            self.http,
            self.grpc,
            self.store.clone(),
            &self.extra,
        );
        *self = next;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// `SELECT` of one number from the collector's database.
    pub fn query(&self, sql: &str) -> i64 {
        match &self.store {
            StoreSpec::Sqlite(db) => lightbulb_collector::store::sqlite::query_i64(db, sql)
                .expect("query")
                .unwrap_or(0),
            StoreSpec::ClickHouse { url, database } => clickhouse::query_i64(url, database, sql),
        }
    }
}

/// Writes an agent config for `agent_id` reporting to `grpc`, with extra TOML appended.
pub fn agent_config(
    dir: &Path,
    certs: &Path,
    agent_id: &str,
    grpc: SocketAddr,
    extra: &str,
) -> PathBuf {
    let path = dir.join(format!("agent-{agent_id}.toml"));
    std::fs::write(
        &path,
        format!(
            "agent_id = \"{agent_id}\"\ncollector = \"https://{grpc}\"\nspool_dir = \"{spool}\"\n[tls]\nca = \"{c}/ca.crt\"\ncert = \"{c}/agent-{agent_id}.crt\"\nkey = \"{c}/agent-{agent_id}.key\"\n[shipper]\nbackoff_min = \"50ms\"\nbackoff_max = \"1s\"\n{extra}",
            spool = dir.join(format!("spool-{agent_id}")).display(),
            c = certs.display(),
        ),
    )
    .unwrap();
    path
}

pub fn http() -> reqwest::Client {
    lightbulb_common::tls::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub async fn get_json(client: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let r = client.get(url).send().await.expect("request");
    let code = r.status().as_u16();
    (code, r.json().await.unwrap_or(serde_json::Value::Null))
}

pub async fn get_text(client: &reqwest::Client, url: &str) -> String {
    client
        .get(url)
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body")
}

/// A collector served in-process on free ports; stopped when dropped.
pub struct InProcess {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub certs: PathBuf,
    stop: tokio_util::sync::CancellationToken,
    _dir: tempfile::TempDir,
}

impl InProcess {
    pub async fn start(agents: &[&str]) -> InProcess {
        InProcess::start_with(agents, |_| {}).await
    }

    /// Starts with the configuration adjusted by `tweak`.
    pub async fn start_with(
        agents: &[&str],
        tweak: impl FnOnce(&mut lightbulb_collector::config::CollectorConfig),
    ) -> InProcess {
        lightbulb_common::tls::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let certs = certs(dir.path(), agents);
        let mut config = lightbulb_collector::config::CollectorConfig::default();
        config.tls.ca = certs.join("ca.crt");
        config.tls.cert = certs.join("collector.crt");
        config.tls.key = certs.join("collector.key");
        config.store.path = dir.path().join("lightbulb.db");
        config.sse.heartbeat = Duration::from_secs(1);
        // Free ports, unless `tweak` picks one (a provider must know where to send users back).
        config.http.listen = "127.0.0.1:0".parse().unwrap();
        config.grpc.listen = "127.0.0.1:0".parse().unwrap();
        tweak(&mut config);
        let http = tokio::net::TcpListener::bind(config.http.listen)
            .await
            .unwrap();
        let grpc = tokio::net::TcpListener::bind(config.grpc.listen)
            .await
            .unwrap();
        let (http_addr, grpc_addr) = (http.local_addr().unwrap(), grpc.local_addr().unwrap());
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(lightbulb_collector::serve(config, http, grpc, stop.clone()));
        let server = InProcess {
            http: http_addr,
            grpc: grpc_addr,
            certs,
            stop,
            _dir: dir,
        };
        let client = self::http();
        eventually(Duration::from_secs(10), "collector ready", || {
            let client = client.clone();
            let url = server.url("/readyz");
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status() == 200)
                    .map(|_| ())
            }
        })
        .await;
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// Where this collector keeps its database (and token key).
    pub fn data_dir(&self) -> &Path {
        self._dir.path()
    }

    /// An agent configuration for `agent_id` with its certificate.
    pub fn agent_config(
        &self,
        agent_id: &str,
        spool: &Path,
    ) -> lightbulb_agent::config::AgentConfig {
        let mut config = lightbulb_agent::config::AgentConfig {
            agent_id: agent_id.into(),
            hostname: "test-host".into(),
            collector: format!("https://{}", self.grpc),
            spool_dir: spool.into(),
            ..Default::default()
        };
        config.tls.ca = self.certs.join("ca.crt");
        config.tls.cert = self.certs.join(format!("agent-{agent_id}.crt"));
        config.tls.key = self.certs.join(format!("agent-{agent_id}.key"));
        config.shipper.backoff_min = Duration::from_millis(50);
        config.shipper.backoff_max = Duration::from_millis(500);
        config
    }
}

/// An agent run in-process until dropped, with its spool.
pub struct RunningAgent {
    _stop: tokio_util::sync::DropGuard,
    _spool: tempfile::TempDir,
}

impl InProcess {
    /// Runs agent `agent_id` (real agent code, in-process) against this
    /// collector until the returned guard is dropped.
    pub fn run_agent(&self, agent_id: &str) -> RunningAgent {
        let spool = tempfile::tempdir().unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(lightbulb_agent::run(
            self.agent_config(agent_id, spool.path()),
            stop.clone(),
        ));
        RunningAgent {
            _stop: stop.drop_guard(),
            _spool: spool,
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A JSON request; the status and the JSON answer (null if none).
pub async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = client
        .request(method, url)
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        r.status().as_u16(),
        r.json().await.unwrap_or(serde_json::Value::Null),
    )
}
