use lightbulb_common::{CheckResult, Metrics, ServiceType, Status};

use super::*;

fn result(service: &str, ts: i64, status: Status) -> CheckResult {
    CheckResult {
        service_id: service.into(),
        service_type: ServiceType::ApiEndpoint,
        timestamp_ms: ts,
        status,
        message: format!("{status} at {ts}"),
        metrics: Metrics {
            response_time_ms: Some(ts as f64),
            ..Default::default()
        },
        details: serde_json::Value::Null,
    }
}

fn seq(seq: u64, r: CheckResult) -> Sequenced {
    Sequenced { seq, result: r }
}

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db/lightbulb.db")).unwrap();
    (dir, store)
}

#[tokio::test]
async fn a_resent_seq_is_stored_once() {
    let (_dir, store) = open();
    let first = store
        .insert(
            "a",
            vec![
                seq(1, result("web", 10, Status::Ok)),
                seq(2, result("web", 20, Status::Ok)),
            ],
        )
        .await
        .unwrap();
    assert_eq!((first.inserted, first.duplicates), (2, 0));
    let again = store
        .insert(
            "a",
            vec![
                seq(2, result("web", 20, Status::Ok)),
                seq(3, result("web", 30, Status::Ok)),
            ],
        )
        .await
        .unwrap();
    assert_eq!((again.inserted, again.duplicates), (1, 1));
    // The same seq from another agent is a different result.
    let other = store
        .insert("b", vec![seq(2, result("web", 25, Status::Ok))])
        .await
        .unwrap();
    assert_eq!(other.inserted, 1);
    let h = store
        .history(HistoryQuery {
            service_id: "web".into(),
            from_ms: 0,
            to_ms: 100,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(h.total, 4);
}

#[tokio::test]
async fn status_changes_become_events_and_late_results_do_not_move_latest() {
    let (_dir, store) = open();
    let i = store
        .insert(
            "a",
            vec![
                seq(1, result("web", 10, Status::Ok)),
                seq(2, result("web", 20, Status::Ok)),
                seq(3, result("web", 30, Status::Failed)),
                seq(4, result("web", 5, Status::Degraded)),
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
    assert_eq!(latest[0].last_check_ms, 30);
    let after_first = store.events_after(i.events[0].id, 10).await.unwrap();
    assert_eq!(after_first, i.events[1..].to_vec());
    assert_eq!(store.last_event_id().await.unwrap(), i.events[1].id);
}

#[tokio::test]
async fn history_is_newest_first_within_range_and_limit() {
    let (_dir, store) = open();
    let rows = (1..=10)
        .map(|n| seq(n, result("web", n as i64 * 100, Status::Ok)))
        .collect();
    store.insert("a", rows).await.unwrap();
    let h = store
        .history(HistoryQuery {
            service_id: "web".into(),
            from_ms: 300,
            to_ms: 800,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(h.total, 6);
    let seqs: Vec<_> = h.points.iter().map(|p| p.seq).collect();
    assert_eq!(seqs, [8, 7]);
    assert_eq!(h.points[0].timestamp, "1970-01-01T00:00:00.800Z");
}

#[tokio::test]
async fn state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lightbulb.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .insert("a", vec![seq(1, result("web", 10, Status::Failed))])
            .await
            .unwrap();
        store
            .upsert_agent(AgentRecord {
                agent_id: "a".into(),
                hostname: "h".into(),
                version: "1".into(),
                labels: [("zone".to_string(), "x".to_string())].into(),
                local_checks: vec!["web".into()],
                last_seen_ms: 42,
            })
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.latest().await.unwrap()[0].status, "FAILED");
    assert_eq!(store.agents().await.unwrap()[0].labels["zone"], "x");
    // The writer remembers the latest status: the same status is no new event.
    let i = store
        .insert("a", vec![seq(2, result("web", 20, Status::Failed))])
        .await
        .unwrap();
    assert!(i.events.is_empty());
    assert_eq!(
        query_i64(&path, "SELECT COUNT(*) FROM results").unwrap(),
        Some(2)
    );
}
