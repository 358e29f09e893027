//! One behaviour suite for every store: each test below runs against the
//! embedded SQLite store, a real ClickHouse server, and a real two-node
//! ClickHouse cluster replicating through a real ZooKeeper (see
//! `support/clickhouse.rs`). A behaviour only one store has is a bug.

mod support;

use std::sync::Arc;

use lightbulb_collector::config::StoreConfig;
use lightbulb_collector::store::catalog::{Catalog, CatalogChange, RelationDef, ServiceDef};
use lightbulb_collector::store::clickhouse::ClickHouseStore;
use lightbulb_collector::store::rollup::{HOUR_MS, MINUTE_MS, RangeQuery, Source, Stats};
use lightbulb_collector::store::sqlite::SqliteStore;
use lightbulb_collector::store::{AgentRecord, HistoryQuery, Retention, Sequenced, Store};
use lightbulb_common::{CheckResult, Metrics, ServiceType, Status};

const DAY_MS: i64 = 24 * HOUR_MS;
const RETENTION: Retention = Retention {
    raw_ms: 90 * DAY_MS,
    rollups_ms: 365 * DAY_MS,
};

struct Backend {
    store: Arc<dyn Store>,
    _keep: Box<dyn std::any::Any + Send + Sync>,
}

fn sqlite_backend() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("lightbulb.db"), RETENTION).unwrap();
    Backend {
        store: Arc::new(store),
        _keep: Box::new(dir),
    }
}

async fn clickhouse_backend() -> Option<Backend> {
    let server = support::clickhouse::shared()?;
    let config = StoreConfig {
        kind: "clickhouse".into(),
        url: server.url.clone(),
        database: support::clickhouse::fresh_database("conformance"),
        flush_interval: std::time::Duration::from_millis(10),
        poll_interval: std::time::Duration::from_millis(200),
        ..StoreConfig::default()
    };
    let store = ClickHouseStore::open(&config, RETENTION).await.unwrap();
    Some(Backend {
        store: Arc::new(store),
        _keep: Box::new(server),
    })
}

/// ClickHouse in cluster mode: replicated tables on two nodes, queried and
/// written through Distributed tables on the first.
async fn cluster_backend() -> Option<Backend> {
    let cluster = support::clickhouse::shared_cluster()?;
    let config = StoreConfig {
        kind: "clickhouse".into(),
        url: cluster.nodes[0].url.clone(),
        database: support::clickhouse::fresh_database("cluster"),
        cluster: "lb".into(),
        flush_interval: std::time::Duration::from_millis(10),
        poll_interval: std::time::Duration::from_millis(200),
        ..StoreConfig::default()
    };
    let store = ClickHouseStore::open(&config, RETENTION).await.unwrap();
    Some(Backend {
        store: Arc::new(store),
        _keep: Box::new(cluster),
    })
}

/// Declares each test once per store.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let b = super::sqlite_backend();
                    super::$name(&*b.store).await;
                }
            )*
        }
        mod on_clickhouse {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(b) = super::clickhouse_backend().await else { return };
                    super::$name(&*b.store).await;
                }
            )*
        }
        mod on_clickhouse_cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(b) = super::cluster_backend().await else { return };
                    super::$name(&*b.store).await;
                }
            )*
        }
    };
}

conformance!(
    a_resent_seq_is_stored_and_counted_once,
    status_changes_become_events_and_late_results_do_not_move_latest,
    history_is_newest_first_within_range_and_limit,
    latest_keeps_every_field_of_the_newest_result,
    agents_are_upserted_and_listed,
    raw_buckets_and_short_summaries_are_exact,
    rollup_buckets_count_exactly_and_estimate_percentiles,
    summaries_read_the_resolution_their_range_needs,
    retention_hides_old_data_and_expire_removes_it,
    results_of_the_same_millisecond_resolve_by_seq,
    catalog_changes_apply_in_order_and_read_back_whole,
);

fn now() -> i64 {
    lightbulb_common::time::now_ms()
}

