//! The agent's health listener with the real agent and collector binaries:
//! `/healthz` answers, `/readyz` is ready while the spool takes writes and
//! turns unready when its directory stops taking them (made immutable with
//! `chattr +i`, which holds even for root) and ready again after, `/metrics`
//! counts checks by type and status and says whether the collector is
//! connected; SIGHUP stops the agent cleanly with status 75 for systemd to
//! start it again.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{Collector, Proc, agent_bin, agent_config, certs, eventually, free_port};

/// Makes a directory immutable while alive (`chattr +i`), and mutable again when dropped.
struct Immutable(PathBuf);

impl Immutable {
    fn new(dir: &Path) -> Immutable {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .status()
            .expect("chattr (e2fsprogs)");
        assert!(ok.success(), "chattr +i {} failed", dir.display());
        Immutable(dir.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    match client.get(url).send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_spool_and_metrics_count_checks() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path(), &["node-a"]);
    let collector = Collector::sqlite(dir.path(), &certs, "");
    let port = free_port();
    let closed = free_port();
    let config = agent_config(
        dir.path(),
        &certs,
        "node-a",
        collector.grpc,
        &format!(
            "[health]\nlisten = \"127.0.0.1:{port}\"\nready_grace = \"1s\"\n\
             [[checks]]\nservice_id = \"shop\"\nservice_type = \"api_endpoint\"\ninterval = \"200ms\"\n\
             [checks.status_config]\nurl = \"tcp://127.0.0.1:{closed}\"\n"
        ),
    );
    let mut cmd = Command::new(agent_bin());
    cmd.arg("--config").arg(&config);
    let mut agent = Proc::spawn("agent", cmd);
    agent.wait_for_line("health listening", Duration::from_secs(20));
    let client = support::http();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");

    assert_eq!(
        get(&client, &url("/healthz")).await,
        (200, "ok\n".to_string())
    );
    eventually(Duration::from_secs(20), "ready and connected", || async {
        let (code, body) = get(&client, &url("/readyz")).await;
        (code == 200 && body.contains("\"connected\":true")).then_some(())
    })
    .await;
    let metrics = eventually(Duration::from_secs(20), "checks counted", || async {
        let (_, text) = get(&client, &url("/metrics")).await;
        text.contains(
            "lightbulb_agent_checks_total{service_type=\"api_endpoint\",status=\"FAILED\"}",
        )
        .then_some(text)
    })
    .await;
    assert!(metrics.contains("lightbulb_agent_connected 1"), "{metrics}");
    assert!(
        metrics.contains("# TYPE lightbulb_agent_spool_dropped_total counter"),
        "{metrics}"
    );
    // Every run is in the start delay histogram, each within a bucket.
    let value = |series: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in {metrics}"))
            .parse()
            .unwrap()
    };
    let runs: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("lightbulb_agent_checks_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    let started = value("lightbulb_agent_check_start_delay_seconds_count");
    assert!(
        started >= runs && runs >= 1.0,
        "{started} starts, {runs} runs: {metrics}"
    );
    assert_eq!(
        value("lightbulb_agent_check_start_delay_seconds_bucket{le=\"30\"}"),
        started,
        "no run waited 30 s: {metrics}"
    );
    assert_eq!(value("lightbulb_agent_check_runs_skipped_total"), 0.0);

    // A spool directory that takes no writes: unready, saying why; then ready again.
    let spool_dir = dir.path().join("spool-node-a");
    {
        let _frozen = Immutable::new(&spool_dir);
        let (code, body) = get(&client, &url("/readyz")).await;
        assert_eq!(code, 503, "{body}");
        assert!(body.contains("does not take writes"), "{body}");
    }
    let (code, body) = get(&client, &url("/readyz")).await;
    assert_eq!(code, 200, "{body}");

    // The collector gone: disconnected and counted, yet ready while the
    // spool has room (results wait there).
    drop(collector);
    let text = eventually(Duration::from_secs(20), "disconnected", || async {
        let (_, text) = get(&client, &url("/metrics")).await;
        text.contains("lightbulb_agent_connected 0").then_some(text)
    })
    .await;
    assert!(
        !text.contains("lightbulb_agent_reconnects_total 0\n"),
        "{text}"
    );
    let (code, body) = get(&client, &url("/readyz")).await;
    assert_eq!(code, 200, "{body}");

    // SIGHUP: a clean stop with status 75, for the service manager to restart it.
    agent.signal("HUP");
    assert_eq!(agent.wait_exit(Duration::from_secs(20)), 75);
    assert!(
        agent
            .lines()
            .iter()
            .any(|l| l.contains("SIGHUP: stopping to be started again")),
        "{}",
        agent.lines().join("\n")
    );
}
