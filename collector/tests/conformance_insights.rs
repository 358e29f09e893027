//! The store suite, part five: failing results read back for the failure
//! patterns, on every store (see `conformance.rs`).

mod support;

use lightbulb_collector::insights::patterns::FailureQuery;
use lightbulb_collector::store::Store;
use lightbulb_common::Status;
use support::stores::*;

conformance!(failing_results_are_read_newest_first_by_range_service_and_limit);

fn query(from_ms: i64, to_ms: i64, service_id: Option<&str>, limit: u32) -> FailureQuery {
    FailureQuery {
        from_ms,
        to_ms,
        service_id: service_id.map(str::to_string),
        limit,
    }
}

async fn failing_results_are_read_newest_first_by_range_service_and_limit(store: &dyn Store) {
    let t = now() - DAY_MS / 24;
    let statuses = [
        ("web", Status::Ok),
        ("web", Status::Failed),
        ("db", Status::Degraded),
        ("web", Status::Starting),
        ("db", Status::Unknown),
        ("web", Status::Stopped),
        ("db", Status::Failed),
    ];
    let rows = statuses
        .iter()
        .enumerate()
        .map(|(i, (service, status))| {
            let mut r = result(service, t + i as i64 * 1000, *status, None);
            r.message = format!("{service} {status} #{i}");
            seq(i as u64 + 1, r)
        })
        .collect();
    store.insert("a", rows).await.unwrap();
    let all = store
        .failures(query(t, t + 10_000, None, 50))
        .await
        .unwrap();
    let got: Vec<(&str, i64, Status, &str)> = all
        .iter()
        .map(|l| {
            (
                l.service_id.as_str(),
                l.ts_ms - t,
                l.status,
                l.message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("db", 6000, Status::Failed, "db FAILED #6"),
            ("db", 4000, Status::Unknown, "db UNKNOWN #4"),
            ("db", 2000, Status::Degraded, "db DEGRADED #2"),
            ("web", 1000, Status::Failed, "web FAILED #1"),
        ],
        "only DEGRADED, FAILED and UNKNOWN, newest first"
    );
    let web = store
        .failures(query(t, t + 10_000, Some("web"), 50))
        .await
        .unwrap();
    assert_eq!(web.len(), 1);
    assert_eq!(web[0].message, "web FAILED #1");
    let within = store
        .failures(query(t + 2000, t + 4000, None, 50))
        .await
        .unwrap();
    assert_eq!(within.len(), 2, "the range's ends are in it");
    let newest = store.failures(query(t, t + 10_000, None, 2)).await.unwrap();
    assert_eq!(newest, all[..2]);
}
