//! A full spool accounts for every result it drops, with real processes: the
//! agent's `bench` fills a small spool while its collector is down, then the
//! collector comes up. Afterwards every result produced is either stored or
//! counted as dropped (`/api/agents`, `/metrics`, the gap markers in each
//! service's history, the agent's own log, the bench report), also when the
//! agent is SIGKILLed mid-drop and started again; and the spool's files
//! stayed within `max_bytes` on disk all along.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use support::{Collector, Proc, StoreSpec, agent_bin, agent_config, certs, free_port, get_json};

const MAX_BYTES: u64 = 2_000_000;
/// What the spool may hold on disk beyond `max_bytes` with nothing in
/// flight: each file rounded up to a 4 KiB block (16 segments, `meta`).
const HEADROOM: u64 = 20 * 4096;
const SERVICES: u64 = 10;

fn bench(config: &Path, results: u64, prefix: &str, allow_drops: bool) -> Proc {
    let (results, services) = (results.to_string(), SERVICES.to_string());
    let mut args = vec![
        "--results",
        &results,
        "--services",
        &services,
        "--prefix",
        prefix,
    ];
    if allow_drops {
        args.push("--allow-drops");
    }
    support::agent_bench("agent bench", config, &args)
}

/// `(produced, acknowledged, dropped)` from the bench report line.
fn report(bench: &Proc) -> (u64, u64, u64) {
    let lines = bench.lines();
    let line = lines
        .iter()
        .find(|l| l.starts_with("bench: "))
        .unwrap_or_else(|| panic!("no report in:\n{}", lines.join("\n")));
    println!("{line}");
    let number = |what: &str| -> u64 {
        let words: Vec<&str> = line.split([' ', ',']).collect();
        let i = words
            .iter()
            .position(|w| *w == what)
            .unwrap_or_else(|| panic!("no `{what}` in `{line}`"));
        words[i - 1].parse().unwrap()
    };
    (
        number("produced"),
        number("acknowledged"),
        number("dropped"),
    )
}

