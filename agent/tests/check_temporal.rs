//! The agent's `temporal_workflow` check against a real Temporal dev server,
//! with runs, workers and schedules made by the `temporalio` Python SDK
//! (testkit/fixtures/temporal_fixture.py): each status the check can produce,
//! with the reason in `message` and the evidence in `details`.

use lightbulb_testkit as support;

use std::time::Duration;

use lightbulb_agent::checks::temporal::TemporalCheck;
use lightbulb_agent::checks::{Check, CheckSpec, Outcome};
use lightbulb_common::{ServiceType, Status};
use serde_json::{Value, json};
use support::temporal::Temporal;

fn check(address: &str, extra: Value) -> TemporalCheck {
    let mut v = json!({"address": address});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    match CheckSpec::parse(ServiceType::TemporalWorkflow, &v) {
        Ok(CheckSpec::Temporal(spec)) => TemporalCheck::new(spec),
        other => panic!("not a temporal spec: {other:?}"),
    }
}

async fn run_until(c: &mut dyn Check, what: &str, done: impl Fn(&Outcome) -> bool) -> Outcome {
    support::run_until(c, Duration::from_secs(60), what, done).await
}

fn findings(o: &Outcome) -> Vec<String> {
    o.details["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["message"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn failing_runs_flip_the_service_and_a_dead_worker_is_named() {
    let Some(t) = Temporal::start() else { return };
    let mut worker = t.worker("orders");
    t.run(&["start", "Greet", "orders", "4"]);

    let mut c = check(&t.address, json!({"poller_freshness": "8s"}));
    let ok = c.run().await;
    assert_eq!(ok.status, Status::Ok, "{} {:#}", ok.message, ok.details);
    assert!(ok.message.contains("4 runs"), "{}", ok.message);
    assert_eq!(ok.details["counts"]["Completed"], 4);
    assert_eq!(ok.metrics.extra["completed"], 4.0);
    let queue = &ok.details["task_queues"][0];
    assert_eq!(queue["name"], "orders");
    assert!(
        !queue["workflow"]["pollers"].as_array().unwrap().is_empty(),
        "{queue}"
    );

    // Two runs start failing: the next run of the check sees them.
    t.run(&["start", "Broken", "orders", "2"]);
    let failed = c.run().await;
    assert_eq!(failed.status, Status::Failed, "{}", failed.message);
    assert!(failed.message.contains("2 of 6 runs"), "{}", failed.message);
    let runs = failed.details["failed_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(
        runs[0]["workflow_id"]
            .as_str()
            .unwrap()
            .starts_with("broken-")
    );
    assert_eq!(runs[0]["status"], "Failed");
    assert_eq!(runs[0]["failure"], "payment gateway refused the card");
    assert!((failed.metrics.extra["failure_rate"] - 2.0 / 6.0).abs() < 1e-9);

    // The same runs against looser thresholds: DEGRADED.
    let lenient = json!({"failure_rate_degraded": 0.1, "failure_rate_failed": 0.5});
    let degraded = check(&t.address, lenient).run().await;
    assert_eq!(degraded.status, Status::Degraded, "{}", degraded.message);

    // A stopped worker leaves the queue without pollers.
    worker.kill();
    let dead = run_until(&mut c, "no pollers", |o| {
        o.message.contains("no pollers on task queue orders")
    })
    .await;
    assert_eq!(dead.status, Status::Failed);

    // Work arriving with nobody to take it: the backlog ages.
    t.run(&["start", "Sleepy", "orders", "1"]);
    let mut backlog = check(
        &t.address,
        json!({"poller_freshness": "8s", "max_backlog_age": "1s"}),
    );
    let waiting = run_until(&mut backlog, "an old backlog", |o| {
        findings(o)
            .iter()
            .any(|m| m.starts_with("task queue orders: workflow tasks wait"))
    })
    .await;
    let queue = &waiting.details["task_queues"][0]["workflow"];
    assert!(queue["backlog_count"].as_i64().unwrap() >= 1, "{queue}");
    assert!(queue["backlog_age_s"].as_f64().unwrap() > 1.0, "{queue}");

    let missing = check(&t.address, json!({"namespace": "nowhere"}))
        .run()
        .await;
    assert_eq!(missing.status, Status::Failed);
    assert!(
        missing.message.contains("namespace `nowhere`"),
        "{}",
        missing.message
    );
}

#[tokio::test]
async fn unreachable_frontend_is_failed() {
    let address = format!("127.0.0.1:{}", support::free_port());
    let o = check(&address, json!({})).run().await;
    assert_eq!(o.status, Status::Failed);
    assert!(
        o.message
            .contains(&format!("cannot query namespace `default` at {address}")),
        "{}",
        o.message
    );
    assert!(o.details["error"].is_string());
}

#[tokio::test]
async fn stuck_and_timed_out_runs_and_late_paused_schedules_and_a_schedule_alone() {
    let Some(t) = Temporal::start() else { return };
    let _worker = t.worker("slow");
    t.run(&["start", "Sleepy", "slow", "1"]);
    t.run(&["start", "Sleepy", "slow", "1", "1"]);
    let mut c = check(
        &t.address,
        json!({"max_running": "1s", "schedule_grace": "1s", "failure_rate_failed": 1.0, "failure_rate_degraded": 1.0}),
    );
    let stuck = run_until(&mut c, "a stuck run", |o| {
        o.message.contains("open longer than 1s")
    })
    .await;
    assert_eq!(stuck.status, Status::Degraded, "{}", stuck.message);
    let shown = &stuck.details["stuck_runs"][0];
    assert!(
        shown["workflow_id"]
            .as_str()
            .unwrap()
            .starts_with("sleepy-"),
        "{shown}"
    );
    assert_eq!(shown["status"], "Running");
    assert!(shown["age_s"].as_f64().unwrap() >= 1.0);
    let timed_out = &stuck.details["failed_runs"][0];
    assert_eq!(timed_out["status"], "TimedOut");
    assert_eq!(timed_out["failure"], "workflow execution timed out");

    // Every second the schedule starts a run that never ends; the overlap
    // policy skips the next ones, so the schedule falls behind its spec.
    t.run(&["schedule", "nightly", "slow", "create"]);
    let late = run_until(&mut c, "a late, skipping schedule", |o| {
        let f = findings(o);
        f.iter().any(|m| m.starts_with("schedule nightly is late"))
            && f.iter().any(|m| m.starts_with("schedule nightly skipped"))
    })
    .await;
    assert_eq!(late.status, Status::Degraded);
    let schedule = &late.details["schedules"][0];
    assert_eq!(schedule["id"], "nightly");
    assert!(
        schedule["overlap_skipped"].as_i64().unwrap() > 0,
        "{schedule}"
    );
    // A check of this schedule alone: DEGRADED while it runs late.
    let mut only = check(
        &t.address,
        json!({"schedule_id": "nightly", "schedule_grace": "1s"}),
    );
    let alone = run_until(&mut only, "the schedule alone, late", |o| {
        o.status == Status::Degraded
    })
    .await;
    assert!(
        alone.message.contains("schedule nightly is late"),
        "{}",
        alone.message
    );
    assert_eq!(alone.details["schedule"]["id"], "nightly");

    t.run(&["schedule", "nightly", "slow", "pause"]);
    let paused = run_until(&mut c, "a paused schedule", |o| {
        findings(o)
            .iter()
            .any(|m| m == "schedule nightly is paused: paused by the test")
    })
    .await;
    assert_eq!(paused.status, Status::Degraded);
    assert_eq!(paused.details["schedules"][0]["paused"], true);

    // Paused on purpose: the schedule-only check is STOPPED, not failing.
    let stopped = run_until(&mut only, "the paused schedule alone", |o| {
        o.status == Status::Stopped
    })
    .await;
    assert_eq!(
        stopped.message,
        "schedule nightly is paused: paused by the test"
    );
    let absent = check(&t.address, json!({"schedule_id": "weekly"}))
        .run()
        .await;
    assert_eq!(absent.status, Status::Failed);
    assert_eq!(
        absent.message,
        "schedule weekly does not exist in namespace `default`"
    );
}

#[tokio::test]
async fn activity_durations_retries_and_failures_come_from_histories() {
    let Some(t) = Temporal::start() else { return };
    let _worker = t.worker("acts");
    t.run(&["start", "Flaky", "acts", "2"]);
    let o = check(&t.address, json!({"workflow_type": "Flaky"}))
        .run()
        .await;
    assert_eq!(o.status, Status::Ok, "{} {:#}", o.message, o.details);
    let acts = &o.details["activities"];
    assert_eq!(acts["sampled_runs"], 2);
    let wobble = &acts["by_type"]["wobble"];
    assert_eq!(wobble["count"], 2, "{wobble}");
    // Each run's activity failed twice before it succeeded.
    assert_eq!(wobble["retries"], 4);
    assert_eq!(wobble["failures"], 0);
    assert_eq!(wobble["last_failure"], "wobble attempt 2 failed");
    // Two retries 100 ms apart.
    assert!(wobble["p50_ms"].as_i64().unwrap() >= 200, "{wobble}");

    let slow = check(
        &t.address,
        json!({"workflow_type": "Flaky", "activity_p95_max": "1ms"}),
    )
    .run()
    .await;
    assert_eq!(slow.status, Status::Degraded);
    assert!(
        slow.message.starts_with("activity wobble: p95"),
        "{}",
        slow.message
    );
}
