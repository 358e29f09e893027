//! Alert evaluation at scale: 10,000 services (a tenth of them dependants of
//! one of 100 databases) under 3 rules (FAILED for 1 m, DEGRADED for 5 m
//! scoped by label, UNKNOWN for 2 m), with 20 silences. Times one
//! evaluation round (what the evaluator does every `alerting.interval`) when
//! nothing changes, and when 1 % of the services fail at once (alerts
//! start, fire, group under their databases, and their messages are
//! composed into outbox notifications).
//!
//! Then the judging of metric thresholds where results arrive: a batch of
//! 10,000 results against their services' windows.
//!
//! `cargo bench -p lightbulb-collector --bench alerting`

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use lightbulb_collector::alerting::engine::{Engine, ServiceNow, World};
use lightbulb_collector::alerting::model::{Condition, Rule, RuleScope, Severity};
use lightbulb_collector::alerting::outbox::Outbox;
use lightbulb_collector::alerting::silence::{Matchers, Schedule, Silence};
use lightbulb_collector::catalog::metrics::Aggregate;
use lightbulb_collector::catalog::model::{Catalog, Service};
use lightbulb_collector::store::Sequenced;
use lightbulb_collector::thresholds::Windows;
use lightbulb_common::{CheckResult, Metrics, ServiceType, Status};

const SERVICES: usize = 10_000;
const DATABASES: usize = 100;

fn rule(id: &str, status: &str, for_ms: i64, labels: &[(&str, &str)]) -> Rule {
    Rule {
        rule_id: id.into(),
        name: id.into(),
        condition: Condition::Status {
            statuses: vec![status.into()],
        },
        scope: RuleScope {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..RuleScope::default()
        },
        severity: Severity::Critical,
        for_ms,
        channels: vec!["ops".into(), "mail".into()],
        enabled: true,
        updated_ms: 0,
        resolve_after_ms: 0,
        escalation: Vec::new(),
        repeat_ms: None,
        flap_limit: 6,
        flap_window_ms: 600_000,
        managed_by: None,
    }
}

/// Every service OK but those in `failing` (databases fail their dependants).
fn world(failing: &[usize]) -> World {
    let mut services = BTreeMap::new();
    let db_of = |i: usize| format!("db-{}", i % DATABASES);
    let down: std::collections::HashSet<String> = failing
        .iter()
        .filter(|i| **i < DATABASES)
        .map(|i| format!("db-{i}"))
        .collect();
    for i in 0..SERVICES {
        let id = if i < DATABASES {
            format!("db-{i}")
        } else {
            format!("svc-{i}")
        };
        let dependant = i >= DATABASES && i % 10 == 0;
        let root = (dependant && down.contains(&db_of(i))).then(|| db_of(i));
        let failed = failing.contains(&i) || root.is_some();
        services.insert(
            id.clone(),
            ServiceNow {
                label: id.clone(),
                service_type: "api_endpoint".into(),
                labels: [("team".to_string(), format!("team-{}", i % 40))].into(),
                status: if failed { Status::Failed } else { Status::Ok },
                message: if failed {
                    "connection refused".into()
                } else {
                    "200 in 12 ms".into()
                },
                root_cause: root,
                last_result_ms: None,
                interval_ms: 30_000,
            },
        );
    }
    let silences = (0..20)
        .map(|i| Silence {
            silence_id: format!("s-{i}"),
            comment: String::new(),
            created_by: "bench".into(),
            created_ms: 0,
            maintenance: i % 2 == 0,
            matchers: Matchers {
                services: vec![format!("svc-{}", 5_000 + i)],
                ..Matchers::default()
            },
            schedule: Schedule::Recurring {
                cron: "0 2 * * SAT".into(),
                duration_ms: 7_200_000,
                timezone: "Europe/Berlin".into(),
            },
        })
        .collect();
    World {
        services,
        handling: HashMap::new(),
        silences,
        link_base: "https://lightbulb.example.com".into(),
        verdicts: HashMap::new(),
        anomalies: HashMap::new(),
    }
}

