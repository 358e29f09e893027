//! Spool throughput: append (one result per call, as checks do, and 1000 per
//! call, as `bench` does), flush, read back in batches and acknowledge; and
//! how close to its budget a spool that drops stays on disk.
//! `cargo bench -p lightbulb-agent --bench spool`

use std::time::Instant;

use lightbulb_agent::spool::Spool;
use lightbulb_proto::v1;

/// Results per run: 200,000 (2,000 under `LIGHTBULB_BENCH_QUICK`).
fn n() -> u64 {
    lightbulb_testkit::bench_size(200_000) as u64
}
const BATCH: usize = 1000;

fn result(i: u64) -> v1::CheckResult {
    v1::CheckResult {
        service_id: format!("bench-{}", i % 1000),
        service_type: "api_endpoint".into(),
        timestamp_ms: 1_700_000_000_000 + i as i64,
        status_code: 0,
        message: format!("HTTP 200 in {} ms", i % 500),
        metrics: Some(v1::Metrics {
            response_time_ms: Some((i % 500) as f64),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn run(label: &str, per_call: usize) {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), 1 << 30).unwrap();
    let n = n();
    let results: Vec<_> = (0..n).map(result).collect();
    let start = Instant::now();
    for chunk in results.chunks(per_call) {
        spool.append(chunk).unwrap();
    }
    let appended = start.elapsed();
    spool.make_durable().unwrap();
    let flushed = start.elapsed();
    let mut cursor = 0;
    loop {
        let batch = spool.read_after(cursor, BATCH).unwrap();
        let Some(last) = batch.last() else { break };
        cursor = last.seq;
        spool.ack(cursor).unwrap();
    }
    let total = start.elapsed();
    assert_eq!(spool.pending(), 0);
    println!(
        "spool {label}: {n} results; append {:.0}/s; flush {:.0} ms; read+ack {:.0}/s; append+flush+read+ack {:.0}/s",
        n as f64 / appended.as_secs_f64(),
        (flushed - appended).as_secs_f64() * 1000.0,
        n as f64 / (total - flushed).as_secs_f64(),
        n as f64 / total.as_secs_f64()
    );
}

/// A spool far smaller than what is appended: how close to `max_bytes` its
/// files stay on disk while it drops, and what dropping costs.
fn budget(max_bytes: u64) {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path(), max_bytes).unwrap();
    let n = n();
    let results: Vec<_> = (0..n).map(result).collect();
    let mut peak = 0;
    let start = Instant::now();
    for chunk in results.chunks(BATCH) {
        spool.append(chunk).unwrap();
        peak = peak.max(lightbulb_testkit::disk_usage(dir.path()));
    }
    let elapsed = start.elapsed();
    println!(
        "spool budget {max_bytes} bytes: {n} results, {} dropped; peak on disk {peak} bytes (ratio {:.3}); append {:.0}/s",
        spool.dropped(),
        peak as f64 / max_bytes as f64,
        n as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    run("1 per append", 1);
    run("1000 per append", 1000);
    budget(2_000_000);
    budget(8 << 20);
}
