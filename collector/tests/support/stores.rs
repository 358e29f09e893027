//! The stores under test: SQLite, one ClickHouse server, a ClickHouse
//! cluster; the `conformance!` macro declares a test once per store, and
//! helpers the suites share.

use std::sync::Arc;

use lightbulb_collector::config::StoreConfig;
use lightbulb_collector::store::clickhouse::ClickHouseStore;
use lightbulb_collector::store::rollup::{HOUR_MS, RangeQuery};
use lightbulb_collector::store::sqlite::SqliteStore;
use lightbulb_collector::store::{HistoryQuery, Retention, Sequenced, Store};
use lightbulb_common::{CheckResult, Metrics, ServiceType, Status};

pub const DAY_MS: i64 = 24 * HOUR_MS;
pub const RETENTION: Retention = Retention {
    raw_ms: 90 * DAY_MS,
    rollups_ms: 365 * DAY_MS,
};

pub struct Backend {
    pub store: Arc<dyn Store>,
    _keep: Box<dyn std::any::Any + Send + Sync>,
}

pub fn sqlite_backend() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("lightbulb.db"), RETENTION).unwrap();
    Backend {
        store: Arc::new(store),
        _keep: Box::new(dir),
    }
}

/// A ClickHouse store on a fresh database at `url` (on `cluster` if set),
/// keeping `server` running while the store is used.
async fn clickhouse_store(
    url: &str,
    cluster: &str,
    server: Box<dyn std::any::Any + Send + Sync>,
) -> Backend {
    let config = StoreConfig {
        kind: lightbulb_collector::config::StoreKind::Clickhouse,
        url: url.to_string(),
        database: super::clickhouse::fresh_database("conformance"),
        cluster: cluster.to_string(),
        flush_interval: std::time::Duration::from_millis(10),
        poll_interval: std::time::Duration::from_millis(200),
        ..StoreConfig::default()
    };
    let store = ClickHouseStore::open(&config, RETENTION).await.unwrap();
    Backend {
        store: Arc::new(store),
        _keep: server,
    }
}

pub async fn clickhouse_backend() -> Option<Backend> {
    let server = super::clickhouse::shared()?;
    Some(clickhouse_store(&server.url.clone(), "", Box::new(server)).await)
}

/// ClickHouse in cluster mode: replicated tables on two nodes, queried and
/// written through Distributed tables on the first.
pub async fn cluster_backend() -> Option<Backend> {
    let cluster = super::clickhouse::shared_cluster()?;
    let url = cluster.nodes[0].url.clone();
    Some(clickhouse_store(&url, "lb", Box::new(cluster)).await)
}

/// Declares each test once per store.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let b = $crate::support::stores::sqlite_backend();
                    super::$name(&*b.store).await;
                }
            )*
        }
        mod on_clickhouse {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(b) = $crate::support::stores::clickhouse_backend().await else { return };
                    super::$name(&*b.store).await;
                }
            )*
        }
        mod on_clickhouse_cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(b) = $crate::support::stores::cluster_backend().await else { return };
                    super::$name(&*b.store).await;
                }
            )*
        }
    };
}

pub fn now() -> i64 {
    lightbulb_common::time::now_ms()
}

pub fn result(service: &str, ts: i64, status: Status, rt: Option<f64>) -> CheckResult {
    CheckResult {
        service_id: service.into(),
        service_type: ServiceType::ApiEndpoint,
        timestamp_ms: ts,
        status,
        message: format!("{status} at {ts}"),
        metrics: Metrics {
            response_time_ms: rt,
            ..Default::default()
        },
        details: serde_json::Value::Null,
    }
}

pub fn seq(seq: u64, result: CheckResult) -> Sequenced {
    Sequenced { seq, result }
}

pub fn range(service: &str, from_ms: i64, to_ms: i64) -> RangeQuery {
    RangeQuery {
        service_id: service.into(),
        from_ms,
        to_ms,
    }
}

pub async fn history_total(store: &dyn Store, service: &str, from_ms: i64, to_ms: i64) -> u64 {
    store
        .history(HistoryQuery {
            service_id: service.into(),
            from_ms,
            to_ms,
            limit: 1000,
        })
        .await
        .unwrap()
        .total
}
