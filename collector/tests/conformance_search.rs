//! The store suite, part four: evidence search over results' messages and
//! details, on every store (see `conformance.rs`).

mod support;

use lightbulb_collector::search::{SearchQuery, terms};
use lightbulb_collector::store::Store;
use lightbulb_common::Status;
use support::stores::*;

conformance!(
    search_finds_every_word_in_messages_and_details_newest_first,
    search_keeps_to_its_range_service_and_limit_and_forgets_expired_results,
);

const DAY_MS: i64 = 24 * 3600 * 1000;

fn query(q: &str, from_ms: i64, to_ms: i64) -> SearchQuery {
    SearchQuery {
        terms: terms(q).unwrap(),
        from_ms,
        to_ms,
        service_id: None,
        limit: 50,
    }
}

/// Results of `web` and `db` a second apart from `t`: an OK one, a Python
/// traceback in `details`, a full disk, and LIKE's own characters.
async fn seed(store: &dyn Store, t: i64) {
    let mut rows = Vec::new();
    let add = |rows: &mut Vec<_>, n: u64, service: &str, status, message: &str, details| {
        let mut r = result(service, t + n as i64 * 1000, status, None);
        r.message = message.to_string();
        r.details = details;
        rows.push(seq(n, r));
    };
    add(
        &mut rows,
        1,
        "web",
        Status::Ok,
        "HTTP 200 in 12 ms",
        serde_json::Value::Null,
    );
    add(
        &mut rows,
        2,
        "web",
        Status::Failed,
        "HTTP 500, expected 2xx",
        serde_json::json!({"status": 500, "body": "Traceback (most recent call last):\n  File \"app.py\", line 12, in pay\nZeroDivisionError: division by zero"}),
    );
    add(
        &mut rows,
        3,
        "db",
        Status::Degraded,
        "disk 100% full on /var/lib/db",
        serde_json::Value::Null,
    );
    add(
        &mut rows,
        4,
        "db",
        Status::Degraded,
        "disk 1000 GB free",
        serde_json::Value::Null,
    );
    add(
        &mut rows,
        5,
        "web",
        Status::Failed,
        "HTTP 502, expected 2xx",
        serde_json::json!({"status": 502, "body": "upstream payments timed out"}),
    );
    store.insert("a", rows).await.unwrap();
}

async fn search_finds_every_word_in_messages_and_details_newest_first(store: &dyn Store) {
    let t = now() - 60_000;
    seed(store, t).await;
    let (from, to) = (t - 1000, t + 10_000);

    // Any part of a word, case aside, in the details.
    let hits = store.search(query("division", from, to)).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!((hits[0].service_id.as_str(), hits[0].seq), ("web", 2));
    assert_eq!(hits[0].status, Status::Failed);
    assert_eq!(hits[0].ts_ms, t + 2000);
    assert!(hits[0].details.contains("ZeroDivisionError"));

    // Every word must be found, in the message or the details.
    let both = store
        .search(query("HTTP expected", from, to))
        .await
        .unwrap();
    let seqs: Vec<u64> = both.iter().map(|h| h.seq).collect();
    assert_eq!(seqs, [5, 2], "newest first");
    let mixed = store
        .search(query("http payments", from, to))
        .await
        .unwrap();
    assert_eq!(mixed.iter().map(|h| h.seq).collect::<Vec<_>>(), [5]);
    assert!(
        store
            .search(query("division payments", from, to))
            .await
            .unwrap()
            .is_empty()
    );

    // Characters that mean something to the stores' matching are literal.
    let percent = store.search(query("100%", from, to)).await.unwrap();
    assert_eq!(percent.iter().map(|h| h.seq).collect::<Vec<_>>(), [3]);
    // Search syntax of the stores is not read as such: no error, no match.
    let syntax = store
        .search(query("division* NEAR(", from, to))
        .await
        .unwrap();
    assert!(syntax.is_empty(), "{syntax:?}");
}

async fn search_keeps_to_its_range_service_and_limit_and_forgets_expired_results(
    store: &dyn Store,
) {
    let t = now() - 60_000;
    seed(store, t).await;
    let (from, to) = (t - 1000, t + 10_000);
    let mut q = query("disk", from, to);
    assert_eq!(store.search(q.clone()).await.unwrap().len(), 2);
    q.service_id = Some("web".into());
    assert!(store.search(q.clone()).await.unwrap().is_empty());
    q.service_id = Some("db".into());
    q.limit = 1;
    let newest = store.search(q.clone()).await.unwrap();
    assert_eq!(newest.iter().map(|h| h.seq).collect::<Vec<_>>(), [4]);
    q.limit = 50;
    q.from_ms = t + 3500;
    assert_eq!(
        store
            .search(q.clone())
            .await
            .unwrap()
            .iter()
            .map(|h| h.seq)
            .collect::<Vec<_>>(),
        [4]
    );

    // Once raw results expire, nothing of them is found.
    store.expire(now() + 400 * DAY_MS).await.unwrap();
    assert!(
        store
            .search(query("disk", from, to))
            .await
            .unwrap()
            .is_empty()
    );
}
