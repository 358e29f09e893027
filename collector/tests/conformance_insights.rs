//! The store suite, part five: failing results read back for the failure
//! patterns, on every store (see `conformance.rs`).

mod support;

use lightbulb_collector::insights::anomaly::{Metric, Settings, of_service};
use lightbulb_collector::insights::patterns::FailureQuery;
use lightbulb_collector::store::Store;
use lightbulb_common::Status;
use support::stores::*;

conformance!(
    failing_results_are_read_newest_first_by_range_service_and_limit,
    unusual_hours_are_found_from_the_hourly_rollups,
);

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

/// Five weeks of one result an hour with a daily shape; in the last day a
/// slow hour and a failed one: the two anomalies, whichever store.
async fn unusual_hours_are_found_from_the_hourly_rollups(store: &dyn Store) {
    const HOUR: i64 = 3_600_000;
    let t0 = (now() / HOUR - 5 * 168) * HOUR;
    let (slow, failed) = (5 * 168 - 10, 5 * 168 - 4);
    let rows = (0..5 * 168)
        .map(|h| {
            let (status, rt) = match h {
                _ if h == slow => (Status::Ok, Some(400.0)),
                _ if h == failed => (Status::Failed, None),
                _ => (Status::Ok, Some(100.0 + (h % 24) as f64)),
            };
            seq(
                h as u64 + 1,
                result("web", t0 + h * HOUR + 600_000, status, rt),
            )
        })
        .collect();
    store.insert("a", rows).await.unwrap();
    let from = t0 + (5 * 168 - 24) * HOUR;
    let found = of_service(store, "web", from, now(), &Settings::default())
        .await
        .unwrap();
    let got: Vec<(Metric, i64, f64)> = found
        .iter()
        .map(|a| (a.metric, (a.start_ms - t0) / HOUR, a.value))
        .collect();
    assert_eq!(
        got,
        [
            (Metric::ResponseTimeMs, slow, 400.0),
            (Metric::ErrorRate, failed, 1.0),
        ]
    );
    assert_eq!(found[0].expected, 100.0 + (slow % 24) as f64);
}
