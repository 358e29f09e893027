use super::*;
use crate::alerting::model::{Condition, EscalationStep, Handling, Severity};
use lightbulb_common::Status;

fn rule(id: &str, for_ms: i64) -> Rule {
    let failed = Condition::Status {
        statuses: vec!["FAILED".into()],
    };
    Rule {
        name: format!("{id} rule"),
        severity: Severity::Critical,
        for_ms,
        ..Rule::sample(id, failed)
    }
}

fn service(status: Status, root: Option<&str>) -> ServiceNow {
    ServiceNow {
        label: String::new(),
        service_type: "api_endpoint".into(),
        labels: BTreeMap::new(),
        status,
        message: format!("{status}"),
        root_cause: root.map(str::to_string),
        last_result_ms: None,
        interval_ms: 10_000,
    }
}

/// `db` with ten dependants `app-0`..`app-9` (failing because of it when
/// `db_down`) and an unrelated `cache`.
fn world(db_down: bool, cache: Status) -> World {
    let mut services = BTreeMap::new();
    let (db, app) = if db_down {
        (Status::Failed, Status::Failed)
    } else {
        (Status::Ok, Status::Ok)
    };
    services.insert("db".to_string(), service(db, None));
    for i in 0..10 {
        let root = db_down.then_some("db");
        services.insert(format!("app-{i}"), service(app, root));
    }
    services.insert("cache".to_string(), service(cache, None));
    World {
        services,
        link_base: "http://lb".into(),
        ..World::default()
    }
}

#[test]
fn a_root_cause_sends_one_message_naming_its_dependants_and_one_on_recovery() {
    let rules = [rule("down", 2_000)];
    let mut e = Engine::default();
    let step = e.evaluate(&rules, &world(true, Status::Ok), 0);
    assert!(step.messages.is_empty(), "pending for 2 s first");
    assert_eq!(step.changed.len(), 11, "eleven pending alerts stored");
    assert!(
        e.evaluate(&rules, &world(true, Status::Ok), 1_000)
            .messages
            .is_empty()
    );

    let step = e.evaluate(&rules, &world(true, Status::Ok), 2_000);
    assert_eq!(step.messages.len(), 1, "{:?}", step.messages);
    let (m, channels) = &step.messages[0];
    assert_eq!((m.service_id.as_str(), m.event), ("db", Event::Firing));
    assert_eq!(m.impacted.len(), 10);
    assert_eq!(channels, &["ops".to_string()]);
    assert_eq!(m.link, "http://lb/services/db");
    assert!(
        e.active()
            .filter(|a| a.service_id != "db")
            .all(|a| a.root_cause.as_deref() == Some("db"))
    );
    assert!(
        e.evaluate(&rules, &world(true, Status::Ok), 5_000)
            .messages
            .is_empty(),
        "once"
    );

    // The database recovers first, its dependants a check later.
    let mut half = world(true, Status::Ok);
    half.services.get_mut("db").unwrap().status = Status::Ok;
    for s in half.services.values_mut() {
        s.root_cause = None;
    }
    let step = e.evaluate(&rules, &half, 6_000);
    assert_eq!(step.messages.len(), 1);
    assert_eq!(
        (
            step.messages[0].0.service_id.as_str(),
            step.messages[0].0.event
        ),
        ("db", Event::Resolved)
    );
    assert_eq!(
        step.messages[0].0.impacted.len(),
        10,
        "the resolution names them too"
    );
    assert!(
        e.evaluate(&rules, &half, 7_000).messages.is_empty(),
        "no dependant pages on its own"
    );
    let step = e.evaluate(&rules, &world(false, Status::Ok), 8_000);
    assert!(step.messages.is_empty(), "their alerts end silently");
    assert_eq!(e.active().count(), 0);
}

#[test]
fn a_service_failing_for_its_own_reason_meanwhile_notifies_on_its_own() {
    let rules = [rule("down", 0)];
    let mut e = Engine::default();
    let step = e.evaluate(&rules, &world(true, Status::Failed), 0);
    let mut notified: Vec<&str> = step
        .messages
        .iter()
        .map(|(m, _)| m.service_id.as_str())
        .collect();
    notified.sort();
    assert_eq!(notified, ["cache", "db"]);
}