/// Judging at ingest: 10,000 services, each with its own p95 threshold
/// over 5 m and under a p95 metric rule, reporting every 10 s. Times each
/// batch of 10,000 results once the windows hold 5 m (30 results each).
fn judging() {
    let mut catalog = Catalog::default();
    for i in 0..SERVICES {
        let id = format!("svc-{i}");
        let mut s = Service::new(&id, ServiceType::ApiEndpoint, 0);
        s.metric_config = serde_json::json!({
            "response_time_ms": {"degraded": 500, "failed": 2000, "aggregate": "p95"},
            "window": "5m"
        });
        catalog.services.insert(id, s);
    }
    let mut slow = rule("slow", "", 0, &[]);
    slow.condition = Condition::Metric {
        metric: "response_time_ms".into(),
        aggregate: Aggregate::P95,
        below: false,
        threshold: 800.0,
        window_ms: 300_000,
    };
    let rules = [slow];
    let windows = Windows::default();
    let mut times = Vec::new();
    for round in 0..60i64 {
        let mut rows: Vec<Sequenced> = (0..SERVICES)
            .map(|i| Sequenced {
                seq: round as u64,
                result: CheckResult {
                    service_id: format!("svc-{i}"),
                    service_type: ServiceType::ApiEndpoint,
                    timestamp_ms: 1_700_000_000_000 + round * 10_000,
                    status: Status::Ok,
                    message: "HTTP 200".into(),
                    metrics: Metrics {
                        response_time_ms: Some(((i as i64 * 7 + round * 13) % 1000) as f64),
                        ..Metrics::default()
                    },
                    details: serde_json::Value::Null,
                },
            })
            .collect();
        let started = Instant::now();
        windows.judge(rows.iter_mut().map(|r| &mut r.result), &catalog, &rules);
        if round >= 30 {
            times.push(started.elapsed());
        }
    }
    report(
        "judging a batch of 10,000 results (own p95 threshold and a p95 rule, 5 m windows)",
        times,
    );
    println!("alerting results kept in windows: {}", windows.samples());
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "alerting {name}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} rounds)",
        p(0.5).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len()
    );
}

fn main() {
    let rounds = lightbulb_testkit::bench_size(50);
    let rules = [
        rule("down", "FAILED", 0, &[]),
        rule("degraded", "DEGRADED", 300_000, &[("team", "team-7")]),
        rule("silent", "UNKNOWN", 120_000, &[]),
    ];
    let quiet = world(&[]);
    let mut engine = Engine::default();
    let mut t = 1_700_000_000_000;
    let mut steady = Vec::new();
    for _ in 0..rounds {
        t += 1_000;
        let started = Instant::now();
        let step = engine.evaluate(&rules, &quiet, t);
        steady.push(started.elapsed());
        assert!(step.messages.is_empty());
    }
    report("round, 10,000 services x 3 rules, nothing changes", steady);

    // 1 %: 10 databases (each failing its ~10 dependants) and 90 services on their own.
    let failing: Vec<usize> = (0..10).chain((0..90).map(|i| 1_001 + i * 97)).collect();
    let broken = world(&failing);
    let mut change = Vec::new();
    let mut messages = 0;
    for _ in 0..rounds {
        let mut engine = Engine::default();
        engine.evaluate(&rules, &quiet, t);
        let started = Instant::now();
        let step = engine.evaluate(&rules, &broken, t + 1_000);
        let composed: usize = step
            .messages
            .iter()
            .map(|(m, c)| Outbox::compose(m, c, t).len())
            .sum();
        change.push(started.elapsed());
        messages = composed;
    }
    report(
        "round in which 1 % fail (alerts start, fire, group; notifications composed)",
        change,
    );
    println!(
        "alerting notifications per such round: {messages} (two channels each; dependants grouped)"
    );
    judging();
}
