use serde_json::{Value, json};

use super::*;
use crate::alerting::model::{Condition, Rule};
use crate::catalog::metrics::Aggregate;
use crate::catalog::model::{Catalog, Service};
use lightbulb_common::{CheckResult, Metrics, ServiceType, Status};

fn result(ts: i64, status: Status, ms: f64) -> CheckResult {
    CheckResult {
        service_id: "web".into(),
        service_type: ServiceType::ApiEndpoint,
        timestamp_ms: ts,
        status,
        message: "200 OK".into(),
        metrics: Metrics {
            response_time_ms: Some(ms),
            ..Metrics::default()
        },
        details: Value::Null,
    }
}

fn catalog(metric_config: Value) -> Catalog {
    let mut web = Service::new("web", ServiceType::ApiEndpoint, 0);
    web.metric_config = metric_config;
    let mut c = Catalog::default();
    c.services.insert("web".into(), web);
    c
}

#[test]
fn metric_config_raises_the_status_over_its_window_with_the_reason() {
    let c = catalog(json!({
        "response_time_ms": {"degraded": 500, "failed": 2000},
        "window": "1m"
    }));
    let w = Windows::default();
    let mut rows = vec![
        result(0, Status::Ok, 100.0),
        result(10_000, Status::Ok, 1000.0),
        result(20_000, Status::Ok, 1000.0),
    ];
    w.judge(&mut rows, &c, &[]);
    assert_eq!(rows[0].status, Status::Ok, "avg 100");
    assert_eq!(rows[1].status, Status::Degraded, "avg 550");
    let r = &rows[2];
    assert_eq!(r.status, Status::Degraded);
    assert_eq!(
        r.message,
        "response_time_ms avg 700 over 1m is above 500 (DEGRADED); check: 200 OK"
    );
    assert_eq!(r.details["check_status"], "OK");
    assert_eq!(r.details["metric_thresholds"][0]["value"], 700.0);
    // The slow results leave the window: OK again, the values still shown.
    let mut later = vec![result(90_000, Status::Ok, 100.0)];
    w.judge(&mut later, &c, &[]);
    assert_eq!(later[0].status, Status::Ok);
    assert_eq!(later[0].details["metric_thresholds"][0]["value"], 100.0);
    // A FAILED check stays FAILED with its own message.
    let mut failed = vec![result(95_000, Status::Failed, 5000.0)];
    w.judge(&mut failed, &c, &[]);
    assert_eq!(failed[0].message, "200 OK");
}

#[test]
fn error_rate_is_the_share_of_failed_results() {
    let c = catalog(json!({"error_rate": {"degraded": 20, "failed": 50}, "window": "5m"}));
    let w = Windows::default();
    let mut rows: Vec<CheckResult> = (0..10)
        .map(|i| {
            let s = if i % 3 == 0 {
                Status::Failed
            } else {
                Status::Ok
            };
            result(i * 1000, s, 10.0)
        })
        .collect();
    w.judge(&mut rows, &c, &[]);
    // At the ninth, 3 of 9 failed (33 %): DEGRADED; the failed ones stay FAILED.
    assert_eq!(rows[9].status, Status::Failed);
    assert_eq!(rows[8].status, Status::Degraded);
    assert!(
        rows[8]
            .message
            .starts_with("error_rate 33.33% over 5m is above 20 (DEGRADED)"),
        "{}",
        rows[8].message
    );
}

#[test]
fn rule_verdicts_change_only_on_turns_and_ignore_replayed_results() {
    let slow = Rule::sample(
        "slow",
        Condition::Metric {
            metric: "response_time_ms".into(),
            aggregate: Aggregate::Max,
            below: false,
            threshold: 500.0,
            window_ms: 60_000,
        },
    );
    let rules = [slow];
    let c = catalog(Value::Null);
    let w = Windows::default();
    w.judge(&mut [result(0, Status::Ok, 100.0)], &c, &rules);
    w.judge(&mut [result(10_000, Status::Ok, 900.0)], &c, &rules);
    w.judge(&mut [result(20_000, Status::Ok, 100.0)], &c, &rules);
    let changed = w.take_changed();
    assert_eq!(
        changed.iter().map(|v| v.holds).collect::<Vec<_>>(),
        [false, true],
        "one verdict per turn"
    );
    assert_eq!(
        changed[1].reason,
        "response_time_ms max 900 over 1m is above 500"
    );
    // A result from before the newest verdict is history: no turn.
    w.judge(&mut [result(5_000, Status::Ok, 50.0)], &c, &rules);
    assert!(w.take_changed().is_empty());
    assert!(w.verdicts()[&("slow".to_string(), "web".to_string())].holds);
    // Rules gone and no metric_config: nothing kept for the service.
    w.judge(&mut [result(30_000, Status::Ok, 100.0)], &c, &[]);
    assert_eq!(w.samples(), 0);
}