#[test]
fn a_grouped_alert_left_on_its_own_notifies_after_the_regroup_wait() {
    let rules = [rule("down", 0)];
    let mut e = Engine::default();
    e.evaluate(&rules, &world(true, Status::Ok), 0);
    // The database is back but app-3 still fails, now for no failing dependency.
    let mut w = world(false, Status::Ok);
    w.services.get_mut("app-3").unwrap().status = Status::Failed;
    assert!(
        e.evaluate(&rules, &w, 1_000)
            .messages
            .iter()
            .all(|(m, _)| m.event == Event::Resolved)
    );
    assert!(
        e.evaluate(&rules, &w, 1_000 + REGROUP_MS - 1)
            .messages
            .is_empty()
    );
    let step = e.evaluate(&rules, &w, 1_000 + REGROUP_MS);
    assert_eq!(step.messages.len(), 1);
    assert_eq!(step.messages[0].0.service_id, "app-3");
}

#[test]
fn a_pending_alert_that_ends_before_firing_is_dropped_without_a_message() {
    let rules = [rule("down", 10_000)];
    let mut e = Engine::default();
    e.evaluate(&rules, &world(false, Status::Failed), 0);
    let step = e.evaluate(&rules, &world(false, Status::Ok), 5_000);
    assert_eq!(step.dropped.len(), 1);
    assert!(step.messages.is_empty());
    assert_eq!(e.active().count(), 0);
}

#[test]
fn a_restart_resumes_firing_alerts_without_notifying_again() {
    let rules = [rule("down", 0)];
    let mut e = Engine::default();
    let step = e.evaluate(&rules, &world(false, Status::Failed), 0);
    assert_eq!(step.messages.len(), 1);
    let mut resumed = Engine::resume(e.active().cloned().collect::<Vec<_>>());
    assert!(
        resumed
            .evaluate(&rules, &world(false, Status::Failed), 1_000)
            .messages
            .is_empty()
    );
    let step = resumed.evaluate(&rules, &world(false, Status::Ok), 2_000);
    assert_eq!(step.messages[0].0.event, Event::Resolved);
}

/// Only `cache`, with `status`; and what people did with alerts.
fn cache<const N: usize>(status: Status, handling: [Handling; N]) -> World {
    let mut w = world(false, status);
    w.services.retain(|id, _| id == "cache");
    w.handling = handling
        .iter()
        .map(|h| (h.alert_id.clone(), h.clone()))
        .collect();
    w
}

#[test]
fn dependants_still_pending_when_their_root_cause_recovers_do_not_page() {
    let rules = [rule("down", 1_000)];
    let mut e = Engine::default();
    // The database fails first; its dependants' checks notice 200 ms later.
    let mut first = world(true, Status::Ok);
    for (id, s) in first.services.iter_mut() {
        if id.starts_with("app-") {
            s.status = Status::Ok;
            s.root_cause = None;
        }
    }
    e.evaluate(&rules, &first, 0);
    e.evaluate(&rules, &world(true, Status::Ok), 200);
    let step = e.evaluate(&rules, &world(true, Status::Ok), 1_000);
    assert_eq!(events(&step), [(Event::Firing, vec!["ops".to_string()])]);
    // The database is back before the dependants' checks are: their alerts
    // fire (1 s since 200) with no failing dependency left to group under.
    let mut back = world(true, Status::Ok);
    back.services.get_mut("db").unwrap().status = Status::Ok;
    for s in back.services.values_mut() {
        s.root_cause = None;
    }
    let step = e.evaluate(&rules, &back, 1_200);
    assert_eq!(
        step.messages
            .iter()
            .map(|(m, _)| (m.service_id.as_str(), m.event))
            .collect::<Vec<_>>(),
        [("db", Event::Resolved)],
        "the dependants wait as ones leaving a group"
    );
    // Their checks recover within the wait: nothing more is sent.
    let step = e.evaluate(&rules, &world(false, Status::Ok), 1_500);
    assert!(step.messages.is_empty(), "{:?}", events(&step));
}

fn events(step: &Step) -> Vec<(Event, Vec<String>)> {
    step.messages
        .iter()
        .map(|(m, c)| (m.event, c.clone()))
        .collect()
}

