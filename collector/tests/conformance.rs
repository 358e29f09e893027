//! One behaviour suite for every store: each test below runs against the
//! embedded SQLite store, a real ClickHouse server, and a real two-node
//! ClickHouse cluster replicating through a real ZooKeeper (see
//! `support/stores.rs`). A behaviour only one store has is a bug. Rollups
//! and retention are in `conformance_rollups.rs`.

mod support;

use lightbulb_collector::audit::{AuditEntry, AuditQuery, ObjectChange, ObjectKind};
use lightbulb_collector::catalog::model::{Catalog, CatalogChange, Relation, Service};
use lightbulb_collector::store::rollup::{HOUR_MS, MINUTE_MS};
use lightbulb_collector::store::{AgentRecord, DroppedResults, HistoryQuery, LocalCheck, Store};
use lightbulb_common::Status;
use support::stores::*;

conformance!(
    a_resent_seq_is_stored_and_counted_once,
    status_changes_become_events_and_late_results_do_not_move_latest,
    history_is_newest_first_within_range_and_limit,
    latest_keeps_every_field_of_the_newest_result,
    agents_are_upserted_and_listed,
    results_of_the_same_millisecond_resolve_by_seq,
    catalog_changes_apply_in_order_and_read_back_whole,
    removed_services_leave_latest_keep_history_and_return_with_a_newer_result,
    agents_keep_their_local_checks_cadence,
    spool_gaps_are_stored_once_and_read_as_runs_in_history,
    token_records_are_replaced_whole_and_read_back,
    audit_entries_are_kept_whole_and_found_by_every_filter,
);

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
    assert_eq!(i.latest[0].status, Status::Failed);
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
    assert_eq!(h.points[0].timestamp_ms, t + 800);
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
        (db.status, db.status.code(), db.message.as_str()),
        (
            Status::Degraded,
            1,
            format!("DEGRADED at {}", t + 50).as_str()
        )
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

async fn agents_keep_their_local_checks_cadence(store: &dyn Store) {
    let mut checks: Vec<LocalCheck> = vec!["web".into(), "db".into()];
    checks[0].interval_ms = 1000;
    checks[0].grace_ms = 7000;
    let agent = AgentRecord {
        agent_id: "a".into(),
        hostname: "h".into(),
        version: "1.0".into(),
        labels: Default::default(),
        local_checks: checks,
        last_seen_ms: 10,
    };
    store.upsert_agent(agent.clone()).await.unwrap();
    assert_eq!(store.agents().await.unwrap(), vec![agent]);
}

async fn removed_services_leave_latest_keep_history_and_return_with_a_newer_result(
    store: &dyn Store,
) {
    let t = now() - HOUR_MS;
    store
        .insert(
            "a",
            vec![
                seq(1, result("web", t, Status::Ok, None)),
                seq(2, result("db", t, Status::Ok, None)),
            ],
        )
        .await
        .unwrap();
    store.remove_service("web", t + 100).await.unwrap();
    let ids = |l: Vec<lightbulb_collector::store::LatestStatus>| {
        l.into_iter().map(|s| s.service_id).collect::<Vec<_>>()
    };
    assert_eq!(ids(store.latest().await.unwrap()), vec!["db"]);
    assert_eq!(history_total(store, "web", t - 1, t + 1).await, 1);
    // A result from before the removal (one in flight) stays history.
    store
        .insert("a", vec![seq(3, result("web", t + 50, Status::Ok, None))])
        .await
        .unwrap();
    assert_eq!(ids(store.latest().await.unwrap()), vec!["db"]);
    // A newer one brings the service back, with a status event.
    let back = store
        .insert(
            "a",
            vec![seq(4, result("web", t + 200, Status::Failed, None))],
        )
        .await
        .unwrap();
    assert_eq!(back.events.len(), 1);
    assert_eq!(back.events[0].status(), "FAILED");
    let latest = store.latest().await.unwrap();
    assert_eq!(ids(latest.clone()), vec!["db", "web"]);
    assert_eq!(latest[1].status, Status::Failed);
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
    assert_eq!((latest[0].status, latest[0].seq), (Status::Failed, 7));
}

