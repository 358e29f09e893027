//! Real test peers for lightbulb's integration tests, shared by the agent's
//! and the collector's: child processes that are always stopped
//! (`process`), ClickHouse and a ZooKeeper-backed cluster, a Temporal dev
//! server, a kube-apiserver, and polling helpers. Each peer is skipped when it
//! is not installed, unless `LIGHTBULB_TEST_<PEER>=1` (set by
//! scripts/test.sh) demands it.

pub mod certs;
pub mod clickhouse;
pub mod kubernetes;
pub mod model;
pub mod openbao;
pub mod process;
pub mod proxy;
pub mod receivers;
pub mod temporal;
pub mod zookeeper;

use std::time::Duration;

pub use process::Proc;

/// A port nothing listens on right now and that this test binary has not
/// handed out before, so parallel tests never pick the same one. Another
/// process may still take it before the server binds: starts that pick
/// several ports retry on "address already in use".
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut given = GIVEN.lock().unwrap();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Whether tests needing `peer` run here: they do when it is installed;
/// when `LIGHTBULB_TEST_<ENV>=1` (set by scripts/test.sh) a missing peer fails.
pub fn peer_enabled(peer: &str, env: &str, installed: bool) -> bool {
    let required = std::env::var(format!("LIGHTBULB_TEST_{env}")).is_ok_and(|v| v == "1");
    match (installed, required) {
        (true, _) => true,
        (false, true) => panic!(
            "LIGHTBULB_TEST_{env}=1 but {peer} is not installed: run scripts/test.sh, which installs it"
        ),
        (false, false) => {
            eprintln!("skipped: {peer} is not installed (scripts/test.sh installs it)");
            false
        }
    }
}

/// Runs a check until its outcome satisfies `done` (what it watches may lag
/// the test's writes a little), failing with the last outcome after `timeout`.
pub async fn run_until(
    check: &mut dyn lightbulb_agent::checks::Check,
    timeout: Duration,
    what: &str,
    done: impl Fn(&lightbulb_agent::checks::Outcome) -> bool,
) -> lightbulb_agent::checks::Outcome {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let o = check.run().await;
        if done(&o) {
            return o;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no outcome with {what} within {timeout:?}; last: {:?} {}\n{:#}",
            o.status,
            o.message,
            o.details
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `f` until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Bytes allocated under `dir`, block rounding included (0 while it does
/// not exist; a file removed while listed counts nothing).
pub fn disk_usage(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// `full` for a benchmark run, a hundredth of it (at least 1) under
/// `LIGHTBULB_BENCH_QUICK` (`QUICK=1 scripts/bench.sh`, run by the test
/// script only to check that every bench still runs).
pub fn bench_size(full: usize) -> usize {
    if std::env::var_os("LIGHTBULB_BENCH_QUICK").is_some() {
        (full / 100).max(1)
    } else {
        full
    }
}