#[test]
fn escalation_steps_fire_on_schedule_stop_on_acknowledge_and_resume_after() {
    let rules = [Rule {
        escalation: vec![
            EscalationStep {
                after_ms: 60_000,
                channels: vec!["lead".into()],
            },
            EscalationStep {
                after_ms: 120_000,
                channels: vec!["manager".into()],
            },
        ],
        repeat_ms: Some(300_000),
        ..rule("down", 0)
    }];
    let mut e = Engine::default();
    let step = e.evaluate(&rules, &cache(Status::Failed, []), 0);
    assert_eq!(events(&step), [(Event::Firing, vec!["ops".to_string()])]);
    let id = step.messages[0].0.alert_id.clone();
    assert!(
        e.evaluate(&rules, &cache(Status::Failed, []), 59_999)
            .messages
            .is_empty()
    );
    let step = e.evaluate(&rules, &cache(Status::Failed, []), 60_000);
    assert_eq!(
        events(&step),
        [(Event::Escalated, vec!["lead".to_string()])]
    );
    assert_eq!(step.messages[0].0.escalation, Some(1));

    // Acknowledged before the second step: nothing more.
    let ack = Handling {
        alert_id: id.clone(),
        acknowledged_by: Some("user:ann".into()),
        resolved_by: None,
        at_ms: 90_000,
    };
    let step = e.evaluate(&rules, &cache(Status::Failed, [ack]), 90_000);
    assert!(step.messages.is_empty());
    assert_eq!(step.changed[0].acknowledged_by.as_deref(), Some("user:ann"));
    for t in [120_000, 400_000, 900_000] {
        let ack = Handling {
            alert_id: id.clone(),
            acknowledged_by: Some("user:ann".into()),
            resolved_by: None,
            at_ms: 90_000,
        };
        assert!(
            e.evaluate(&rules, &cache(Status::Failed, [ack]), t)
                .messages
                .is_empty(),
            "at {t}"
        );
    }
    // Taken back: the overdue step goes out, then the repeats.
    let unack = Handling {
        alert_id: id.clone(),
        acknowledged_by: None,
        resolved_by: None,
        at_ms: 1_000_000,
    };
    let step = e.evaluate(&rules, &cache(Status::Failed, [unack.clone()]), 1_000_000);
    assert_eq!(
        events(&step),
        [(Event::Escalated, vec!["manager".to_string()])]
    );
    assert!(
        e.evaluate(&rules, &cache(Status::Failed, [unack.clone()]), 1_299_999)
            .messages
            .is_empty()
    );
    let step = e.evaluate(&rules, &cache(Status::Failed, [unack.clone()]), 1_300_000);
    assert_eq!(
        events(&step),
        [(Event::Escalated, vec!["manager".to_string()])]
    );
    assert_eq!(
        step.messages[0].0.escalation,
        Some(3),
        "each repeat has its own number"
    );
    let step = e.evaluate(&rules, &cache(Status::Ok, [unack]), 1_310_000);
    assert_eq!(events(&step), [(Event::Resolved, vec!["ops".to_string()])]);
}

#[test]
fn a_flapping_service_sends_at_most_the_limit_and_shows_flapping() {
    let rules = [Rule {
        flap_limit: 4,
        ..rule("down", 0)
    }];
    let mut e = Engine::default();
    let mut sent = 0;
    let mut flapping_seen = false;
    // Toggling every check (1 s) for five minutes.
    for t in 0..300 {
        let status = if t % 2 == 0 {
            Status::Failed
        } else {
            Status::Ok
        };
        let step = e.evaluate(&rules, &cache(status, []), t * 1_000);
        sent += step.messages.len();
        flapping_seen |= step.changed.iter().any(|a| a.flapping);
    }
    assert_eq!(sent, 4, "two firings and their resolutions");
    assert!(flapping_seen, "the alerts say flapping");
    // Quiet for the window: the next failure notifies again.
    let step = e.evaluate(&rules, &cache(Status::Ok, []), 1_000_000);
    assert!(step.messages.is_empty());
    let step = e.evaluate(&rules, &cache(Status::Failed, []), 1_001_000);
    assert_eq!(events(&step)[0].0, Event::Firing);
}

