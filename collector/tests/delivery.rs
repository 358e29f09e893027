//! Delivery guarantee end to end: the real agent `bench` pushes results while
//! the collector is SIGKILLed and restarted three times and the agent once;
//! afterwards the store holds every `(agent_id, seq)` exactly once.

mod support;

use std::time::Duration;

use support::{Collector, Proc, agent_bin, agent_config, certs};

const FIRST_RUN: i64 = 70_000;
const SECOND_RUN: i64 = 50_000;

fn bench(config: &std::path::Path, results: i64) -> Proc {
    let mut cmd = std::process::Command::new(agent_bin());
    cmd.arg("--config")
        .arg(config)
        .arg("bench")
        .arg("--results")
        .arg(results.to_string())
        .arg("--services")
        .arg("500");
    Proc::spawn("agent bench", cmd)
}

#[track_caller]
fn wait_for_rows(collector: &Collector, at_least: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let n = collector.query("SELECT COUNT(*) FROM results");
        if n >= at_least {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "store holds {n} rows, waited for {at_least}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn nothing_lost_nothing_doubled_across_collector_and_agent_kills() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path(), &["node-a"]);
    let mut collector = Collector::start(dir.path(), &certs);
    let config = agent_config(dir.path(), &certs, "node-a", collector.grpc, "");

    let mut first = bench(&config, FIRST_RUN);
    first.wait_for_line("bench results spooled", Duration::from_secs(120));
    wait_for_rows(&collector, 10_000);
    collector.kill_and_restart(dir.path(), &certs);
    wait_for_rows(&collector, 25_000);
    collector.kill_and_restart(dir.path(), &certs);
    wait_for_rows(&collector, 40_000);
    first.kill();
    let stored_at_agent_kill = collector.query("SELECT COUNT(*) FROM results");
    assert!(
        stored_at_agent_kill < FIRST_RUN,
        "the agent must die mid-run"
    );

    // The restarted agent first drains what the killed one left in its spool.
    let mut second = bench(&config, SECOND_RUN);
    wait_for_rows(&collector, 90_000);
    collector.kill_and_restart(dir.path(), &certs);
    assert_eq!(
        second.wait_exit(Duration::from_secs(300)),
        0,
        "bench failed:\n{}",
        second.lines().join("\n")
    );
    let summary = second.wait_for_line("results/s", Duration::from_secs(5));
    assert!(
        summary.contains(&format!("{SECOND_RUN} new + ")),
        "{summary}"
    );

    // The restarted collector rebuilt its status snapshot from the store.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (code, statuses) = runtime.block_on(support::get_json(
        &support::http(),
        &collector.url("/api/status"),
    ));
    assert_eq!(code, 200);
    assert_eq!(statuses.as_array().unwrap().len(), 500);

    let total = FIRST_RUN + SECOND_RUN;
    let q = |sql: &str| collector.query(sql);
    assert_eq!(
        q("SELECT COUNT(*) FROM results"),
        total,
        "every result stored"
    );
    assert_eq!(
        q("SELECT COUNT(DISTINCT seq) FROM results WHERE agent_id = 'node-a'"),
        total
    );
    assert_eq!(q("SELECT MIN(seq) FROM results"), 1);
    assert_eq!(
        q("SELECT MAX(seq) FROM results"),
        total,
        "no gaps: nothing unacked was lost"
    );
    // Each seq still carries the result it was first given: no seq was reused
    // for a different result after the agent restarted.
    assert_eq!(
        q(&format!(
            "SELECT COUNT(*) FROM results WHERE seq <= {FIRST_RUN} AND message != 'synthetic result ' || (seq - 1)"
        )),
        0
    );
    assert_eq!(
        q(&format!(
            "SELECT COUNT(*) FROM results WHERE seq > {FIRST_RUN} AND message != 'synthetic result ' || (seq - {FIRST_RUN} - 1)"
        )),
        0
    );
}
