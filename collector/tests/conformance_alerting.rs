//! Alerting's storage on every store (see `conformance.rs`): documents
//! replaced and deleted by kind and id, the delivery log newest first, and
//! the evaluator's lease held by one collector at a time.

mod support;

use lightbulb_collector::store::Store;

conformance!(
    alerting_documents_are_replaced_deleted_and_kept_apart_by_kind,
    delivery_attempts_are_logged_and_read_newest_first,
    the_alert_lease_lets_one_collector_lead_at_a_time,
);

async fn alerting_documents_are_replaced_deleted_and_kept_apart_by_kind(store: &dyn Store) {
    use lightbulb_collector::alerting::store::{Doc, DocKind};
    assert!(store.alert_docs(DocKind::Rule).await.unwrap().is_empty());
    let doc = |kind, id: &str, body: &str| Doc {
        kind,
        id: id.into(),
        body: Some(body.into()),
    };
    store
        .put_alert_docs(vec![
            doc(DocKind::Rule, "a", r#"{"v":1}"#),
            doc(DocKind::Rule, "b", r#"{"v":"b, with \"quotes\""}"#),
            doc(DocKind::Channel, "a", r#"{"channel":true}"#),
        ])
        .await
        .unwrap();
    store
        .put_alert_docs(vec![doc(DocKind::Rule, "a", r#"{"v":2}"#)])
        .await
        .unwrap();
    assert_eq!(
        store.alert_docs(DocKind::Rule).await.unwrap(),
        [r#"{"v":2}"#, r#"{"v":"b, with \"quotes\""}"#],
        "the newer document replaces the older; ordered by id"
    );
    assert_eq!(
        store.alert_docs(DocKind::Channel).await.unwrap(),
        [r#"{"channel":true}"#]
    );
    // Deleted, then written again in one call: the last word counts.
    store
        .put_alert_docs(vec![
            Doc::deleted(DocKind::Rule, "a"),
            Doc::deleted(DocKind::Channel, "a"),
            doc(DocKind::Channel, "a", r#"{"channel":"again"}"#),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.alert_docs(DocKind::Rule).await.unwrap(),
        [r#"{"v":"b, with \"quotes\""}"#]
    );
    assert_eq!(
        store.alert_docs(DocKind::Channel).await.unwrap(),
        [r#"{"channel":"again"}"#]
    );
    assert!(
        store
            .alert_docs(DocKind::Notification)
            .await
            .unwrap()
            .is_empty()
    );
    // A metric verdict is keyed by rule and service (`slow/web`); a newer
    // one from another collector replaces it.
    for holds in [true, false] {
        store
            .put_alert_docs(vec![doc(
                DocKind::Verdict,
                "slow/web",
                &format!(r#"{{"holds":{holds}}}"#),
            )])
            .await
            .unwrap();
    }
    assert_eq!(
        store.alert_docs(DocKind::Verdict).await.unwrap(),
        [r#"{"holds":false}"#]
    );
}

async fn delivery_attempts_are_logged_and_read_newest_first(store: &dyn Store) {
    use lightbulb_collector::alerting::model::Attempt;
    let attempt = |id: &str, at_ms: i64, attempt: u32, ok: bool, code: Option<u16>| Attempt {
        notification_id: id.into(),
        at_ms,
        attempt,
        ok,
        code,
        detail: format!("try {attempt}"),
    };
    let all = [
        attempt("n1", 1_000, 1, false, Some(500)),
        attempt("n1", 3_000, 2, true, Some(200)),
        attempt("n2", 2_000, 1, false, None),
    ];
    for a in &all {
        store.add_attempt(a.clone()).await.unwrap();
    }
    assert_eq!(
        store.attempts(Some("n1".into()), 10).await.unwrap(),
        [all[1].clone(), all[0].clone()]
    );
    assert_eq!(
        store.attempts(None, 2).await.unwrap(),
        [all[1].clone(), all[2].clone()],
        "newest first, at most the limit"
    );
    assert!(
        store
            .attempts(Some("n3".into()), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn the_alert_lease_lets_one_collector_lead_at_a_time(store: &dyn Store) {
    use lightbulb_collector::alerting::lease::Lease;
    let (a, b) = (Lease::new("a".into(), 5_000), Lease::new("b".into(), 5_000));
    // Both find it free and write it; from the next round one leads.
    assert!(!a.round(store, 0).await.unwrap());
    assert!(!b.round(store, 0).await.unwrap());
    let (la, lb) = (
        a.round(store, 1_000).await.unwrap(),
        b.round(store, 1_000).await.unwrap(),
    );
    assert!(la != lb, "exactly one leads: a {la}, b {lb}");
    let (leader, other) = if la { (&a, &b) } else { (&b, &a) };
    for t in [2_000, 3_000, 6_000] {
        assert!(
            leader.round(store, t).await.unwrap(),
            "the leader renews at {t}"
        );
        assert!(
            !other.round(store, t).await.unwrap(),
            "the other stands by at {t}"
        );
    }
    // The leader stops renewing: once its lease expires the other takes over.
    assert!(!other.round(store, 10_999).await.unwrap());
    assert!(
        !other.round(store, 11_001).await.unwrap(),
        "written, not yet leading"
    );
    assert!(other.round(store, 12_000).await.unwrap());
    assert!(
        !leader.round(store, 12_500).await.unwrap(),
        "the old leader stands by"
    );
    assert_eq!(
        Lease::current(store).await.unwrap().unwrap().holder,
        other.holder
    );
}
