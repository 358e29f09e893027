//! The anomaly scanner's rounds at 10,000 services on SQLite: each service
//! has the same hour of the four weeks before (its baseline), the next
//! hour's too, three results in the hour scanned (one service in a
//! hundred slow) and one in the next. Times the first round (every service read whole: its
//! baseline window and last day), a steady round (the hours not yet final
//! only), and the round after the hour turns (each service's new baseline
//! read, four hourly buckets).
//!
//! `cargo bench -p lightbulb-collector --bench anomaly_scan`

use std::collections::HashSet;
use std::time::Instant;

use lightbulb_collector::insights::anomaly::Settings;
use lightbulb_collector::insights::anomaly::scan::Scan;
use lightbulb_collector::insights::anomaly::stored::{AnomalyQuery, AnomalyStore};
use lightbulb_collector::store::sqlite::SqliteStore;
use lightbulb_collector::store::{Retention, Sequenced, Store};
use lightbulb_common::{CheckResult, Metrics, ServiceType, Status};

const HOUR: i64 = 3_600_000;
const WEEK: i64 = 168 * HOUR;

fn result(service: usize, ts: i64, rt: f64) -> CheckResult {
    CheckResult {
        service_id: format!("s{service}"),
        service_type: ServiceType::ApiEndpoint,
        timestamp_ms: ts,
        status: Status::Ok,
        message: String::new(),
        metrics: Metrics {
            response_time_ms: Some(rt),
            ..Default::default()
        },
        details: serde_json::Value::Null,
    }
}

#[tokio::main]
async fn main() {
    let services = lightbulb_testkit::bench_size(10_000);
    let dir = tempfile::tempdir().unwrap();
    let retention = Retention {
        raw_ms: 90 * 86_400_000,
        rollups_ms: 365 * 86_400_000,
    };
    let store = SqliteStore::open(&dir.path().join("bench.db"), retention).unwrap();
    let h = (lightbulb_common::time::now_ms() / HOUR - 2) * HOUR;
    let mut seq = 0;
    for chunk in (0..services).collect::<Vec<_>>().chunks(500) {
        let mut rows = Vec::new();
        for &s in chunk {
            let mut push = |ts, rt| {
                seq += 1;
                rows.push(Sequenced {
                    seq,
                    result: result(s, ts, rt),
                });
            };
            for k in 1..=4 {
                push(h - k * WEEK + 60_000, 100.0 + k as f64);
                push(h + HOUR - k * WEEK + 60_000, 100.0 + k as f64);
            }
            let rt = if s % 100 == 0 { 900.0 } else { 102.0 };
            for i in 0..3 {
                push(h + 60_000 + i * 1000, rt);
            }
            push(h + HOUR + 30_000, 102.0);
        }
        store.insert("bench", rows).await.unwrap();
    }
    let ids: HashSet<String> = (0..services).map(|s| format!("s{s}")).collect();
    let settings = Settings::default();
    let mut scan = Scan::default();
    for (name, at) in [
        ("first round", h + 30 * 60_000),
        ("steady round", h + 31 * 60_000),
        ("round after the hour turns", h + HOUR + 60_000),
    ] {
        let start = Instant::now();
        scan.round(&store, ids.clone(), &settings, at)
            .await
            .unwrap();
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        println!(
            "anomaly scan {name}: {services} services in {ms:.0} ms ({:.0} µs per service)",
            ms * 1000.0 / services as f64
        );
    }
    let q = AnomalyQuery {
        from_ms: h,
        to_ms: h + 2 * HOUR,
        service_id: None,
        limit: 100_000,
    };
    let found = store.anomalies(q).await.unwrap().len();
    assert_eq!(
        found,
        services.div_ceil(100),
        "one service in a hundred is slow"
    );
    println!("anomaly scan: {found} unusual hours stored");
}
