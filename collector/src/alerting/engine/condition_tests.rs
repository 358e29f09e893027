//! Metric, certificate and absence conditions through the engine.

use super::*;
use crate::alerting::model::Condition;
use crate::alerting::model::Verdict;
use crate::catalog::metrics::Aggregate;
use lightbulb_common::Status;

fn rule(id: &str, condition: Condition) -> Rule {
    Rule::sample(id, condition)
}

fn web(status: Status, last_result_ms: Option<i64>) -> World {
    let s = ServiceNow {
        label: "Web".into(),
        service_type: "api_endpoint".into(),
        labels: Default::default(),
        status,
        message: "no result for 40s; agent `a1` disconnected".into(),
        root_cause: None,
        last_result_ms,
        interval_ms: 10_000,
    };
    World {
        services: [("web".to_string(), s)].into(),
        ..World::default()
    }
}

fn verdict(rule_id: &str, holds: bool, reason: &str) -> Verdict {
    Verdict {
        rule_id: rule_id.into(),
        service_id: "web".into(),
        holds,
        reason: reason.into(),
        at_ms: 0,
    }
}

#[test]
fn a_metric_rule_fires_on_its_verdict_with_the_measured_value_as_message() {
    let slow = rule(
        "slow",
        Condition::Metric {
            metric: "response_time_ms".into(),
            aggregate: Aggregate::P95,
            below: false,
            threshold: 500.0,
            window_ms: 300_000,
        },
    );
    let mut w = web(Status::Ok, None);
    let reason = "response_time_ms p95 812 over 5m is above 500";
    w.verdicts
        .insert(("slow".into(), "web".into()), verdict("slow", true, reason));
    let mut e = Engine::default();
    let step = e.evaluate(std::slice::from_ref(&slow), &w, 1_000);
    assert_eq!(step.messages.len(), 1, "fires although the status is OK");
    assert_eq!(step.messages[0].0.message, reason);
    // A verdict of another rule, or one that no longer holds, resolves it.
    w.verdicts.insert(
        ("slow".into(), "web".into()),
        verdict(
            "slow",
            false,
            "response_time_ms p95 120 over 5m is above 500",
        ),
    );
    let step = e.evaluate(&[slow], &w, 2_000);
    assert_eq!(step.messages[0].0.event, Event::Resolved);
}

#[test]
fn a_certificate_rule_reads_the_verdict_of_its_own_rule_only() {
    let cert = rule("cert", Condition::CertExpiry { days: 14.0 });
    let mut w = web(Status::Ok, None);
    w.verdicts.insert(
        ("other".into(), "web".into()),
        verdict("other", true, "cert_days_left 3 is below 14"),
    );
    let mut e = Engine::default();
    assert!(
        e.evaluate(std::slice::from_ref(&cert), &w, 0)
            .messages
            .is_empty()
    );
    w.verdicts.insert(
        ("cert".into(), "web".into()),
        verdict("cert", true, "cert_days_left 3 is below 14"),
    );
    let step = e.evaluate(&[cert], &w, 1_000);
    assert_eq!(step.messages[0].0.message, "cert_days_left 3 is below 14");
}

#[test]
fn an_absence_rule_waits_for_its_intervals_of_silence() {
    let absent = rule("absent", Condition::Absent { intervals: 5 });
    let rules = [absent];
    let mut e = Engine::default();
    // Checked every 10 s, silent since 0: not yet 5 intervals at 40 s.
    let step = e.evaluate(&rules, &web(Status::Unknown, Some(0)), 40_000);
    assert!(step.messages.is_empty() && step.changed.is_empty());
    let step = e.evaluate(&rules, &web(Status::Unknown, Some(0)), 50_000);
    assert_eq!(step.messages.len(), 1);
    assert!(step.messages[0].0.message.contains("disconnected"));
    // A service that is UNKNOWN by its own check is not absent.
    let mut e = Engine::default();
    let step = e.evaluate(&rules, &web(Status::Unknown, None), 90_000);
    assert!(step.changed.is_empty());
}

#[test]
fn an_anomaly_rule_holds_while_the_current_or_last_hour_is_unusual() {
    use crate::insights::anomaly::{Anomaly, Metric};
    const H: i64 = 3_600_000;
    let slow = |start_ms, score| Anomaly {
        metric: Metric::ResponseTimeMs,
        start_ms,
        value: 400.0,
        expected: 150.0,
        score,
    };
    let with = |found: Vec<Anomaly>| World {
        anomalies: [("web".to_string(), found)].into(),
        ..web(Status::Ok, None)
    };
    let any = rule(
        "unusual",
        Condition::Anomaly {
            metrics: vec![Metric::ResponseTimeMs],
            min_score: 0.0,
        },
    );
    // The hour from 10 h: it fires at 10:30, still holds at 11:30, not at 12:00.
    let mut e = Engine::default();
    let w = with(vec![slow(10 * H, 9.5)]);
    let step = e.evaluate(std::slice::from_ref(&any), &w, 10 * H + H / 2);
    assert_eq!(step.messages.len(), 1);
    assert_eq!(
        step.messages[0].0.message,
        "response time (p95) 400 ms in the hour from 1970-01-01T10:00:00.000Z, usually 150 ms (9.5 deviations)"
    );
    let step = e.evaluate(std::slice::from_ref(&any), &w, 11 * H + H / 2);
    assert!(step.messages.is_empty(), "still firing");
    let step = e.evaluate(std::slice::from_ref(&any), &w, 12 * H);
    assert_eq!(step.messages.len(), 1, "resolved");
    assert_eq!(
        step.messages[0].0.event,
        crate::alerting::model::Event::Resolved
    );
    // Below its least score, or of another metric: not held.
    let strong = rule(
        "strong",
        Condition::Anomaly {
            metrics: vec![Metric::ResponseTimeMs],
            min_score: 10.0,
        },
    );
    let errors = rule(
        "errors",
        Condition::Anomaly {
            metrics: vec![Metric::ErrorRate],
            min_score: 0.0,
        },
    );
    let mut e = Engine::default();
    let step = e.evaluate(&[strong, errors], &w, 10 * H + 1);
    assert!(step.changed.is_empty() && step.messages.is_empty());
}