fn result(service: &str, ts: i64, status: Status, rt: Option<f64>) -> CheckResult {
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

fn seq(seq: u64, result: CheckResult) -> Sequenced {
    Sequenced { seq, result }
}

fn range(service: &str, from_ms: i64, to_ms: i64) -> RangeQuery {
    RangeQuery {
        service_id: service.into(),
        from_ms,
        to_ms,
    }
}

async fn history_total(store: &dyn Store, service: &str, from_ms: i64, to_ms: i64) -> u64 {
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

async fn a_resent_seq_is_stored_and_counted_once(store: &dyn Store) {
    let t = now() - HOUR_MS;
    let first = store
        .insert(
            "a",
            vec![
                seq(1, result("web", t + 10, Status::Ok, Some(1.0))),
                seq(2, result("web", t + 20, Status::Ok, Some(2.0))),
            ],
        )
        .await
        .unwrap();
    assert_eq!((first.inserted, first.duplicates), (2, 0));
    // A resend overlapping the first batch, with a repeat inside itself.
    let again = store
        .insert(
            "a",
            vec![
                seq(2, result("web", t + 20, Status::Ok, Some(2.0))),
                seq(3, result("web", t + 30, Status::Ok, Some(3.0))),
                seq(3, result("web", t + 30, Status::Ok, Some(3.0))),
            ],
        )
        .await
        .unwrap();
    assert_eq!((again.inserted, again.duplicates), (1, 2));
    // The same seq from another agent is a different result.
    let other = store
        .insert(
            "b",
            vec![seq(2, result("web", t + 25, Status::Ok, Some(9.0)))],
        )
        .await
        .unwrap();
    assert_eq!(other.inserted, 1);
    assert_eq!(history_total(store, "web", t, t + 100).await, 4);
    // Rollups count each result once too.
    let minute = store
        .buckets(range("web", t, t + 100), MINUTE_MS)
        .await
        .unwrap();
    assert_eq!(minute.buckets.iter().map(|b| b.stats.count).sum::<u64>(), 4);
    let summary = store.summary(range("web", t, t + 100)).await.unwrap();
    assert_eq!(summary.stats.count, 4);
}

async fn status_changes_become_events_and_late_results_do_not_move_latest(store: &dyn Store) {
    let t = now() - HOUR_MS;
    let i = store
        .insert(
            "a",
            vec![
                seq(1, result("web", t + 10, Status::Ok, None)),
                seq(2, result("web", t + 20, Status::Ok, None)),
                seq(3, result("web", t + 30, Status::Failed, None)),
                seq(4, result("web", t + 5, Status::Degraded, None)),
            ],
        )
        .await
        .unwrap();
    let changes: Vec<_> = i
        .events
        .iter()
        .map(|e| (e.previous_status_code, e.status_code))
        .collect();
    assert_eq!(changes, [(None, 0), (Some(0), 2)]);
    assert!(i.events[0].id < i.events[1].id);
    assert_eq!(i.latest.len(), 1);
    assert_eq!(i.latest[0].status, "FAILED");
    let latest = store.latest().await.unwrap();
    assert_eq!(latest[0].last_check_ms, t + 30);
    let after_first = store.events_after(i.events[0].id, 10).await.unwrap();
    assert_eq!(after_first, i.events[1..].to_vec());
    assert_eq!(store.events_after(0, 10).await.unwrap(), i.events);
    assert_eq!(store.last_event_id().await.unwrap(), i.events[1].id);
    // The same status again is no event.
    let same = store
        .insert(
            "a",
            vec![seq(5, result("web", t + 40, Status::Failed, None))],
        )
        .await
        .unwrap();
    assert!(same.events.is_empty());
    assert_eq!(same.latest.len(), 1);
}

async fn history_is_newest_first_within_range_and_limit(store: &dyn Store) {
    let t = now() - HOUR_MS;
    let rows = (1..=10)
        .map(|n| {
            seq(
                n,
                result("web", t + n as i64 * 100, Status::Ok, Some(n as f64)),
            )
        })
        .collect();
    store.insert("a", rows).await.unwrap();
    store
        .insert(
            "a",
            vec![seq(11, result("other", t + 500, Status::Ok, None))],
        )
        .await
        .unwrap();
    let h = store
        .history(HistoryQuery {
            service_id: "web".into(),
            from_ms: t + 300,
            to_ms: t + 800,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(h.total, 6);
    let seqs: Vec<_> = h.points.iter().map(|p| p.seq).collect();
    assert_eq!(seqs, [8, 7]);
    assert_eq!(
        h.points[0].timestamp,
        lightbulb_common::time::format_iso(t + 800)
    );
    assert_eq!(h.points[0].response_time_ms, Some(8.0));
    assert_eq!(history_total(store, "nobody", t, t + 1000).await, 0);
}

async fn latest_keeps_every_field_of_the_newest_result(store: &dyn Store) {
    let t = now() - HOUR_MS;
    let mut full = result("db", t + 50, Status::Degraded, Some(12.5));
    full.metrics.cpu_usage = Some(40.0);
    full.metrics.memory_usage = Some(1024.0);
    full.metrics.extra.insert("queue".into(), 3.0);
    full.details = serde_json::json!({"replica": "r1"});
    store
        .insert(
            "a",
            vec![
                seq(1, result("db", t + 10, Status::Ok, Some(1.0))),
                seq(2, full),
                seq(3, result("api", t + 20, Status::Failed, None)),
            ],
        )
        .await
        .unwrap();
    let latest = store.latest().await.unwrap();
    let ids: Vec<_> = latest.iter().map(|s| s.service_id.as_str()).collect();
    assert_eq!(ids, ["api", "db"]);
    let db = &latest[1];
    assert_eq!(
        (db.status, db.status_code, db.message.as_str()),
        ("DEGRADED", 1, format!("DEGRADED at {}", t + 50).as_str())
    );
    assert_eq!(
        (db.response_time_ms, db.cpu_usage, db.memory_usage),
        (Some(12.5), Some(40.0), Some(1024.0))
    );
    assert_eq!(
        (db.agent_id.as_str(), db.service_type.as_str()),
        ("a", "api_endpoint")
    );
    assert_eq!(latest[0].response_time_ms, None);
    let h = store
        .history(HistoryQuery {
            service_id: "db".into(),
            from_ms: t,
            to_ms: t + 100,
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(h.points[0].metrics["queue"], 3.0);
    assert_eq!(h.points[0].details["replica"], "r1");
}

async fn agents_are_upserted_and_listed(store: &dyn Store) {
    let agent = |id: &str, host: &str, seen: i64| AgentRecord {
        agent_id: id.into(),
        hostname: host.into(),
        version: "1.0".into(),
        labels: [("zone".to_string(), "eu".to_string())].into(),
        local_checks: vec!["web".into()],
        last_seen_ms: seen,
    };
    store.upsert_agent(agent("b", "hb", 10)).await.unwrap();
    store.upsert_agent(agent("a", "old", 10)).await.unwrap();
    store.upsert_agent(agent("a", "new", 20)).await.unwrap();
    let list = store.agents().await.unwrap();
    assert_eq!(list, vec![agent("a", "new", 20), agent("b", "hb", 10)]);
}

/// Stats the way the suite expects them, from the values themselves.
fn expected(values: &[(Status, Option<f64>)]) -> Stats {
    let mut agg = lightbulb_collector::store::rollup::RawAgg::default();
    for (s, rt) in values {
        agg.add(*s, *rt, None, None);
    }
    agg.finish()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-9)
}

async fn raw_buckets_and_short_summaries_are_exact(store: &dyn Store) {
    let t = (now() - 2 * HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
    let statuses = [
        Status::Ok,
        Status::Ok,
        Status::Degraded,
        Status::Failed,
        Status::Unknown,
    ];
    let mut values = Vec::new();
    let mut rows = Vec::new();
    for i in 0..40u64 {
        let status = statuses[i as usize % statuses.len()];
        let rt = (i % 7 != 0).then_some(i as f64 * 1.5);
        values.push((t + i as i64 * 1_000, status, rt));
        rows.push(seq(i + 1, result("web", t + i as i64 * 1_000, status, rt)));
    }
    store.insert("a", rows).await.unwrap();
    // 10 s buckets over 40 s of results: four full buckets, from raw results.
    let b = store
        .buckets(range("web", t, t + 39_999), 10_000)
        .await
        .unwrap();
    assert_eq!(b.source, Source::Raw);
    assert_eq!(b.buckets.len(), 4);
    for (k, bucket) in b.buckets.iter().enumerate() {
        assert_eq!(bucket.start_ms, t + k as i64 * 10_000);
        let want: Vec<_> = values[k * 10..k * 10 + 10]
            .iter()
            .map(|v| (v.1, v.2))
            .collect();
        assert_stats_exact(&bucket.stats, &expected(&want));
    }
    let s = store.summary(range("web", t, t + HOUR_MS)).await.unwrap();
    assert_eq!(s.source, Source::Raw);
    let all: Vec<_> = values.iter().map(|v| (v.1, v.2)).collect();
    assert_stats_exact(&s.stats, &expected(&all));
    assert_eq!(s.stats.uptime_pct, Some(75.0));
    assert_eq!(s.stats.error_rate, Some(0.2));
    let empty = store
        .summary(range("nobody", t, t + HOUR_MS))
        .await
        .unwrap();
    assert_eq!(empty.stats, Stats::default());
}

fn assert_stats_exact(got: &Stats, want: &Stats) {
    let counts = |s: &Stats| (s.count, s.ok, s.degraded, s.failed, s.other);
    assert_eq!(counts(got), counts(want));
    assert_eq!(
        (got.uptime_pct, got.error_rate),
        (want.uptime_pct, want.error_rate)
    );
    let (g, w) = (
        got.response_time_ms.clone().unwrap(),
        want.response_time_ms.clone().unwrap(),
    );
    assert_eq!(
        (g.min, g.max, g.p50, g.p95, g.p99),
        (w.min, w.max, w.p50, w.p95, w.p99)
    );
    assert!(close(g.avg, w.avg, 1e-9), "avg {} vs {}", g.avg, w.avg);
}

async fn rollup_buckets_count_exactly_and_estimate_percentiles(store: &dyn Store) {
    let t = (now() - 4 * HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
    // Two hours, one result every 5 s; response times 1..=720 ms per hour.
    let mut rows = Vec::new();
    for i in 0..1440i64 {
        let status = if i % 10 == 0 {
            Status::Failed
        } else {
            Status::Ok
        };
        let rt = (i % 720 + 1) as f64;
        rows.push(seq(
            i as u64 + 1,
            result("web", t + i * 5_000, status, Some(rt)),
        ));
    }
    store.insert("a", rows).await.unwrap();
    let minutes = store
        .buckets(range("web", t, t + 2 * HOUR_MS - 1), 5 * MINUTE_MS)
        .await
        .unwrap();
    assert_eq!(minutes.source, Source::Minute);
    assert_eq!(minutes.buckets.len(), 24);
    assert!(
        minutes
            .buckets
            .iter()
            .all(|b| b.stats.count == 60 && b.stats.failed == 6)
    );
    let hours = store
        .buckets(range("web", t, t + 2 * HOUR_MS - 1), HOUR_MS)
        .await
        .unwrap();
    assert_eq!(hours.source, Source::Hour);
    assert_eq!(hours.buckets.len(), 2);
    for h in &hours.buckets {
        assert_eq!((h.stats.count, h.stats.failed, h.stats.ok), (720, 72, 648));
        assert_eq!(h.stats.uptime_pct, Some(90.0));
        let rt = h.stats.response_time_ms.clone().unwrap();
        assert_eq!((rt.min, rt.max), (1.0, 720.0));
        assert!(close(rt.avg, 360.5, 1e-9), "avg {}", rt.avg);
        for (got, want) in [(rt.p50, 360.5), (rt.p95, 684.05), (rt.p99, 712.81)] {
            assert!(
                close(got, want, 0.05),
                "percentile {got}, expected about {want}"
            );
        }
    }
}

async fn summaries_read_the_resolution_their_range_needs(store: &dyn Store) {
    let t = (now() - 3 * DAY_MS).div_euclid(HOUR_MS) * HOUR_MS;
    let rows = (0..72i64)
        .map(|h| {
            seq(
                h as u64 + 1,
                result("web", t + h * HOUR_MS, Status::Ok, Some(h as f64)),
            )
        })
        .collect();
    store.insert("a", rows).await.unwrap();
    let day = store.summary(range("web", t, t + DAY_MS)).await.unwrap();
    assert_eq!((day.source, day.stats.count), (Source::Minute, 25));
    let month = store
        .summary(range("web", t - 20 * DAY_MS, t + 10 * DAY_MS))
        .await
        .unwrap();
    assert_eq!((month.source, month.stats.count), (Source::Hour, 72));
    let short = store.summary(range("web", t, t + HOUR_MS)).await.unwrap();
    assert_eq!((short.source, short.stats.count), (Source::Raw, 2));
}

async fn retention_hides_old_data_and_expire_removes_it(store: &dyn Store) {
    let n = now();
    let recent = n - HOUR_MS;
    let raw_old = n - 85 * DAY_MS; // raw still kept (90 d)
    let raw_gone = n - 95 * DAY_MS; // past raw retention, rollups kept
    let rollup_old = n - 300 * DAY_MS; // rollups still kept (365 d)
    let rows = [recent, raw_old, raw_gone, rollup_old]
        .iter()
        .enumerate()
        .map(|(i, ts)| seq(i as u64 + 1, result("web", *ts, Status::Ok, Some(1.0))))
        .collect();
    store.insert("a", rows).await.unwrap();
    let raw = |from: i64| history_total(store, "web", from - DAY_MS, from + DAY_MS);
    let hours = |from: i64| async move {
        store
            .buckets(range("web", from - DAY_MS, from + DAY_MS), HOUR_MS)
            .await
            .unwrap()
            .buckets
            .len()
    };
    assert_eq!(
        (raw(recent).await, raw(raw_old).await, raw(raw_gone).await),
        (1, 1, 0)
    );
    assert_eq!((hours(raw_gone).await, hours(rollup_old).await), (1, 1));
    // Ten days on, the 85-day-old result is past retention: gone from storage.
    store.expire(n + 10 * DAY_MS).await.unwrap();
    assert_eq!((raw(recent).await, raw(raw_old).await), (1, 0));
    assert_eq!(hours(rollup_old).await, 1);
    // 120 days on, the 300-day-old rollup is past retention too (and every
    // raw result is, even today's).
    store.expire(n + 120 * DAY_MS).await.unwrap();
    assert_eq!((hours(rollup_old).await, hours(raw_old).await), (0, 1));
    assert_eq!(raw(recent).await, 0);
}

async fn results_of_the_same_millisecond_resolve_by_seq(store: &dyn Store) {
    let t = now() - HOUR_MS;
    store
        .insert("a", vec![seq(7, result("web", t, Status::Failed, None))])
        .await
        .unwrap();
    let older = store
        .insert("a", vec![seq(6, result("web", t, Status::Ok, None))])
        .await
        .unwrap();
    assert!(older.latest.is_empty() && older.events.is_empty());
    let latest = store.latest().await.unwrap();
    assert_eq!((latest[0].status, latest[0].seq), ("FAILED", 7));
}

fn service_def(id: &str, label: &str) -> ServiceDef {
    ServiceDef {
        service_id: id.into(),
        label: label.into(),
        service_type: "api_endpoint".into(),
        status_config: serde_json::json!({"url": format!("http://{id}.internal/health"), "degraded_ms": 250}),
        metric_config: serde_json::Value::Null,
        enabled: true,
        labels: [("zone".to_string(), "eu-1".to_string())].into(),
        managed_by: None,
        created_at_ms: 1_000,
        updated_at_ms: 2_000,
    }
}

async fn catalog_changes_apply_in_order_and_read_back_whole(store: &dyn Store) {
    assert_eq!(store.catalog().await.unwrap(), Catalog::default());
    let relation = RelationDef {
        relation_id: "r-1".into(),
        source_service_id: "web".into(),
        target_service_id: "db".into(),
        relation_type: "dependency".into(),
        enabled: true,
        managed_by: Some("file:/etc/lightbulb/services.yaml".into()),
        created_at_ms: 1_000,
        updated_at_ms: 1_000,
    };
    let mut db = service_def("db", "Database");
    db.metric_config = serde_json::json!({"keep": ["replication_delay"]});
    let steps = vec![
        vec![
            CatalogChange::PutService(service_def("web", "Web")),
            CatalogChange::PutService(db.clone()),
            CatalogChange::PutRelation(relation.clone()),
        ],
        vec![CatalogChange::PutService(ServiceDef {
            enabled: false,
            ..service_def("web", "Web front end")
        })],
        vec![
            CatalogChange::DeleteRelation("r-1".into()),
            CatalogChange::DeleteService("db".into()),
        ],
        // Deleted, then defined again: the newest change wins.
        vec![
            CatalogChange::PutService(db),
            CatalogChange::PutRelation(relation),
        ],
    ];
    let mut expected = Catalog::default();
    for changes in steps {
        expected.apply(&changes);
        store.change_catalog(changes).await.unwrap();
        assert_eq!(store.catalog().await.unwrap(), expected);
    }
    assert_eq!(expected.services.len(), 2);
    assert!(!expected.services["web"].enabled);
}
