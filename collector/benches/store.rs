//! Store ingest without agents or gRPC: `Store::insert` of 1,000-result
//! batches from 4 concurrent streams, 16 batches in flight each (as the
//! ingest pipeline does), into SQLite and, when
//! `LIGHTBULB_BENCH_CLICKHOUSE_URL` is set, into ClickHouse.
//!
//! `cargo bench -p lightbulb-collector --bench store`

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use lightbulb_collector::Result;
use lightbulb_collector::config::StoreConfig;
use lightbulb_collector::store::clickhouse::ClickHouseStore;
use lightbulb_collector::store::sqlite::SqliteStore;
use lightbulb_collector::store::{BoxFuture, Inserted, Retention, Sequenced, Store};
use lightbulb_common::{CheckResult, Metrics, ServiceType, Status};

const STREAMS: u64 = 4;
const BATCH: u64 = 1000;
const IN_FLIGHT: usize = 16;

/// Batches per stream: 250 (2 under `LIGHTBULB_BENCH_QUICK`).
fn batches() -> u64 {
    lightbulb_testkit::bench_size(250) as u64
}

fn batch(stream: u64, n: u64) -> Vec<Sequenced> {
    let now = lightbulb_common::time::now_ms();
    (0..BATCH)
        .map(|i| {
            let seq = n * BATCH + i + 1;
            Sequenced {
                seq,
                result: CheckResult {
                    service_id: format!("s{stream}-{}", seq % 250),
                    service_type: ServiceType::ApiEndpoint,
                    timestamp_ms: now,
                    status: if seq.is_multiple_of(97) {
                        Status::Failed
                    } else {
                        Status::Ok
                    },
                    message: format!("synthetic result {seq}"),
                    metrics: Metrics {
                        response_time_ms: Some((seq % 500) as f64),
                        ..Default::default()
                    },
                    details: serde_json::Value::Null,
                },
            }
        })
        .collect()
}

async fn run(name: &str, store: Arc<dyn Store>) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for stream in 0..STREAMS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let agent = format!("bench-{stream}");
            let mut pending: VecDeque<BoxFuture<'static, Result<Inserted>>> = VecDeque::new();
            for n in 0..batches() {
                if pending.len() == IN_FLIGHT {
                    pending.pop_front().unwrap().await.expect("insert");
                }
                pending.push_back(store.insert(&agent, batch(stream, n)));
            }
            for commit in pending {
                commit.await.expect("insert");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = STREAMS * batches() * BATCH;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "store {name}: {total} results in {secs:.2}s: {:.0} results/s",
        total as f64 / secs
    );
}

#[tokio::main]
async fn main() {
    let retention = Retention {
        raw_ms: 90 * 86_400_000,
        rollups_ms: 365 * 86_400_000,
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("bench.db"), retention).unwrap();
    run("sqlite", Arc::new(sqlite)).await;
    if let Ok(url) = std::env::var("LIGHTBULB_BENCH_CLICKHOUSE_URL") {
        let config = StoreConfig {
            kind: lightbulb_collector::config::StoreKind::Clickhouse,
            url,
            database: format!("store_bench_{}", std::process::id()),
            ..StoreConfig::default()
        };
        let store = ClickHouseStore::open(&config, retention).await.unwrap();
        run("clickhouse", Arc::new(store)).await;
    }
}
