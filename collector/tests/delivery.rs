//! Delivery guarantee end to end: the real agent `bench` pushes results while
//! the collector is SIGKILLed and restarted three times and the agent once;
//! afterwards the store holds every `(agent_id, seq)` exactly once. Run on
//! SQLite and on ClickHouse, which is also stopped for 30 s mid-run.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::clickhouse::ClickHouse;
use support::{Collector, Proc, StoreSpec, agent_config, certs};

const FIRST_RUN: i64 = 70_000;
const SECOND_RUN: i64 = 50_000;
/// How long ClickHouse is down in the outage test.
const OUTAGE: Duration = Duration::from_secs(30);

fn bench(config: &std::path::Path, results: i64) -> Proc {
    let results = results.to_string();
    support::agent_bench(
        "agent bench",
        config,
        &["--results", &results, "--services", "500"],
    )
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
    let collector = Collector::start(dir.path(), &certs);
    scenario(dir.path(), &certs, collector, None);
}

/// The same with ClickHouse as the store, which is also stopped for 30 s
/// mid-run: the collector holds acks, reports not ready, and carries on by
/// itself once ClickHouse is back.
#[test]
fn nothing_lost_nothing_doubled_on_clickhouse_across_kills_and_an_outage() {
    if !support::clickhouse::enabled() {
        return;
    }
    let server = ClickHouse::start();
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path(), &["node-a"]);
    let store = StoreSpec::ClickHouse {
        url: server.url.clone(),
        database: "delivery".into(),
    };
    let collector = Collector::start_with(dir.path(), &certs, store);
    scenario(dir.path(), &certs, collector, Some(&server));
}

fn get(url: &str) -> u16 {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async { support::get_json(&support::http(), url).await.0 })
}

#[track_caller]
fn wait_for_status(url: &str, want: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(url) != want {
        assert!(
            Instant::now() < deadline,
            "{url} did not answer {want} within 30s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops ClickHouse for 30 s while the collector keeps running.
fn outage(server: &ClickHouse, collector: &Collector) {
    let stopped = Instant::now();
    server.stop();
    wait_for_status(&collector.url("/readyz"), 503);
    collector
        .proc
        .wait_for_line("holding acks and retrying", Duration::from_secs(30));
    if let Some(rest) = OUTAGE.checked_sub(stopped.elapsed()) {
        // The outage itself, not a wait for anything.
        std::thread::sleep(rest);
    }
    server.resume();
    wait_for_status(&collector.url("/readyz"), 200);
    collector
        .proc
        .wait_for_line("clickhouse write succeeded again", Duration::from_secs(30));
}

fn scenario(dir: &Path, certs: &Path, mut collector: Collector, outage_on: Option<&ClickHouse>) {
    let config = agent_config(dir, certs, "node-a", collector.grpc, "");

    let mut first = bench(&config, FIRST_RUN);
    first.wait_for_line("bench results spooled", Duration::from_secs(120));
    wait_for_rows(&collector, 10_000);
    collector.kill_and_restart(dir, certs);
    wait_for_rows(&collector, 25_000);
    collector.kill_and_restart(dir, certs);
    if let Some(server) = outage_on {
        let before = collector.query("SELECT COUNT(*) FROM results");
        outage(server, &collector);
        // Same collector process: it recovered without a restart.
        assert_eq!(
            collector
                .proc
                .lines()
                .iter()
                .filter(|l| l.contains("collector listening"))
                .count(),
            1
        );
        wait_for_rows(&collector, before + 1);
    }
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
    collector.kill_and_restart(dir, certs);
    assert_eq!(
        second.wait_exit(Duration::from_secs(300)),
        0,
        "bench failed:\n{}",
        second.lines().join("\n")
    );
    let summary = second.wait_for_line("results/s", Duration::from_secs(5));
    assert!(
        summary.contains(&format!("bench: {SECOND_RUN} produced, "))
            && summary.contains(" 0 dropped "),
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
    let expected = |offset: i64| match collector.store {
        StoreSpec::Sqlite(_) => format!("'synthetic result ' || (seq - {offset})"),
        StoreSpec::ClickHouse { .. } => {
            format!("concat('synthetic result ', toString(seq - {offset}))")
        }
    };
    assert_eq!(
        q(&format!(
            "SELECT COUNT(*) FROM results WHERE seq <= {FIRST_RUN} AND message != {}",
            expected(1)
        )),
        0
    );
    assert_eq!(
        q(&format!(
            "SELECT COUNT(*) FROM results WHERE seq > {FIRST_RUN} AND message != {}",
            expected(FIRST_RUN + 1)
        )),
        0
    );
}
