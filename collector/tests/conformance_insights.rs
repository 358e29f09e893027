//! The store suite, part five: failing results read back for the failure
//! patterns, unusual hours (found and stored), AI analyses kept, SLA
//! counts and capacity, on every
//! store (see `conformance.rs`).

mod support;

use lightbulb_collector::insights::ai::answer::Answer;
use lightbulb_collector::insights::ai::record::{Analysis, Outcome, Trigger};
use lightbulb_collector::insights::anomaly::scan::Scan;
use lightbulb_collector::insights::anomaly::stored::{AnomalyQuery, StoredAnomaly};
use lightbulb_collector::insights::anomaly::{Anomaly, Metric, Settings, of_service};
use lightbulb_collector::insights::capacity::spool::SpoolSample;
use lightbulb_collector::insights::capacity::{self, Kind, Spec};
use lightbulb_collector::insights::patterns::FailureQuery;
use lightbulb_collector::insights::sla::{self, Counts, Method};
use lightbulb_collector::store::Store;
use lightbulb_common::Status;
use support::stores::*;

conformance!(
    failing_results_are_read_newest_first_by_range_service_and_limit,
    unusual_hours_are_found_from_the_hourly_rollups,
    analyses_are_kept_and_read_newest_first_per_service,
    sla_counts_follow_the_declared_method,
    gauges_heading_for_their_limit_are_at_risk_and_flat_ones_are_not,
    stored_anomalies_are_replaced_cleared_and_read_newest_first,
    the_scanner_stores_an_unusual_hour_clears_it_when_it_passes_and_judges_the_next,
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

fn analysis(id: &str, service: &str, created_ms: i64, incident_ms: Option<i64>) -> Analysis {
    Analysis {
        analysis_id: id.into(),
        service_id: service.into(),
        created: lightbulb_common::time::format_iso(created_ms),
        created_ms,
        trigger: if incident_ms.is_some() {
            Trigger::Transition
        } else {
            Trigger::Request
        },
        requested_by: incident_ms.is_none().then(|| "user:alice".into()),
        incident_start: incident_ms.map(lightbulb_common::time::format_iso),
        incident_ms,
        status: "FAILED".into(),
        outcome: Outcome::Answered,
        model: "m".into(),
        answer: Some(Answer {
            summary: format!("{service} {id}"),
            likely_root_cause: "db".into(),
            evidence: vec!["connection refused".into()],
            next_steps: vec!["restart".into(), "look".into()],
            confidence: 0.5,
        }),
        raw_answer: None,
        error: None,
        context: r#"{"status":{"status":"FAILED"}}"#.into(),
        redactions: 3,
        prompt_tokens: Some(120),
        completion_tokens: Some(40),
        duration_ms: 900,
    }
}

async fn analyses_are_kept_and_read_newest_first_per_service(store: &dyn Store) {
    let t = now();
    let mut failed = analysis("c", "web", t + 2_000, None);
    failed.outcome = Outcome::Failed;
    failed.answer = None;
    failed.error = Some("the model server at http://127.0.0.1:1/v1 is unreachable".into());
    let all = [
        analysis("a", "web", t, Some(t - 5_000)),
        analysis("b", "db", t + 1_000, Some(t - 1_000)),
        failed.clone(),
        analysis("d", "web", t + 3_000, Some(t + 2_500)),
    ];
    for a in &all {
        store.put_analysis(a.clone()).await.unwrap();
    }
    let web = store.analyses("web".into(), 10).await.unwrap();
    let ids: Vec<&str> = web.iter().map(|a| a.analysis_id.as_str()).collect();
    assert_eq!(ids, ["d", "c", "a"]);
    assert_eq!(web[1], failed, "read back as written");
    assert_eq!(web[0], all[3]);
    assert_eq!(web[0].incident_ms, Some(t + 2_500));
    assert_eq!(web[1].incident_ms, None);
    let newest = store.analyses("web".into(), 1).await.unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].analysis_id, "d");
    assert_eq!(
        store.analyses("db".into(), 10).await.unwrap(),
        [all[1].clone()]
    );
    assert!(
        store
            .analyses("nothing".into(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Six minutes of six results each (minute 2 in a maintenance window):
/// 6 OK | 4 OK 2 DEGRADED | 6 FAILED | 5 OK 1 UNKNOWN | 3 OK 3 FAILED | 6 DEGRADED.
async fn sla_counts_follow_the_declared_method(store: &dyn Store) {
    let t0 = (now() - 3 * DAY_MS / 24) / 60_000 * 60_000;
    let minutes: [&[(Status, usize)]; 6] = [
        &[(Status::Ok, 6)],
        &[(Status::Ok, 4), (Status::Degraded, 2)],
        &[(Status::Failed, 6)],
        &[(Status::Ok, 5), (Status::Unknown, 1)],
        &[(Status::Ok, 3), (Status::Failed, 3)],
        &[(Status::Degraded, 6)],
    ];
    let mut rows = Vec::new();
    for (m, parts) in minutes.iter().enumerate() {
        let statuses = parts.iter().flat_map(|(s, n)| std::iter::repeat_n(*s, *n));
        for (k, status) in statuses.enumerate() {
            let ts = t0 + m as i64 * 60_000 + k as i64 * 10_000;
            rows.push(seq(
                rows.len() as u64 + 1,
                result("pay", ts, status, Some(5.0)),
            ));
        }
    }
    store.insert("a", rows).await.unwrap();
    let (from, to) = (t0, t0 + 6 * 60_000 - 1);
    let window = [(t0 + 2 * 60_000, t0 + 3 * 60_000)];
    let counts = |degraded_is_up, exclude_maintenance| {
        let method = Method {
            degraded_is_up,
            exclude_maintenance,
            objective: 99.0,
        };
        async move {
            sla::service_counts(store, "pay", from, to, &window, &method)
                .await
                .unwrap()
        }
    };
    // Incidents: minutes whose down results outnumber the up ones.
    let c = |up, down, incidents, down_minutes: i64, up_minutes: i64| Counts {
        up,
        down,
        not_judged: 1,
        in_maintenance: 6,
        incidents,
        downtime_ms: down_minutes * 60_000,
        uptime_ms: up_minutes * 60_000,
    };
    assert_eq!(counts(true, true).await, c(26, 3, 0, 0, 5));
    assert_eq!(counts(false, true).await, c(18, 11, 1, 1, 4));
    assert_eq!(counts(true, false).await, c(26, 9, 1, 1, 5));
    assert_eq!(counts(false, false).await, c(18, 17, 2, 2, 4));
    let r = sla::row("pay", "", "", c(26, 3, 0, 0, 5), 99.0);
    assert!((r.uptime_pct.unwrap() - 100.0 * 26.0 / 29.0).abs() < 1e-9);
    assert_eq!(r.met, Some(false));
}

/// Three days of results every ten minutes: `grows` RSS rising 1 MB an
/// hour from 100 MB toward 200 MB (there 28 hours from now), `flat` at
/// 150 MB, and a ClickHouse disk losing 0.5 % free space an hour from 50 %
/// toward the failing 2 % (there 24 hours from now).
async fn gauges_heading_for_their_limit_are_at_risk_and_flat_ones_are_not(store: &dyn Store) {
    const MB: f64 = 1e6;
    let now = now() / 600_000 * 600_000;
    let start = now - 72 * 3_600_000;
    let mut rows = Vec::new();
    for i in 0..=432 {
        let ts = start + i * 600_000;
        let hours = (ts - start) as f64 / 3_600_000.0;
        for (id, rss) in [("grows", 100.0 * MB + hours * MB), ("flat", 150.0 * MB)] {
            let mut r = result(id, ts, Status::Ok, None);
            r.metrics.memory_usage = Some(rss);
            rows.push(seq(rows.len() as u64 + 1, r));
        }
        let mut r = result("ch", ts, Status::Ok, None);
        r.details = serde_json::json!({"disks": [{"disk": "default", "path": "/var/lib/clickhouse/", "free_percent": 50.0 - hours / 2.0}]});
        rows.push(seq(rows.len() as u64 + 1, r));
        // Two pods of one container (the higher counts) and a sidecar without a limit.
        let mut r = result("pods", ts, Status::Ok, None);
        let mem = 40.0 + hours / 2.0;
        r.details = serde_json::json!({"usage": [
            {"pod": "api-1", "container": "api", "memory_bytes": 1, "memory_limit_percent": mem - 10.0},
            {"pod": "api-2", "container": "api", "memory_bytes": 1, "memory_limit_percent": mem},
            {"pod": "api-2", "container": "proxy", "memory_bytes": 1},
        ]});
        rows.push(seq(rows.len() as u64 + 1, r));
    }
    store.insert("a", rows).await.unwrap();
    // An agent's spool grows 2 MB an hour towards its 400 MB budget, from 100 MB.
    for i in 0..=72 {
        let ts = start + i * 3_600_000;
        let x = SpoolSample {
            ts_ms: ts,
            bytes: (100.0 * MB + i as f64 * 2.0 * MB) as u64,
            max_bytes: 400_000_000,
        };
        store.put_spool_sample("edge".into(), x).await.unwrap();
    }
    let quiet = SpoolSample {
        ts_ms: now,
        bytes: 1,
        max_bytes: 9,
    };
    store.put_spool_sample("quiet".into(), quiet).await.unwrap();
    let edge = store
        .spool_samples("edge".into(), start + 3_600_000, start + 3 * 3_600_000)
        .await
        .unwrap();
    let got: Vec<(i64, u64)> = edge.iter().map(|x| (x.ts_ms - start, x.bytes)).collect();
    assert_eq!(
        got,
        [
            (3_600_000, 102_000_000),
            (7_200_000, 104_000_000),
            (10_800_000, 106_000_000)
        ],
        "one agent's, the range's ends in it, oldest first"
    );
    let spec = |id: &str, kind, limit| Spec {
        id: id.into(),
        kind,
        limit,
    };
    let specs = [
        spec("grows", Kind::Rss, 200.0 * MB),
        spec("flat", Kind::Rss, 200.0 * MB),
        spec("ch", Kind::DiskFree, 2.0),
        spec("pods", Kind::PodMemory, 100.0),
    ]
    .into_iter()
    .chain(capacity::spool_specs([
        "edge".to_string(),
        "quiet".to_string(),
    ]))
    .collect::<Vec<_>>();
    let horizon = 30 * DAY_MS;
    let got = capacity::forecasts(store, &specs, now, horizon)
        .await
        .unwrap();
    let names: Vec<(&str, &str, bool)> = got
        .iter()
        .map(|g| {
            let id = g.service_id.as_deref().or(g.agent_id.as_deref()).unwrap();
            (id, g.gauge.as_str(), g.at_risk)
        })
        .collect();
    assert_eq!(
        names,
        [
            ("ch", "free disk default", true),
            ("grows", "rss", true),
            ("pods", "memory of api", true),
            ("edge", "spool", true),
            ("flat", "rss", false)
        ],
        "a single sample is no forecast"
    );
    assert_eq!(got[3].agent_id.as_deref(), Some("edge"));
    assert_eq!(got[3].service_id, None);
    assert_eq!(got[3].limit, 400_000_000.0, "the newest sample's budget");
    for (g, hours) in [
        (&got[0], 24.0),
        (&got[1], 28.0),
        (&got[2], 48.0),
        (&got[3], 78.0),
    ] {
        let at = lightbulb_common::time::parse_instant(g.reaches_at.as_deref().unwrap()).unwrap();
        let off = (at - now) as f64 / 3_600_000.0;
        // Within 10 % of the time left.
        assert!(
            (off - hours).abs() <= hours / 10.0,
            "{:?} reaches in {off} h, not {hours}",
            g.service_id
        );
    }
    assert!(
        (got[1].current - 172.0 * MB).abs() < 1.0 * MB,
        "{}",
        got[1].current
    );
    assert!((got[2].current - 76.0).abs() < 0.01, "{}", got[2].current);
    assert!(got[4].reaches_at.is_none() && got[4].linear.at.is_none());
    // Nearer than the horizon only: a day ahead, nothing reaches its limit.
    let soon = capacity::forecasts(store, &specs, now, DAY_MS / 2)
        .await
        .unwrap();
    assert!(soon.iter().all(|g| !g.at_risk), "{soon:?}");
}

fn found(service: &str, metric: Metric, start_ms: i64, value: f64, cleared: bool) -> StoredAnomaly {
    StoredAnomaly {
        service_id: service.into(),
        anomaly: Anomaly {
            metric,
            start_ms,
            value,
            expected: 100.0,
            score: (value - 100.0) / 10.0,
        },
        detected_ms: start_ms + 60_000,
        cleared,
    }
}

async fn stored_anomalies_are_replaced_cleared_and_read_newest_first(store: &dyn Store) {
    const H: i64 = 3_600_000;
    let t = now().div_euclid(H) * H;
    let q = |service_id: Option<&str>, limit: u32| AnomalyQuery {
        from_ms: t - 3 * H,
        to_ms: t + H,
        service_id: service_id.map(str::to_string),
        limit,
    };
    store
        .put_anomalies(vec![
            found("web", Metric::ResponseTimeMs, t - 2 * H, 180.0, false),
            found("web", Metric::ResponseTimeMs, t, 150.0, false),
            found("db", Metric::ResponseTimeMs, t, 400.0, false),
            found("db", Metric::ResponseTimeMs, t - H, 300.0, false),
            // Outside the range.
            found("db", Metric::ResponseTimeMs, t - 4 * H, 900.0, false),
        ])
        .await
        .unwrap();
    // The current hour of web grows; db's hour before stops being unusual.
    store
        .put_anomalies(vec![
            found("web", Metric::ResponseTimeMs, t, 260.0, false),
            found("db", Metric::ResponseTimeMs, t - H, 0.0, true),
        ])
        .await
        .unwrap();
    store
        .put_anomalies(vec![found("web", Metric::ErrorRate, t, 0.5, false)])
        .await
        .unwrap();
    let all = store.anomalies(q(None, 100)).await.unwrap();
    let keys: Vec<(&str, Metric, i64, f64)> = all
        .iter()
        .map(|f| {
            (
                f.service_id.as_str(),
                f.anomaly.metric,
                f.anomaly.start_ms,
                f.anomaly.value,
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("db", Metric::ResponseTimeMs, t, 400.0),
            ("web", Metric::ResponseTimeMs, t, 260.0),
            ("web", Metric::ErrorRate, t, 0.5),
            ("web", Metric::ResponseTimeMs, t - 2 * H, 180.0),
        ],
        "newest hour first, then highest score; replaced and cleared ones as last written"
    );
    assert_eq!(
        all[1],
        found("web", Metric::ResponseTimeMs, t, 260.0, false)
    );
    let web = store.anomalies(q(Some("web"), 100)).await.unwrap();
    assert_eq!(web.len(), 3);
    assert!(web.iter().all(|f| f.service_id == "web"));
    let two = store.anomalies(q(None, 2)).await.unwrap();
    assert_eq!(two, all[..2]);
    // Cleared again after being replaced: gone; written again: back.
    store
        .put_anomalies(vec![found("db", Metric::ResponseTimeMs, t, 0.0, true)])
        .await
        .unwrap();
    assert!(
        store
            .anomalies(q(Some("db"), 100))
            .await
            .unwrap()
            .is_empty()
    );
    store
        .put_anomalies(vec![found("db", Metric::ResponseTimeMs, t, 420.0, false)])
        .await
        .unwrap();
    let db = store.anomalies(q(Some("db"), 100)).await.unwrap();
    assert_eq!(db, [found("db", Metric::ResponseTimeMs, t, 420.0, false)]);
}

/// The scanner over rounds: the hour two hours ago (scanned as if it were
/// now) is slow against the same hour of four weeks; later answers in it
/// are fast, and it stops being unusual; the next hour is slow again and
/// judged against its own baseline. A steady service is never stored.
async fn the_scanner_stores_an_unusual_hour_clears_it_when_it_passes_and_judges_the_next(
    store: &dyn Store,
) {
    const HOUR: i64 = 3_600_000;
    const WEEK: i64 = 168 * HOUR;
    let h = (now() / HOUR - 2) * HOUR;
    let mut n = 0;
    let mut row = |service: &str, ts: i64, rt: f64| {
        n += 1;
        seq(n, result(service, ts, Status::Ok, Some(rt)))
    };
    let mut rows = Vec::new();
    for k in 1..=4 {
        for service in ["web", "calm"] {
            rows.push(row(service, h - k * WEEK + 60_000, 100.0 + k as f64));
            rows.push(row(service, h + HOUR - k * WEEK + 60_000, 200.0 + k as f64));
        }
    }
    for i in 0..3 {
        rows.push(row("web", h + 60_000 + i * 1000, 400.0));
        rows.push(row("calm", h + 60_000 + i * 1000, 102.0));
    }
    store.insert("a", rows).await.unwrap();
    let ids: std::collections::HashSet<String> = ["web".to_string(), "calm".to_string()].into();
    let settings = Settings::default();
    let stored = || async {
        let q = AnomalyQuery {
            from_ms: h - 24 * HOUR,
            to_ms: h + 3 * HOUR,
            service_id: None,
            limit: 100,
        };
        store
            .anomalies(q)
            .await
            .unwrap()
            .into_iter()
            .map(|f| {
                (
                    f.service_id,
                    f.anomaly.metric,
                    f.anomaly.start_ms - h,
                    f.anomaly.value,
                    f.anomaly.expected,
                )
            })
            .collect::<Vec<_>>()
    };
    let mut scan = Scan::default();
    scan.round(store, ids.clone(), &settings, h + 30 * 60_000)
        .await
        .unwrap();
    assert_eq!(
        stored().await,
        [("web".to_string(), Metric::ResponseTimeMs, 0, 400.0, 102.5)]
    );

    // A hundred fast answers later in the hour: no longer unusual.
    let fast = (0..100)
        .map(|i| row("web", h + 40 * 60_000 + i * 1000, 100.0))
        .collect();
    store.insert("a", fast).await.unwrap();
    scan.round(store, ids.clone(), &settings, h + 50 * 60_000)
        .await
        .unwrap();
    assert_eq!(stored().await, [], "cleared");

    // The next hour is slow: judged against the same hour of the weeks before.
    store
        .insert("a", vec![row("web", h + HOUR + 60_000, 900.0)])
        .await
        .unwrap();
    scan.round(store, ids, &settings, h + HOUR + 10 * 60_000)
        .await
        .unwrap();
    assert_eq!(
        stored().await,
        [(
            "web".to_string(),
            Metric::ResponseTimeMs,
            HOUR,
            900.0,
            202.5
        )]
    );
}
