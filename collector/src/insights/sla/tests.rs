//! The method's arithmetic on hand-computed buckets.

use super::*;
use crate::stats::Stats;
use lightbulb_common::Status;

fn bucket(start_ms: i64, ok: u64, degraded: u64, failed: u64, other: u64) -> Bucket {
    Bucket {
        start_ms,
        stats: Stats {
            count: ok + degraded + failed + other,
            ok,
            degraded,
            failed,
            other,
            ..Default::default()
        },
    }
}

const BY_DEFAULT: Method = Method {
    degraded_is_up: true,
    exclude_maintenance: true,
    objective: 99.0,
};

#[test]
fn counts_follow_the_method() {
    // Four minutes: 60 OK; 50 OK + 10 DEGRADED; 30 FAILED + 30 OK (in
    // maintenance); 58 OK + 1 FAILED + 1 UNKNOWN.
    let buckets = [
        bucket(0, 60, 0, 0, 0),
        bucket(60_000, 50, 10, 0, 0),
        bucket(120_000, 30, 0, 30, 0),
        bucket(180_000, 58, 0, 1, 1),
    ];
    let window = [(120_000, 180_000)];
    let c = count(&buckets, 60_000, &window, &BY_DEFAULT);
    assert_eq!(
        c,
        Counts {
            up: 178,
            down: 1,
            not_judged: 1,
            in_maintenance: 60,
            incidents: 0,
            downtime_ms: 0,
            uptime_ms: 180_000,
        }
    );
    let degraded_down = Method {
        degraded_is_up: false,
        ..BY_DEFAULT
    };
    let c = count(&buckets, 60_000, &window, &degraded_down);
    assert_eq!((c.up, c.down), (168, 11));
    let included = Method {
        exclude_maintenance: false,
        ..BY_DEFAULT
    };
    let c = count(&buckets, 60_000, &window, &included);
    assert_eq!((c.up, c.down, c.in_maintenance), (208, 31, 60));
    // 30 down of 60 is not most: no incident.
    assert_eq!((c.incidents, c.uptime_ms), (0, 240_000));
}

#[test]
fn budget_and_burn_rate_are_hand_computed() {
    // 178 up, 1 down at 99 %: uptime 99.4413 %, budget 1.79 down
    // results, 55.87 % of it used, burning at 0.5587.
    let r = row(
        "web",
        "Web",
        "api_endpoint",
        Counts {
            up: 178,
            down: 1,
            not_judged: 1,
            in_maintenance: 60,
            ..Default::default()
        },
        99.0,
    );
    assert!((r.uptime_pct.unwrap() - 99.441_340).abs() < 1e-5, "{r:?}");
    assert!((r.budget - 1.79).abs() < 1e-9);
    assert!((r.budget_used_pct.unwrap() - 55.865_921).abs() < 1e-5);
    assert!((r.burn_rate.unwrap() - 0.558_659).abs() < 1e-5);
    assert_eq!(r.met, Some(true));
    // 168 up, 11 down: 93.85 %, six times the budget.
    let r = row(
        "web",
        "Web",
        "api_endpoint",
        Counts {
            up: 168,
            down: 11,
            ..Default::default()
        },
        99.0,
    );
    assert!((r.uptime_pct.unwrap() - 93.854_749).abs() < 1e-5);
    assert!((r.burn_rate.unwrap() - 6.145_251).abs() < 1e-5);
    assert_eq!(r.met, Some(false));
    let r = row("idle", "", "", Counts::default(), 99.9);
    assert_eq!((r.uptime_pct, r.met, r.burn_rate), (None, None, None));
}

#[test]
fn incidents_are_runs_of_mostly_down_buckets() {
    // Up, down, down, up, down, (nothing), up: two incidents of 2 and
    // 1 minutes, 3 minutes up: MTTR 90 s, MTBF 90 s.
    let m = |i: i64| i * 60_000;
    let buckets = [
        bucket(m(0), 6, 0, 0, 0),
        bucket(m(1), 1, 0, 5, 0),
        bucket(m(2), 0, 0, 6, 0),
        bucket(m(3), 6, 0, 0, 0),
        bucket(m(4), 0, 0, 6, 0),
        bucket(m(6), 6, 0, 0, 0),
    ];
    let c = count(&buckets, 60_000, &[], &BY_DEFAULT);
    assert_eq!(
        (c.incidents, c.downtime_ms, c.uptime_ms),
        (2, 180_000, 180_000)
    );
    let r = row("web", "", "", c, 99.0);
    assert_eq!((r.mttr_ms, r.mtbf_ms), (Some(90_000), Some(90_000)));
}

#[test]
fn an_application_counts_the_status_held_longest_in_each_bucket() {
    // OK from before the period, FAILED from 90 s to 150 s: minutes 1 and
    // 2 each hold 30 s of both, and count as FAILED (the worse).
    let changes = [
        (-3_600_000, Status::Ok),
        (90_000, Status::Failed),
        (150_000, Status::Ok),
    ];
    let buckets = held(&changes, 0, 299_999, 60_000);
    let starts: Vec<i64> = buckets.iter().map(|b| b.start_ms).collect();
    assert_eq!(starts, [0, 60_000, 120_000, 180_000, 240_000]);
    let c = count(&buckets, 60_000, &[], &BY_DEFAULT);
    assert_eq!(
        (c.up, c.down, c.incidents, c.downtime_ms),
        (3, 2, 1, 120_000)
    );
    // FAILED for 50 s of minute 1 only.
    let changes = [
        (0, Status::Ok),
        (70_000, Status::Failed),
        (120_000, Status::Ok),
    ];
    let c = count(
        &held(&changes, 0, 179_999, 60_000),
        60_000,
        &[],
        &BY_DEFAULT,
    );
    assert_eq!((c.up, c.down), (2, 1));
    // Nothing known before the first change: counted from it.
    assert_eq!(held(&[(120_000, Status::Ok)], 0, 179_999, 60_000).len(), 1);
    assert!(held(&[], 0, 179_999, 60_000).is_empty());
}