fn service_def(id: &str, label: &str) -> Service {
    Service {
        service_id: id.into(),
        label: label.into(),
        service_type: lightbulb_common::ServiceType::ApiEndpoint,
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
    let relation = Relation {
        relation_id: "r-1".into(),
        source_service_id: "web".into(),
        target_service_id: "db".into(),
        relation_type: lightbulb_collector::catalog::model::RelationType::Dependency,
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
        vec![CatalogChange::PutService(Service {
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
    let mut ids = Vec::new();
    for (i, changes) in steps.into_iter().enumerate() {
        expected.apply(&changes);
        let entry = audit_entry(
            1_000 + i as i64,
            "user:alice",
            &format!("step {i}"),
            &["web"],
        );
        ids.push(store.change_catalog(changes, entry).await.unwrap());
        assert_eq!(store.catalog().await.unwrap(), expected);
    }
    // Each change was stored with its audit entry.
    let page = store.audit(audit_query()).await.unwrap();
    let actions: Vec<&str> = page
        .records
        .iter()
        .map(|r| r.entry.action.as_str())
        .collect();
    assert_eq!(actions, ["step 3", "step 2", "step 1", "step 0"]);
    let newest_first: Vec<i64> = ids.iter().rev().copied().collect();
    assert_eq!(
        page.records.iter().map(|r| r.id).collect::<Vec<_>>(),
        newest_first
    );
    assert_eq!(expected.services.len(), 2);
    assert!(!expected.services["web"].enabled);
}

async fn spool_gaps_are_stored_once_and_read_as_runs_in_history(store: &dyn Store) {
    let t = now() - HOUR_MS;
    let gap = |service: &str, first_seq: u64, last_seq: u64, dropped: u64, from: i64, to: i64| {
        DroppedResults {
            agent_id: "d1".into(),
            service_id: service.into(),
            first_seq,
            last_seq,
            dropped,
            from_ms: t + from,
            to_ms: t + to,
        }
    };
    // Two adjacent spool segments of one run, then a later, separate run.
    let rows = vec![
        gap("web", 1, 1000, 400, 0, 999),
        gap("web", 1001, 2000, 500, 1000, 1999),
        gap("db", 1, 1000, 600, 0, 999),
        gap("web", 9001, 9500, 7, 60_000, 60_500),
    ];
    store.record_gaps(rows.clone()).await.unwrap();
    // A marker sent twice (a resend) changes nothing.
    store.record_gaps(rows[..2].to_vec()).await.unwrap();
    let history = |from: i64, to: i64| {
        store.history(HistoryQuery {
            service_id: "web".into(),
            from_ms: t + from,
            to_ms: t + to,
            limit: 10,
        })
    };
    let h = history(-1000, 70_000).await.unwrap();
    assert_eq!(h.gaps.len(), 2, "{:?}", h.gaps);
    assert_eq!(h.gaps[0].dropped, 900);
    assert_eq!(h.gaps[0].agent_id, "d1");
    assert_eq!((h.gaps[0].from_ms, h.gaps[0].to_ms), (t, t + 1999));
    assert_eq!(h.gaps[1].dropped, 7);
    // Only gaps overlapping the range are read.
    let later = history(50_000, 70_000).await.unwrap();
    assert_eq!(later.gaps.len(), 1);
    assert_eq!(later.gaps[0].dropped, 7);
    assert!(history(3000, 50_000).await.unwrap().gaps.is_empty());
}

async fn token_records_are_replaced_whole_and_read_back(store: &dyn Store) {
    use lightbulb_collector::access::Scope;
    use lightbulb_collector::auth::token::TokenRecord;
    assert!(store.tokens().await.unwrap().is_empty());
    let ci = TokenRecord {
        token_id: "tok-1".into(),
        name: "ci".into(),
        scope: Scope::Write,
        created_by: "user:alice".into(),
        created_ms: 1_000,
        expires_ms: 9_000,
        revoked_ms: None,
        last_used_ms: None,
        hash: "ab".repeat(32),
    };
    let backup = TokenRecord {
        token_id: "tok-2".into(),
        name: "backup".into(),
        scope: Scope::Read,
        ..ci.clone()
    };
    store.put_token(ci.clone()).await.unwrap();
    store.put_token(backup.clone()).await.unwrap();
    let used = TokenRecord {
        last_used_ms: Some(2_000),
        ..ci.clone()
    };
    store.put_token(used.clone()).await.unwrap();
    let revoked = TokenRecord {
        revoked_ms: Some(3_000),
        ..used
    };
    store.put_token(revoked.clone()).await.unwrap();
    let mut back = store.tokens().await.unwrap();
    back.sort_by(|a, b| a.token_id.cmp(&b.token_id));
    assert_eq!(back, [revoked, backup]);
}

fn audit_entry(at_ms: i64, actor: &str, action: &str, objects: &[&str]) -> AuditEntry {
    AuditEntry {
        at_ms,
        actor: actor.into(),
        ip: Some("192.0.2.7".into()),
        action: action.into(),
        changes: objects
            .iter()
            .map(|id| ObjectChange {
                kind: ObjectKind::Service,
                id: id.to_string(),
                before: None,
                after: Some(serde_json::json!({"service_id": id, "label": "a \"quoted\", label"})),
            })
            .collect(),
    }
}

fn audit_query() -> AuditQuery {
    AuditQuery {
        limit: 100,
        ..AuditQuery::default()
    }
}

async fn audit_entries_are_kept_whole_and_found_by_every_filter(store: &dyn Store) {
    assert_eq!(store.audit(audit_query()).await.unwrap().total, 0);
    let entries = [
        audit_entry(1_000, "user:alice", "create service", &["web"]),
        audit_entry(2_000, "token:ci", "create service", &["db"]),
        audit_entry(3_000, "user:alice", "delete service", &["db", "rel-1"]),
        AuditEntry {
            ip: None,
            changes: Vec::new(),
            ..audit_entry(4_000, "local:root", "sign in", &[])
        },
    ];
    let mut ids = Vec::new();
    for e in &entries {
        ids.push(store.record_audit(e.clone()).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let back = store.audit_record(ids[2]).await.unwrap().unwrap();
    assert_eq!(back.entry, entries[2]);
    assert_eq!(
        store.audit_record(ids[3]).await.unwrap().unwrap().entry,
        entries[3]
    );
    assert!(
        store
            .audit_record(ids[3] + 1_000_000)
            .await
            .unwrap()
            .is_none()
    );
    let find = |q: AuditQuery| async move {
        let page = store.audit(q).await.unwrap();
        (
            page.total,
            page.records
                .iter()
                .map(|r| r.entry.at_ms)
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        find(audit_query()).await,
        (4, vec![4_000, 3_000, 2_000, 1_000])
    );
    let actor = AuditQuery {
        actor: Some("user:alice".into()),
        ..audit_query()
    };
    assert_eq!(find(actor).await, (2, vec![3_000, 1_000]));
    let object = AuditQuery {
        object: Some("db".into()),
        ..audit_query()
    };
    assert_eq!(find(object).await, (2, vec![3_000, 2_000]));
    let partial = AuditQuery {
        object: Some("d".into()),
        ..audit_query()
    };
    assert_eq!(find(partial).await.0, 0, "an id matches whole");
    let action = AuditQuery {
        action: Some("create service".into()),
        ..audit_query()
    };
    assert_eq!(find(action).await, (2, vec![2_000, 1_000]));
    let range = AuditQuery {
        from_ms: Some(2_000),
        to_ms: Some(3_000),
        ..audit_query()
    };
    assert_eq!(find(range).await, (2, vec![3_000, 2_000]));
    let page = AuditQuery {
        limit: 2,
        offset: 1,
        ..audit_query()
    };
    assert_eq!(find(page).await, (4, vec![3_000, 2_000]));
}