#[test]
fn resolve_after_keeps_a_briefly_recovered_alert_firing() {
    let rules = [Rule {
        resolve_after_ms: 30_000,
        ..rule("down", 0)
    }];
    let mut e = Engine::default();
    assert_eq!(
        e.evaluate(&rules, &cache(Status::Failed, []), 0)
            .messages
            .len(),
        1
    );
    assert!(
        e.evaluate(&rules, &cache(Status::Ok, []), 10_000)
            .messages
            .is_empty()
    );
    assert!(
        e.evaluate(&rules, &cache(Status::Failed, []), 20_000)
            .messages
            .is_empty(),
        "the same alert"
    );
    assert!(
        e.evaluate(&rules, &cache(Status::Ok, []), 30_000)
            .messages
            .is_empty()
    );
    assert!(
        e.evaluate(&rules, &cache(Status::Ok, []), 59_999)
            .messages
            .is_empty()
    );
    let step = e.evaluate(&rules, &cache(Status::Ok, []), 60_000);
    assert_eq!(events(&step)[0].0, Event::Resolved);
}

#[test]
fn resolved_by_hand_ends_the_alert_until_the_condition_ends() {
    let rules = [rule("down", 0)];
    let mut e = Engine::default();
    let id = e.evaluate(&rules, &cache(Status::Failed, []), 0).messages[0]
        .0
        .alert_id
        .clone();
    let done = Handling {
        alert_id: id,
        acknowledged_by: None,
        resolved_by: Some("user:ann".into()),
        at_ms: 5_000,
    };
    let step = e.evaluate(&rules, &cache(Status::Failed, [done.clone()]), 5_000);
    assert_eq!(events(&step)[0].0, Event::Resolved);
    assert_eq!(step.changed[0].resolved_by.as_deref(), Some("user:ann"));
    assert!(
        e.evaluate(&rules, &cache(Status::Failed, [done.clone()]), 6_000)
            .messages
            .is_empty()
    );
    assert_eq!(e.active().count(), 0, "no new alert while it still fails");
    e.evaluate(&rules, &cache(Status::Ok, [done.clone()]), 7_000);
    let step = e.evaluate(&rules, &cache(Status::Failed, [done]), 8_000);
    assert_eq!(
        events(&step)[0].0,
        Event::Firing,
        "a new failure alerts again"
    );
}

#[test]
fn a_silence_records_the_notifications_it_holds_back_and_the_alert_notifies_after_it() {
    use crate::alerting::silence::{Matchers, Schedule};
    let rules = [rule("down", 0)];
    let window = crate::alerting::silence::Silence {
        silence_id: "upgrade".into(),
        comment: "cache upgrade".into(),
        created_by: "user:ann".into(),
        created_ms: 0,
        maintenance: true,
        matchers: Matchers {
            services: vec!["cache".into()],
            ..Matchers::default()
        },
        schedule: Schedule::Once {
            starts_ms: 0,
            ends_ms: 10_000,
        },
    };
    let silenced = |status| World {
        silences: vec![window.clone()],
        ..cache(status, [])
    };
    let mut e = Engine::default();
    let step = e.evaluate(&rules, &silenced(Status::Failed), 1_000);
    assert!(step.messages.is_empty());
    assert_eq!(step.suppressed.len(), 1, "recorded");
    assert_eq!(step.suppressed[0].2, "upgrade");
    assert_eq!(
        step.changed.last().unwrap().silenced_by.as_deref(),
        Some("upgrade")
    );
    let step = e.evaluate(&rules, &silenced(Status::Failed), 5_000);
    assert!(
        step.messages.is_empty() && step.suppressed.is_empty(),
        "once per silence"
    );
    // The window closes with the service still failing: notified then.
    let step = e.evaluate(&rules, &silenced(Status::Failed), 10_000);
    assert_eq!(events(&step), [(Event::Firing, vec!["ops".to_string()])]);
    // A window opening later holds back the resolution, recorded.
    let later = World {
        silences: vec![crate::alerting::silence::Silence {
            schedule: Schedule::Once {
                starts_ms: 20_000,
                ends_ms: 30_000,
            },
            ..window.clone()
        }],
        ..cache(Status::Ok, [])
    };
    let step = e.evaluate(&rules, &later, 25_000);
    assert!(step.messages.is_empty());
    assert_eq!(step.suppressed[0].0.event, Event::Resolved);
}
