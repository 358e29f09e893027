use lightbulb_common::{CheckResult, Metrics, ServiceType, Status};

use super::*;

fn result(service: &str, ts: i64, status: Status) -> CheckResult {
    let ts = lightbulb_common::time::now_ms() - 60_000 + ts;
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

const RETENTION: Retention = Retention {
    raw_ms: 90 * 86_400_000,
    rollups_ms: 365 * 86_400_000,
};

fn seq(seq: u64, r: CheckResult) -> Sequenced {
    Sequenced { seq, result: r }
}

// Behaviour shared with ClickHouse is tested in `tests/conformance.rs`.

#[tokio::test]
async fn state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lightbulb.db");
    {
        let store = SqliteStore::open(&path, RETENTION).unwrap();
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
    let store = SqliteStore::open(&path, RETENTION).unwrap();
    assert_eq!(store.latest().await.unwrap()[0].status, Status::Failed);
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
