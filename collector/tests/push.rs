//! Web Push as a subscribed browser meets it: subscriptions through the
//! API, then a real agent's check failing. Pushes go to a stand-in push
//! service (the browsers' own are out of reach here) that decrypts each
//! with Mozilla's http_ece and verifies the VAPID token
//! (`lightbulb_testkit::receivers::PushService`).

mod support;

use std::time::Duration;

use lightbulb_testkit::receivers::{HttpReceiver, PushService};
use serde_json::{Value, json};
use support::alerts::*;
use support::{eventually, get_json, send};

/// Subscribes the push service's new browser `name` for `services`.
async fn subscribe(s: &Setup, ps: &PushService, name: &str, services: Value) -> (u16, Value) {
    let (_, mut sub) = get_json(&s.client, &ps.url(&format!("/subscribe/{name}"))).await;
    sub["services"] = services;
    sub["label"] = json!(name);
    let url = s.collector.url("/api/push/subscriptions");
    send(&s.client, reqwest::Method::PUT, url, sub).await
}

fn pushes_to(ps: &PushService, browser: &str) -> Vec<Value> {
    ps.pushes()
        .into_iter()
        .filter(|p| p["browser"] == browser)
        .collect()
}

/// How many status changes a push tells of ("8 services changed: …" or one).
fn changes_in(push: &Value) -> usize {
    let title = push["message"]["title"].as_str().unwrap_or_default();
    match title.split_once(" services changed") {
        Some((n, _)) => n.parse().unwrap(),
        None => 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribed_browsers_get_their_services_changes_and_rule_alerts_encrypted_and_signed() {
    let Some(ps) = PushService::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hook = HttpReceiver::start(dir.path(), SECRET);
    let db_port = support::free_port();
    let mut db = database(db_port);
    let s = setup(dir.path(), db_port, &hook, None).await;
    let (code, key) = get_json(&s.client, &s.collector.url("/api/push/key")).await;
    assert_eq!(code, 200);
    let public_key = key["public_key"].as_str().unwrap().to_string();

    let (code, body) = subscribe(&s, &ps, "db-phone", json!(["db"])).await;
    assert_eq!(code, 201, "{body}");
    let db_phone = body["subscription_id"].as_str().unwrap().to_string();
    let (code, body) = subscribe(&s, &ps, "everything", json!([])).await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = subscribe(&s, &ps, "gone", json!(["db"])).await;
    assert_eq!(code, 201, "{body}");
    let gone = body["subscription_id"].as_str().unwrap().to_string();
    get_json(&s.client, &ps.url("/answer/gone/410")).await;
    // Bad input names the field.
    let (code, body) = subscribe(&s, &ps, "bad", json!(["no such id!"])).await;
    assert_eq!(
        (code, body["error"]["field"].as_str()),
        (422, Some("services")),
        "{body}"
    );
    let (code, body) = send(
        &s.client,
        reqwest::Method::PUT,
        s.collector.url("/api/push/subscriptions"),
        json!({"endpoint": "http://push.example.net/x", "keys": {"p256dh": "x", "auth": "y"}}),
    )
    .await;
    assert_eq!(
        (code, body["error"]["field"].as_str()),
        (422, Some("endpoint")),
        "{body}"
    );

    // A rule's web_push channel reaches the browsers following the service.
    let (code, body) = s
        .post(
            "/api/alerts/channels",
            json!({"channel_id": "phones", "kind": "web_push"}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = s
        .post(
            "/api/alerts/rules",
            json!({"rule_id": "db-push", "name": "Database down", "severity": "critical", "for": "1s",
                   "condition": {"kind": "status", "statuses": ["FAILED"]},
                   "scope": {"services": ["db"]}, "channels": ["phones"]}),
        )
        .await;
    assert_eq!(code, 201, "{body}");

    // Every service OK first: a first result is not a change, and is not pushed.
    let all: Vec<String> = (0..10)
        .map(|i| format!("app-{i}"))
        .chain(["db".into()])
        .collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    wait_status(&s, &all, "OK").await;
    db.kill();
    let (status, alert) = eventually(
        Duration::from_secs(30),
        "the change and the alert pushed to db-phone",
        || async {
            let got = pushes_to(&ps, "db-phone");
            let tagged = |prefix: &str| {
                got.iter()
                    .find(|p| {
                        p["message"]["tag"]
                            .as_str()
                            .is_some_and(|t| t.starts_with(prefix))
                    })
                    .cloned()
            };
            Some((tagged("status:")?, tagged("alert:")?))
        },
    )
    .await;
    let change = &status["message"];
    assert_eq!(change["title"], "db is FAILED", "{status}");
    assert!(
        change["body"].as_str().unwrap().starts_with("was OK: "),
        "{status}"
    );
    assert_eq!(change["url"], "/services/db");
    assert_eq!(
        alert["message"]["title"],
        "[FIRING critical] db: FAILED, impacting 10 services"
    );
    assert_eq!(
        alert["message"]["url"],
        "https://lightbulb.example.com/services/db"
    );
    for p in [&status, &alert] {
        assert_eq!(p["vapid_valid"], true, "{p}");
        assert_eq!(p["vapid_key"], public_key.as_str());
        assert_eq!(p["jwt_header"], json!({"typ": "JWT", "alg": "ES256"}));
        assert_eq!(p["claims"]["aud"], format!("http://127.0.0.1:{}", ps.port));
        assert_eq!(p["claims"]["sub"], "mailto:lightbulb@localhost");
        assert_eq!(
            (
                p["encoding"].as_str(),
                p["ttl"].as_str(),
                p["urgency"].as_str()
            ),
            (Some("aes128gcm"), Some("86400"), Some("high")),
            "{p}"
        );
    }
    // Every change reaches the browser following everything, gathered.
    eventually(
        Duration::from_secs(30),
        "db and the ten apps' changes pushed to everything",
        || async {
            let n: usize = pushes_to(&ps, "everything")
                .iter()
                .filter(|p| {
                    p["message"]["tag"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("status:"))
                })
                .map(changes_in)
                .sum();
            (n >= 11).then_some(())
        },
    )
    .await;
    let everything = pushes_to(&ps, "everything");
    assert!(
        everything
            .iter()
            .any(|p| p["message"]["tag"] == "status:many"),
        "changes of the same moment are summed up: {everything:?}"
    );
    // db-phone follows db alone: no app's change reached it.
    assert!(
        pushes_to(&ps, "db-phone")
            .iter()
            .all(|p| !p["message"]["title"].as_str().unwrap().contains("app-")),
        "{:?}",
        pushes_to(&ps, "db-phone")
    );
    // A browser its push service says is gone is unsubscribed.
    eventually(
        Duration::from_secs(30),
        "the gone browser unsubscribed",
        || async {
            let (_, mine) = get_json(&s.client, &s.collector.url("/api/push/subscriptions")).await;
            let ids: Vec<&str> = mine
                .as_array()?
                .iter()
                .filter_map(|m| m["subscription_id"].as_str())
                .collect();
            (!ids.contains(&gone.as_str()) && ids.contains(&db_phone.as_str())).then_some(())
        },
    )
    .await;
    assert!(!pushes_to(&ps, "gone").is_empty());

    // The test button, and how the last push went.
    let (code, outcome) = s
        .post(
            &format!("/api/push/subscriptions/{db_phone}/test"),
            json!({}),
        )
        .await;
    assert_eq!(
        (code, &outcome["ok"], &outcome["code"]),
        (200, &json!(true), &json!(201)),
        "{outcome}"
    );
    assert!(
        pushes_to(&ps, "db-phone")
            .iter()
            .any(|p| p["message"]["title"] == "lightbulb test notification")
    );
    let (_, mine) = get_json(&s.client, &s.collector.url("/api/push/subscriptions")).await;
    let listed = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["subscription_id"] == db_phone.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (&listed["label"], &listed["last_push"]["ok"]),
        (&json!("db-phone"), &json!(true))
    );

    // Unsubscribing is audited, without the browser's keys or push URL.
    let url = s
        .collector
        .url(&format!("/api/push/subscriptions/{db_phone}"));
    let code = s.client.delete(url).send().await.unwrap().status();
    assert_eq!(code, 204);
    let (_, audit) = get_json(&s.client, &s.collector.url("/api/audit")).await;
    let text = audit.to_string();
    assert!(
        text.contains("subscribe to pushes") && text.contains("unsubscribe from pushes"),
        "{text}"
    );
    assert!(
        !text.contains("p256dh") && !text.contains("/push/db-phone"),
        "{text}"
    );
}
