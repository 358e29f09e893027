//! Failure messages as lightbulb's checks write them, from 24 known
//! templates filled with varying hosts, ports, pods, paths, ids and
//! durations: the template miner recovers the templates. Scored pairwise
//! (two lines of one true template in one mined template, and the reverse),
//! the numbers in docs/benchmarks.md §13.

mod support;

use std::collections::HashMap;

use lightbulb_collector::insights::drain::{Drain, Settings};
use support::rng::Rng;

/// `{x}` is filled from `fill`'s list for `x`.
const TEMPLATES: &[&str] = &[
    "connection refused to {host}:{port} after {n} attempts",
    "HTTP {code} from {url} in {ms}",
    "GET {url} timed out after {ms}",
    "pod {pod} is CrashLoopBackOff: back-off {s} restarting failed container {container}",
    "pod {pod} OOMKilled: memory limit {mem} reached",
    "process {name} (pid {n}) is not running: pidfile {path} is stale",
    "process {name} RSS {mem} above max_rss {mem}",
    "workflow {wf} failed: activity {activity} timed out after {s}",
    "schedule {wf} missed {n} runs since {date}",
    "clickhouse replica {host} lags {n} seconds behind, queue size {n}",
    "clickhouse free disk {pct} on {path} below threshold {pct}",
    "TLS handshake with {host}:{port} failed: certificate expired on {date}",
    "DNS lookup of {host} failed: no such host",
    "TCP connect to {ip}:{port} timed out after {ms}",
    "Traceback (most recent call last): File {path}, line {n}, in {func}",
    "KeyError: {func}",
    "temporal frontend {host}:{port} unreachable: context deadline exceeded",
    "response from {url} does not contain {word}",
    "agent {host} heartbeat missed for {s}, its services are UNKNOWN",
    "spool of agent {host} full: dropped {n} results since {date}",
    // Alike in length and first words, yet different failures.
    "disk {path} is {pct} full on {host}",
    "disk {path} is mounted read-only on {host}",
    "HTTP {code} from {url} after {n} redirects",
    "HTTP {code} from {url} in {ms}, body too large",
];

fn fill(rng: &mut Rng, slot: &str) -> String {
    let n = |rng: &mut Rng, hi: u64| rng.below(hi).to_string();
    match slot {
        "host" => rng
            .pick(&[
                "db-primary",
                "db-replica",
                "cache",
                "orders-api",
                "ch-node-a",
                "ch-node-b",
            ])
            .into(),
        "port" => rng.pick(&["5432", "6379", "8123", "9000", "7233"]).into(),
        "n" => n(rng, 5000),
        "code" => rng.pick(&["500", "502", "503", "504"]).into(),
        "url" => rng
            .pick(&[
                "https://orders.internal/healthz",
                "http://payments:8080/ready",
                "https://api.example.com/v1/status",
            ])
            .into(),
        "ms" => format!("{}ms", rng.below(30_000)),
        "s" => format!("{}s", rng.below(600)),
        "pod" => format!("web-{:x}-{:x}", rng.below(1 << 32), rng.below(1 << 20)),
        "container" => rng.pick(&["app", "sidecar", "migrate"]).into(),
        "mem" => format!("{}Mi", 64 * (1 + rng.below(32))),
        "name" => rng.pick(&["billing-worker", "ingest", "scheduler"]).into(),
        "path" => rng
            .pick(&[
                "/var/run/app.pid",
                "/srv/app/main.py",
                "/var/lib/clickhouse",
            ])
            .into(),
        "wf" => format!("nightly-report-{}", rng.below(100_000)),
        "activity" => rng
            .pick(&["FetchOrders", "SendInvoices", "Reconcile"])
            .into(),
        "date" => format!(
            "2026-{:02}-{:02}T{:02}:00:00Z",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24)
        ),
        "pct" => format!("{}%", rng.below(100)),
        "ip" => format!(
            "10.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            rng.below(256)
        ),
        "func" => rng
            .pick(&["'user_id'", "'order'", "handle_payment", "main"])
            .into(),
        "word" => rng.pick(&["ok", "\"healthy\"", "READY"]).into(),
        other => panic!("no values for {{{other}}}"),
    }
}

fn line(rng: &mut Rng, template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        out.push_str(&fill(rng, &rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Pairs of lines grouped together by both, by the mined templates and by
/// the true ones: (precision, recall).
fn pairwise(truth: &[usize], mined: &[usize]) -> (f64, f64) {
    let pairs = |n: u64| n * n.saturating_sub(1) / 2;
    let mut both: HashMap<(usize, usize), u64> = HashMap::new();
    let mut by_truth: HashMap<usize, u64> = HashMap::new();
    let mut by_mined: HashMap<usize, u64> = HashMap::new();
    for (&t, &m) in truth.iter().zip(mined) {
        *both.entry((t, m)).or_default() += 1;
        *by_truth.entry(t).or_default() += 1;
        *by_mined.entry(m).or_default() += 1;
    }
    let agreed: u64 = both.values().map(|&n| pairs(n)).sum();
    let mined_pairs: u64 = by_mined.values().map(|&n| pairs(n)).sum();
    let true_pairs: u64 = by_truth.values().map(|&n| pairs(n)).sum();
    (
        agreed as f64 / mined_pairs.max(1) as f64,
        agreed as f64 / true_pairs.max(1) as f64,
    )
}

#[test]
fn the_miner_recovers_the_templates_of_check_failure_messages() {
    let mut rng = Rng::from_env(0x5eed);
    let lines = Rng::cases(5_000);
    let mut drain = Drain::new(Settings::default());
    let (mut truth, mut mined) = (Vec::new(), Vec::new());
    for _ in 0..lines {
        let t = rng.below(TEMPLATES.len() as u64) as usize;
        let text = line(&mut rng, TEMPLATES[t]);
        truth.push(t);
        mined.push(drain.add(&text).expect("room for every template"));
    }
    let (precision, recall) = pairwise(&truth, &mined);
    println!(
        "drain: {lines} lines of {} templates -> {} templates; pairwise precision {precision:.3}, recall {recall:.3}",
        TEMPLATES.len(),
        drain.templates().len()
    );
    for t in drain.templates() {
        println!("  {:>5}  {}", t.lines, t.text());
    }
    // The alike templates can merge where their lines share a path (see
    // docs/benchmarks.md §13): 0.972 and 0.946 with the default seed.
    assert!(precision >= 0.9, "precision {precision:.3}");
    assert!(recall >= 0.9, "recall {recall:.3}");
}
