//! A real ClickHouse server (Debian's `clickhouse-server`) as a child
//! process, with its data in a temporary directory and ports found at run
//! time. Tests in one binary share a server while any of them holds it; each
//! test uses its own database.
//!
//! `LIGHTBULB_TEST_CLICKHOUSE=1` (set by `scripts/test.sh`) makes a missing
//! server a failure; without it the ClickHouse tests are skipped when the
//! server is not installed.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::{Proc, free_port};

const SERVER: &str = "clickhouse-server";

pub struct ClickHouse {
    pub url: String,
    ports: [u16; 3],
    proc: Mutex<Option<Proc>>,
    dir: tempfile::TempDir,
    /// A config file of its own (cluster nodes); else the package's.
    config: Option<std::path::PathBuf>,
}

static SHARED: Mutex<Weak<ClickHouse>> = Mutex::new(Weak::new());
static SHARED_CLUSTER: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());

/// Two ClickHouse nodes replicating one shard (cluster `lb`) through ZooKeeper.
pub struct Cluster {
    pub nodes: Vec<ClickHouse>,
    // Stopped after the nodes (fields drop in order).
    _zookeeper: crate::zookeeper::ZooKeeper,
}

/// The shared cluster, started if no test holds it; `None` when skipped.
pub fn shared_cluster() -> Option<Arc<Cluster>> {
    if !enabled() {
        return None;
    }
    if !crate::zookeeper::installed() {
        let required = std::env::var("LIGHTBULB_TEST_CLICKHOUSE").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "LIGHTBULB_TEST_CLICKHOUSE=1 but ZooKeeper is not installed: apt-get install -y zookeeper"
        );
        eprintln!("skipped: ZooKeeper is not installed (scripts/test.sh installs it)");
        return None;
    }
    let mut slot = SHARED_CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = slot.upgrade() {
        return Some(c);
    }
    let zookeeper = crate::zookeeper::ZooKeeper::start();
    let nodes = ClickHouse::start_cluster(2, zookeeper.port);
    let c = Arc::new(Cluster {
        nodes,
        _zookeeper: zookeeper,
    });
    *slot = Arc::downgrade(&c);
    Some(c)
}
static DATABASES: AtomicU32 = AtomicU32::new(0);

fn installed() -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {SERVER}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Whether ClickHouse tests run here; panics if they must but cannot.
pub fn enabled() -> bool {
    crate::peer_enabled(&format!("`{SERVER}`"), "CLICKHOUSE", installed())
}

/// The shared server, started if no test holds it; `None` when skipped.
pub fn shared() -> Option<Arc<ClickHouse>> {
    if !enabled() {
        return None;
    }
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(ch) = slot.upgrade() {
        return Some(ch);
    }
    let ch = Arc::new(ClickHouse::start());
    *slot = Arc::downgrade(&ch);
    Some(ch)
}

/// A database name no other test of this process uses.
pub fn fresh_database(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    )
}

impl ClickHouse {
    /// A server of its own (for tests that stop it).
    pub fn start() -> ClickHouse {
        let dir = tempfile::tempdir().unwrap();
        let ports = [free_port(), free_port(), free_port()];
        let ch = ClickHouse {
            url: format!("http://127.0.0.1:{}", ports[0]),
            ports,
            proc: Mutex::new(None),
            dir,
            config: None,
        };
        ch.resume();
        ch
    }

