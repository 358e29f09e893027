//! Alerting end to end with real parts: the collector and agent binaries,
//! a real TCP service (a Python listener) standing for a database with ten
//! dependants whose checks fail with it, a real SMTP server (aiosmtpd) and
//! a real HTTP receiver (Python) for the webhook. A database outage sends
//! one notification naming the ten, and one when it recovers; a service
//! failing on its own sends its own. A receiver that is down, or a
//! collector killed meanwhile, delays notifications but loses none and
//! doubles none. Escalation stops on a notification's one-click link; a
//! maintenance window holds notifications back; a service going up and
//! down every few checks sends at most its rule's flap limit and shows
//! flapping.

mod support;

use std::process::Command;
use std::time::Duration;

use lightbulb_testkit::receivers::{HttpReceiver, SmtpSink};
use serde_json::{Value, json};
use support::alerts::*;
use support::{Proc, eventually, get_json, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_sends_one_notification_naming_its_ten_dependants() {
    let Some(smtp) = SmtpSink::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hook = HttpReceiver::start(dir.path(), SECRET);
    let db_port = support::free_port();
    let mut db = database(db_port);
    let s = setup(dir.path(), db_port, &hook, Some(&smtp)).await;
    let apps: Vec<String> = (0..10).map(|i| format!("app-{i}")).collect();
    let mut all: Vec<&str> = apps.iter().map(String::as_str).collect();
    all.push("db");
    wait_status(&s, &all, "OK").await;

    // `cache` fails on its own from the start: its own notification.
    await_hooks(&hook, "cache", "firing", 1).await;

    db.kill();
    wait_status(&s, &all, "FAILED").await;
    await_hooks(&hook, "db", "firing", 1).await;
    // Up again until the test ends (a second outage would alert again).
    let _db = database(db_port);
    wait_status(&s, &all, "OK").await;
    settled(&s.client, &s.collector, &["cache"]).await;

    let firing = &hooks(&hook, "db", "firing")[0];
    let mut impacted: Vec<String> = serde_json::from_value(firing["impacted"].clone()).unwrap();
    impacted.sort();
    assert_eq!(impacted, apps, "{firing}");
    assert_eq!(firing["severity"], "critical");
    assert_eq!(firing["link"], "https://lightbulb.example.com/services/db");
    assert!(
        firing["subject"]
            .as_str()
            .unwrap()
            .contains("impacting 10 services"),
        "{firing}"
    );
    assert_eq!(
        hooks(&hook, "db", "resolved").len(),
        1,
        "one resolved notification"
    );
    for app in &apps {
        assert!(
            hooks(&hook, app, "firing").is_empty(),
            "{app} did not page on its own"
        );
        assert!(hooks(&hook, app, "resolved").is_empty());
    }
    assert_eq!(
        hook.requests().len(),
        3,
        "cache firing, db firing, db resolved: {:?}",
        hook.requests()
    );
    assert!(
        hook.requests().iter().all(|r| r["signature_valid"] == true),
        "every webhook is signed"
    );

    let mails = smtp.mails();
    let subjects: Vec<&str> = mails.iter().filter_map(|m| m["subject"].as_str()).collect();
    assert_eq!(mails.len(), 3, "{subjects:?}");
    let db_mail = mails
        .iter()
        .find(|m| {
            m["subject"]
                .as_str()
                .is_some_and(|t| t.starts_with("[FIRING critical] db: FAILED"))
        })
        .unwrap_or_else(|| panic!("{subjects:?}"));
    assert_eq!(db_mail["to"], json!(["ops@example.com"]));
    // Mail lines end in CRLF.
    let body = db_mail["body"].as_str().unwrap().replace("\r\n", "\n");
    for app in &apps {
        assert!(body.contains(&format!("- {app}\n")), "{body}");
    }
    assert!(
        body.contains("Open: https://lightbulb.example.com/services/db"),
        "{body}"
    );
    assert!(body.contains("Rule: Service down (critical)"), "{body}");
    assert!(
        subjects
            .iter()
            .any(|t| t.starts_with("[RESOLVED critical] db")),
        "{subjects:?}"
    );

    let (_, ns) = get_json(&s.client, &s.collector.url("/api/alerts/notifications")).await;
    let id = ns[0]["notification_id"].as_str().unwrap();
    let (_, attempts) = get_json(
        &s.client,
        &s.collector
            .url(&format!("/api/alerts/notifications/{id}/attempts")),
    )
    .await;
    assert_eq!(attempts[0]["ok"], true, "{attempts}");
    assert!(
        matches!(attempts[0]["code"].as_u64(), Some(200 | 250)),
        "{attempts}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_wait_out_a_receiver_outage_and_a_collector_kill_and_arrive_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut hook = HttpReceiver::start(dir.path(), SECRET);
    let db_port = support::free_port();
    let mut db = database(db_port);
    let mut s = setup(dir.path(), db_port, &hook, None).await;
    wait_status(&s, &["db"], "OK").await;
    await_hooks(&hook, "cache", "firing", 1).await;

    // The receiver answers 500, then is gone altogether.
    hook.answer_with(500);
    db.kill();
    eventually(
        Duration::from_secs(30),
        "a refused delivery of the db alert",
        || async {
            hook.requests()
                .iter()
                .any(|r| r["answered"] == 500 && r["body"]["service_id"] == "db")
                .then_some(())
        },
    )
    .await;
    let (_, ns) = get_json(&s.client, &s.collector.url("/api/alerts/notifications")).await;
    let queued = ns
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["message"]["service_id"] == "db")
        .cloned()
        .unwrap();
    assert_eq!(queued["delivery"], "queued", "{queued}");
    let id = queued["notification_id"].as_str().unwrap().to_string();
    let (_, attempts) = get_json(
        &s.client,
        &s.collector
            .url(&format!("/api/alerts/notifications/{id}/attempts")),
    )
    .await;
    assert_eq!(attempts[0]["code"], 500, "{attempts}");
    hook.stop();

    // Killed with the notification queued; started again on the same ports.
    let certs = dir.path().join("certs");
    s.collector.kill_and_restart(dir.path(), &certs);
    // Up again until the test ends (a second outage would alert again).
    let _db = database(db_port);
    hook.restart(dir.path());
    eventually(
        Duration::from_secs(60),
        "the db notification delivered",
        || async {
            hook.requests()
                .iter()
                .any(|r| {
                    r["answered"] == 200
                        && r["body"]["service_id"] == "db"
                        && r["body"]["event"] == "firing"
                })
                .then_some(())
        },
    )
    .await;
    wait_status(&s, &["db"], "OK").await;
    settled(&s.client, &s.collector, &["cache"]).await;
    let delivered = |event: &str| {
        hook.requests()
            .iter()
            .filter(|r| {
                r["answered"] == 200
                    && r["body"]["service_id"] == "db"
                    && r["body"]["event"] == event
            })
            .count()
    };
    assert_eq!(delivered("firing"), 1, "{:?}", hook.requests());
    assert_eq!(delivered("resolved"), 1, "{:?}", hook.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_escalates_until_acknowledged_by_its_link_and_resumes_when_taken_back() {
    let dir = tempfile::tempdir().unwrap();
    let hook = HttpReceiver::start(dir.path(), SECRET);
    let db_port = support::free_port();
    let _db = database(db_port);
    let s = setup(dir.path(), db_port, &hook, None).await;
    let (code, body) = send(
        &s.client,
        reqwest::Method::PUT,
        s.collector.url("/api/alerts/rules/down"),
        json!({"name": "Service down", "severity": "critical", "for": "1s",
               "condition": {"kind": "status", "statuses": ["FAILED"]}, "channels": ["hook"],
               "scope": {"services": ["cache"]},
               "escalation": [{"after": "2s", "channels": ["hook"]}, {"after": "6s", "channels": ["hook"]}]}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let firing = eventually(Duration::from_secs(30), "cache's notification", || async {
        hooks(&hook, "cache", "firing").into_iter().next()
    })
    .await;
    await_hooks(&hook, "cache", "escalated", 1).await;

    // The link in the notification, as a person's click would use it.
    let link = url::Url::parse(firing["acknowledge_link"].as_str().unwrap()).unwrap();
    assert_eq!(link.path(), "/alerts/acknowledge");
    let q: std::collections::HashMap<String, String> = link.query_pairs().into_owned().collect();
    let alert_id = &q["alert"];
    let ack = |signature: String, expires: i64| {
        let url = s
            .collector
            .url(&format!("/api/alerts/{alert_id}/acknowledge-link"));
        let client = s.client.clone();
        async move {
            client
                .post(url)
                .json(&json!({"expires": expires, "signature": signature}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let expires: i64 = q["expires"].parse().unwrap();
    assert_eq!(
        ack("0".repeat(64), expires).await,
        403,
        "a forged signature"
    );
    assert_eq!(
        ack(q["signature"].clone(), expires + 1).await,
        403,
        "a changed expiry"
    );
    // Found by schemathesis: an expiry this far out once overflowed.
    assert_eq!(
        ack(q["signature"].clone(), i64::MAX - 1).await,
        403,
        "an expiry past any time"
    );
    assert_eq!(ack(q["signature"].clone(), expires).await, 202);
    let acknowledged = eventually(
        Duration::from_secs(10),
        "the alert acknowledged",
        || async {
            let (_, alerts) =
                get_json(&s.client, &s.collector.url("/api/alerts?state=firing")).await;
            alerts
                .as_array()?
                .iter()
                .find(|a| {
                    a["alert_id"] == alert_id.as_str()
                        && a["acknowledged_by"] == "link:notification"
                })
                .cloned()
        },
    )
    .await;
    // Past the second step's time, nothing more came.
    let fired = acknowledged["fired_ms"].as_i64().unwrap();
    eventually(
        Duration::from_secs(15),
        "the second step's time to pass",
        || async { (lightbulb_common::time::now_ms() > fired + 7_000).then_some(()) },
    )
    .await;
    assert_eq!(
        hooks(&hook, "cache", "escalated").len(),
        1,
        "no escalation while acknowledged"
    );

    let r = s
        .client
        .post(
            s.collector
                .url(&format!("/api/alerts/{alert_id}/unacknowledge")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    await_hooks(&hook, "cache", "escalated", 2).await;
    let (_, audit) = get_json(
        &s.client,
        &s.collector.url("/api/audit?action=acknowledge%20alert"),
    )
    .await;
    assert_eq!(audit["records"][0]["actor"], "link:notification", "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_window_records_what_it_holds_back_and_the_alert_notifies_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let hook = HttpReceiver::start(dir.path(), SECRET);
    let db_port = support::free_port();
    let mut db = database(db_port);
    let s = setup(dir.path(), db_port, &hook, None).await;
    for (body, field) in [
        (
            json!({"matchers": {"services": ["db"]}, "recurring": {"cron": "0 25 * * *", "duration": "1h"}}),
            "recurring.cron",
        ),
        (
            json!({"matchers": {"services": ["db"]}, "recurring": {"cron": "0 2 * * SAT", "duration": "1h", "timezone": "Mars/Olympus"}}),
            "recurring.timezone",
        ),
        (json!({"matchers": {}, "duration": "1h"}), "matchers"),
        (
            json!({"matchers": {"services": ["db"]}, "starts": "yesterday", "duration": "1h"}),
            "starts",
        ),
    ] {
        let (code, got) = s.post("/api/alerts/silences", body).await;
        assert_eq!(code, 422, "{got}");
        assert_eq!(got["error"]["field"], field, "{got}");
    }
    let (code, window) = s.post(
        "/api/alerts/silences",
        json!({"silence_id": "db-upgrade", "comment": "upgrading the database", "maintenance": true,
               "matchers": {"services": ["db"]}, "duration": "1h"}),
    )
    .await;
    assert_eq!(code, 201, "{window}");
    assert_eq!(window["open"], true);
    wait_status(&s, &["db"], "OK").await;

    db.kill();
    let held = eventually(
        Duration::from_secs(30),
        "the db alert held back",
        || async {
            let (_, ns) = get_json(&s.client, &s.collector.url("/api/alerts/notifications")).await;
            ns.as_array()?
                .iter()
                .find(|n| n["message"]["service_id"] == "db" && n["delivery"] == "suppressed")
                .cloned()
        },
    )
    .await;
    assert_eq!(held["message"]["event"], "firing", "{held}");
    let (_, alerts) = get_json(
        &s.client,
        &s.collector.url("/api/alerts?service_id=db&state=firing"),
    )
    .await;
    assert_eq!(alerts[0]["silenced_by"], "db-upgrade", "{alerts}");
    assert!(
        hooks(&hook, "db", "firing").is_empty(),
        "nothing sent while in maintenance"
    );

    // The window is closed early with the database still down: notified now.
    let r = s
        .client
        .delete(s.collector.url("/api/alerts/silences/db-upgrade"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    await_hooks(&hook, "db", "firing", 1).await;
    let (_, audit) = get_json(&s.client, &s.collector.url("/api/audit?object=db-upgrade")).await;
    let actions: Vec<&str> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["delete silence", "create maintenance window"],
        "{audit}"
    );
}

/// A TCP service on `port` that is up and down in turn, `period` each.
fn flapping_service(port: u16, period: Duration) -> Proc {
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-c", "import socket, sys, time\nport, period = int(sys.argv[1]), float(sys.argv[2])\nprint('flapping', flush=True)\nwhile True:\n    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n    s.bind(('127.0.0.1', port)); s.listen(64); s.settimeout(0.05)\n    end = time.time() + period\n    while time.time() < end:\n        try: s.accept()[0].close()\n        except OSError: pass\n    s.close(); time.sleep(period)"])
        .arg(port.to_string())
        .arg(period.as_secs_f64().to_string());
    let p = Proc::spawn("flapping service", cmd);
    p.wait_for_line("flapping", Duration::from_secs(20));
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_service_sends_at_most_its_limit_and_shows_flapping() {
    let dir = tempfile::tempdir().unwrap();
    let hook = HttpReceiver::start(dir.path(), SECRET);
    let db_port = support::free_port();
    let _db = database(db_port);
    let s = setup(dir.path(), db_port, &hook, None).await;
    let port = support::free_port();
    let _flapping = flapping_service(port, Duration::from_millis(700));
    let (code, body) = send(
        &s.client,
        reqwest::Method::POST,
        s.collector.url("/api/admin/services"),
        json!({"service_id": "flappy", "label": "flappy", "service_type": "api_endpoint", "labels": {"role": "alerting"},
               "status_config": {"url": format!("tcp://127.0.0.1:{port}"), "interval": "300ms"}}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = send(
        &s.client,
        reqwest::Method::PUT,
        s.collector.url("/api/alerts/rules/down"),
        json!({"condition": {"kind": "status", "statuses": ["FAILED"]}, "scope": {"services": ["flappy"]},
               "channels": ["hook"], "flap_limit": 2, "flap_window": "10m"}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    // It goes on failing and recovering; past two notifications it is flapping.
    let flapping = eventually(
        Duration::from_secs(30),
        "an alert shown flapping",
        || async {
            let (_, alerts) =
                get_json(&s.client, &s.collector.url("/api/alerts?service_id=flappy")).await;
            alerts
                .as_array()?
                .iter()
                .find(|a| a["flapping"] == true)
                .cloned()
        },
    )
    .await;
    assert_eq!(flapping["rule_id"], "down");
    let changes = |alerts: &Value| alerts.as_array().map_or(0, Vec::len);
    let (_, alerts) = get_json(&s.client, &s.collector.url("/api/alerts?service_id=flappy")).await;
    let seen = changes(&alerts);
    // Let it flap on for several more alerts.
    eventually(Duration::from_secs(30), "more flaps", || async {
        let (_, alerts) =
            get_json(&s.client, &s.collector.url("/api/alerts?service_id=flappy")).await;
        (changes(&alerts) >= seen + 4).then_some(())
    })
    .await;
    let sent = hook
        .requests()
        .iter()
        .filter(|r| r["body"]["service_id"] == "flappy")
        .count();
    assert!(
        sent <= 2,
        "at most flap_limit notifications: {:?}",
        hook.requests()
    );
    assert!(sent >= 1, "the first failure was notified");
}