/// Records the largest size the directory reaches on disk until dropped.
struct DiskWatch {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DiskWatch {
    fn start(dir: PathBuf) -> DiskWatch {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(lightbulb_testkit::disk_usage(&dir), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        DiskWatch {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    fn peak(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// The agent's `spool` in `/api/agents`, once a heartbeat reported it.
fn agent_spool(collector: &Collector, agent_id: &str) -> serde_json::Value {
    runtime().block_on(support::eventually(
        Duration::from_secs(30),
        "the agent's spool in /api/agents",
        || async {
            let (_, agents) = get_json(&support::http(), &collector.url("/api/agents")).await;
            agents
                .as_array()?
                .iter()
                .find(|a| a["agent_id"] == agent_id)
                .map(|a| a["spool"].clone())
                .filter(|s| !s.is_null())
        },
    ))
}

/// Results dropped per service prefix, summed over the gaps in the
/// services' histories, and the messages of `{prefix}-3`'s gaps.
fn gaps(collector: &Collector, prefix: &str) -> (u64, Vec<String>) {
    let client = support::http();
    runtime().block_on(async {
        let mut total = 0;
        let mut messages = Vec::new();
        for i in 0..SERVICES {
            let url = collector.url(&format!(
                "/api/services/{prefix}-{i}/history?from=0&limit=1"
            ));
            let (code, h) = get_json(&client, &url).await;
            assert_eq!(code, 200, "{url}: {h}");
            for g in h["gaps"].as_array().unwrap() {
                total += g["dropped"].as_u64().unwrap();
                if i == 3 {
                    messages.push(g["message"].as_str().unwrap().to_string());
                }
            }
        }
        (total, messages)
    })
}

fn stored(collector: &Collector, prefix: &str) -> u64 {
    collector.query(&format!(
        "SELECT COUNT(*) FROM results WHERE service_id LIKE '{prefix}-%'"
    )) as u64
}

/// The sum of `dropped=` over the agent's "spool full" log lines.
fn logged_drops(proc: &Proc) -> u64 {
    proc.lines()
        .iter()
        .filter(|l| l.contains("spool full"))
        .map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("dropped="))
                .unwrap_or_else(|| panic!("no dropped= in `{l}`"))
                .parse::<u64>()
                .unwrap()
        })
        .sum()
}

struct Setup {
    dir: tempfile::TempDir,
    certs: PathBuf,
    grpc: SocketAddr,
    agent: PathBuf,
}

/// An agent config with a small spool, for a collector not started yet.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path(), &["d1"]);
    let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let agent = agent_config(
        dir.path(),
        &certs,
        "d1",
        grpc,
        &format!("[spool]\nmax_bytes = {MAX_BYTES}\n"),
    );
    Setup {
        dir,
        certs,
        grpc,
        agent,
    }
}

fn start_collector(s: &Setup) -> Collector {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let store = StoreSpec::Sqlite(s.dir.path().join("data/lightbulb.db"));
    Collector::start_on(s.dir.path(), &s.certs, any, s.grpc, store, "")
}

#[test]
fn every_result_a_full_spool_drops_is_counted_shown_and_marked_in_history() {
    const N: u64 = 100_000;
    let s = setup();
    let disk = DiskWatch::start(s.dir.path().join("spool-d1"));
    let mut agent = bench(&s.agent, N, "svc", false);
    // Everything is produced while the collector is down.
    agent.wait_for_line("bench results spooled", Duration::from_secs(180));
    let collector = start_collector(&s);
    let code = agent.wait_exit(Duration::from_secs(180));
    let peak = disk.peak();
    let out = agent.lines().join("\n");

    let (produced, acknowledged, dropped) = report(&agent);
    assert_eq!(produced, N, "{out}");
    assert!(dropped > 0, "the spool must have filled: {out}");
    assert_eq!(acknowledged + dropped, N, "{out}");
    assert_eq!(
        code, 1,
        "drops fail the bench without --allow-drops:\n{out}"
    );
    assert!(out.contains("--allow-drops"), "{out}");

    // Stored plus dropped is everything, by the collector's own count.
    let spool = agent_spool(&collector, "d1");
    assert_eq!(spool["dropped_total"], dropped, "{spool}");
    assert_eq!(spool["dropping"], true, "{spool}");
    assert_eq!(stored(&collector, "svc"), acknowledged);
    assert_eq!(stored(&collector, "svc") + dropped, N);

    let metrics = runtime().block_on(support::get_text(
        &support::http(),
        &collector.url("/metrics"),
    ));
    assert!(
        metrics.contains(&format!(
            "lightbulb_agent_spool_dropped_total{{agent_id=\"d1\"}} {dropped}\n"
        )),
        "{metrics}"
    );

    // Each service's history says what is missing, and the gaps add up.
    let (in_history, messages) = gaps(&collector, "svc");
    assert_eq!(in_history, dropped);
    assert!(!messages.is_empty());
    assert!(
        messages[0].starts_with("no data: ")
            && messages[0].contains("results dropped by agent d1's full spool between "),
        "{messages:?}"
    );

    // The agent's log under-reports nothing.
    assert_eq!(logged_drops(&agent), dropped, "{out}");

    assert!(
        peak <= MAX_BYTES + HEADROOM,
        "the spool took {peak} bytes on disk, budget {MAX_BYTES} + {HEADROOM}"
    );
    println!(
        "spool on disk: peak {peak} bytes for max_bytes {MAX_BYTES} (ratio {:.3})",
        peak as f64 / MAX_BYTES as f64
    );
}

#[test]
fn the_drop_count_reconciles_across_a_kill_of_the_agent_mid_drop() {
    const SECOND: u64 = 5_000;
    let s = setup();
    let disk = DiskWatch::start(s.dir.path().join("spool-d1"));
    let mut first = bench(&s.agent, 400_000, "one", true);
    first.wait_for_line("spool full", Duration::from_secs(180));
    first.kill();
    let mut second = bench(&s.agent, SECOND, "two", true);
    second.wait_for_line("bench results spooled", Duration::from_secs(180));
    let collector = start_collector(&s);
    let code = second.wait_exit(Duration::from_secs(180));
    let peak = disk.peak();
    let out = second.lines().join("\n");
    assert_eq!(code, 0, "--allow-drops accepts drops:\n{out}");

    // The first run's results up to its newest stored one were all taken by
    // the spool: each is stored or was dropped (by either run).
    let newest_one = collector.query(
        "SELECT MAX(CAST(substr(message, 18) AS INTEGER)) FROM results WHERE service_id LIKE 'one-%'",
    ) as u64;
    let (dropped_one, _) = gaps(&collector, "one");
    let (dropped_two, _) = gaps(&collector, "two");
    assert!(dropped_one > 0);
    assert_eq!(stored(&collector, "one") + dropped_one, newest_one + 1);
    assert_eq!(stored(&collector, "two") + dropped_two, SECOND);
    // The counter survived the kill: it holds both runs' drops.
    let spool = agent_spool(&collector, "d1");
    assert_eq!(spool["dropped_total"], dropped_one + dropped_two, "{spool}");
    // The second run's report: everything stored came through it.
    let (produced, acknowledged, _) = report(&second);
    assert_eq!(produced, SECOND);
    assert_eq!(
        acknowledged,
        stored(&collector, "one") + stored(&collector, "two"),
        "{out}"
    );
    assert!(
        peak <= MAX_BYTES + HEADROOM,
        "the spool took {peak} bytes on disk, budget {MAX_BYTES} + {HEADROOM}"
    );
}

#[test]
fn the_agent_refuses_a_spool_its_filesystem_cannot_hold() {
    let s = setup();
    let huge = 1u64 << 60;
    let config = agent_config(
        s.dir.path(),
        &s.certs,
        "d1",
        s.grpc,
        &format!("[spool]\nmax_bytes = {huge}\n"),
    );
    let out = std::process::Command::new(agent_bin())
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let spool_dir = s.dir.path().join("spool-d1");
    assert!(
        err.contains(&format!("spool directory `{}`", spool_dir.display()))
            && err.contains(&format!("spool.max_bytes {huge} bytes"))
            && err.contains(" free "),
        "{err}"
    );
}