    /// Nodes of a one-shard cluster named `lb` with a replica per node,
    /// coordinated by the ZooKeeper at `zookeeper_port`.
    pub fn start_cluster(nodes: usize, zookeeper_port: u16) -> Vec<ClickHouse> {
        let ports: Vec<[u16; 3]> = (0..nodes)
            .map(|_| [free_port(), free_port(), free_port()])
            .collect();
        let replicas: String = ports
            .iter()
            .map(|p| {
                format!(
                    "<replica><host>127.0.0.1</host><port>{}</port></replica>",
                    p[1]
                )
            })
            .collect();
        let nodes: Vec<ClickHouse> = ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let dir = tempfile::tempdir().unwrap();
                let etc = dir.path().join("etc");
                std::fs::create_dir_all(etc.join("config.d")).unwrap();
                for file in ["config.xml", "users.xml"] {
                    std::fs::copy(format!("/etc/clickhouse-server/{file}"), etc.join(file)).unwrap();
                }
                std::fs::write(
                    etc.join("config.d/cluster.xml"),
                    format!(
                        "<yandex>\
                         <zookeeper><node><host>127.0.0.1</host><port>{zookeeper_port}</port></node><session_timeout_ms>3000</session_timeout_ms></zookeeper>\
                         <remote_servers><lb><shard><internal_replication>true</internal_replication>{replicas}</shard></lb></remote_servers>\
                         <macros><shard>01</shard><replica>r{i}</replica></macros>\
                         <interserver_http_host>127.0.0.1</interserver_http_host>\
                         </yandex>"
                    ),
                )
                .unwrap();
                ClickHouse {
                    url: format!("http://127.0.0.1:{}", p[0]),
                    ports: *p,
                    proc: Mutex::new(None),
                    config: Some(etc.join("config.xml")),
                    dir,
                }
            })
            .collect();
        for n in &nodes {
            n.resume();
        }
        nodes
    }

    fn spawn(&self) -> Proc {
        let [http, tcp, inter] = self.ports;
        let d = self.dir.path().display();
        let config = self
            .config
            .clone()
            .unwrap_or_else(|| "/etc/clickhouse-server/config.xml".into());
        let mut cmd = Command::new(SERVER);
        cmd.arg(format!("--config-file={}", config.display()))
            .arg("--")
            .arg(format!("--path={d}/"))
            .arg(format!("--tmp_path={d}/tmp/"))
            .arg(format!("--user_files_path={d}/uf/"))
            .arg(format!("--format_schema_path={d}/fs/"))
            .arg(format!("--logger.log={d}/server.log"))
            .arg(format!("--logger.errorlog={d}/server.err"))
            .arg(format!("--http_port={http}"))
            .arg(format!("--tcp_port={tcp}"))
            .arg(format!("--interserver_http_port={inter}"))
            .arg("--listen_host=127.0.0.1");
        Proc::spawn("clickhouse", cmd)
    }

    /// Kills the server (SIGKILL); `resume` starts it again on the same
    /// ports and data.
    pub fn stop(&self) {
        if let Some(mut p) = self.proc.lock().unwrap().take() {
            p.kill();
        }
    }

    /// Sends the running server a signal (`STOP`, `CONT`, …).
    pub fn signal(&self, name: &str) {
        if let Some(p) = self.proc.lock().unwrap().as_ref() {
            p.signal(name);
        }
    }

    /// Starts the server (again) and waits until it answers queries.
    pub fn resume(&self) {
        let proc = self.spawn();
        *self.proc.lock().unwrap() = Some(proc);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.ping() {
                return;
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.dir.path().join("server.err")).unwrap_or_default();
                panic!("clickhouse did not answer within 60s; errors:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ping(&self) -> bool {
        query(&self.url, "default", "SELECT 1").is_ok()
    }
}

/// Runs `sql` over ClickHouse's HTTP interface; the body of a 200 answer.
pub fn query(url: &str, database: &str, sql: &str) -> Result<String, String> {
    query_with(url, &format!("database={database}"), sql)
}

/// Runs `sql` with URL settings (`a=1&b=2`).
pub fn query_with(url: &str, settings: &str, sql: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let req = format!(
        "POST /?{settings} HTTP/1.0\r\nHost: x\r\nContent-Length: {}\r\n\r\n{sql}",
        sql.len()
    );
    let mut raw = Vec::new();
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    // Binary columns come back as they are stored.
    let out = String::from_utf8_lossy(&raw);
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    match head.split_whitespace().nth(1) {
        Some("200") => Ok(body.to_string()),
        _ => Err(format!("{head}\n{body}")),
    }
}

/// A number from `sql`.
#[track_caller]
pub fn query_i64(url: &str, database: &str, sql: &str) -> i64 {
    let body = query(url, database, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    body.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{sql}: `{body}` is not a number"))
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        self.stop();
    }
}
