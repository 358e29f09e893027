//! What each chat and incident service is sent, through the real collector
//! and agent: Slack's message checked against Block Kit's rules, the Teams
//! card by the Adaptive Cards SDK (npm adaptivecards), PagerDuty's events
//! captured by a real HTTP receiver, and ServiceNow's Table API calls by a
//! stand-in (no real instance can run here).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lightbulb_testkit::receivers::HttpReceiver;
use serde_json::{Value, json};
use support::alerts::*;
use support::{eventually, get_json, send};

/// Block Kit's rules for an incoming-webhook message, as Slack documents
/// them: fallback text, at most 50 blocks of known types, header text
/// plain and at most 150 characters, section text at most 3000 and at most
/// 10 fields of 2000, buttons with plain text of at most 75 and a URL.
fn check_block_kit(message: &Value) {
    assert!(
        message["text"].as_str().is_some_and(|t| !t.is_empty()),
        "fallback text: {message}"
    );
    let blocks = message["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty() && blocks.len() <= 50, "{message}");
    let text_ok = |t: &Value, max: usize, kinds: &[&str]| {
        kinds.contains(&t["type"].as_str().unwrap_or_default())
            && t["text"]
                .as_str()
                .is_some_and(|s| !s.is_empty() && s.chars().count() <= max)
    };
    for b in blocks {
        match b["type"].as_str().unwrap_or_default() {
            "header" => assert!(text_ok(&b["text"], 150, &["plain_text"]), "{b}"),
            "section" => {
                assert!(b.get("text").is_some() || b.get("fields").is_some(), "{b}");
                if let Some(t) = b.get("text") {
                    assert!(text_ok(t, 3000, &["mrkdwn", "plain_text"]), "{b}");
                }
                if let Some(fields) = b.get("fields") {
                    let fields = fields.as_array().unwrap();
                    assert!(!fields.is_empty() && fields.len() <= 10, "{b}");
                    for f in fields {
                        assert!(text_ok(f, 2000, &["mrkdwn", "plain_text"]), "{b}");
                    }
                }
            }
            "actions" => {
                let elements = b["elements"].as_array().unwrap();
                assert!(!elements.is_empty() && elements.len() <= 25, "{b}");
                for e in elements {
                    assert_eq!(e["type"], "button", "{b}");
                    assert!(text_ok(&e["text"], 75, &["plain_text"]), "{b}");
                    let url = e["url"].as_str().unwrap_or_default();
                    assert!(url.starts_with("http") && url.len() <= 3000, "{b}");
                }
            }
            other => panic!("block type `{other}` is not one a message uses: {b}"),
        }
    }
}

/// The Teams message through the Adaptive Cards SDK (npm adaptivecards,
/// in jsdom): parsed without warnings, valid, rendered.
fn check_adaptive_card(dir: &Path, message: &Value) {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    let installed = web.join("node_modules/adaptivecards").exists();
    if !lightbulb_testkit::peer_enabled("npm adaptivecards (web/node_modules)", "WEB", installed) {
        return;
    }
    let file = dir.join("teams-message.json");
    std::fs::write(&file, message.to_string()).unwrap();
    let out = Command::new("node")
        .current_dir(&web)
        .arg("scripts/validate-card.mjs")
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "{report}");
    assert_eq!(report["problems"], json!([]), "{report}");
    assert!(report["elements"].as_u64().unwrap() >= 2, "{report}");
    assert!(report["actions"].as_u64().unwrap() >= 1, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_teams_pagerduty_and_servicenow_get_what_their_services_accept() {
    let dir = tempfile::tempdir().unwrap();
    let hook = HttpReceiver::start(dir.path(), SECRET);
    let chat = HttpReceiver::start(dir.path(), "unused");
    let servicenow = lightbulb_testkit::receivers::ServiceNowTable::start();
    let db_port = support::free_port();
    let mut db = database(db_port);
    let s = setup(dir.path(), db_port, &hook, None).await;
    let routing_key = "R0123456789abcdefghijklmnopqrstu";
    for channel in [
        json!({"channel_id": "slack", "kind": "slack", "url": chat.url("/slack")}),
        json!({"channel_id": "teams", "kind": "teams", "url": chat.url("/teams")}),
        json!({"channel_id": "pd", "kind": "pagerduty", "routing_key": routing_key, "url": chat.url("/pd")}),
        json!({"channel_id": "snow", "kind": "servicenow", "instance": format!("http://127.0.0.1:{}", servicenow.port),
               "username": "lightbulb", "password": "snow-pass"}),
    ] {
        let (code, body) = s.post("/api/alerts/channels", channel).await;
        assert_eq!(code, 201, "{body}");
        assert!(
            !body.to_string().contains("snow-pass") && !body.to_string().contains(routing_key),
            "{body}"
        );
    }
    let (code, body) = send(
        &s.client,
        reqwest::Method::PUT,
        s.collector.url("/api/alerts/rules/down"),
        json!({"severity": "critical", "for": "1s", "condition": {"kind": "status", "statuses": ["FAILED"]},
               "scope": {"services": ["db"]}, "channels": ["slack", "teams", "pd", "snow"]}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    wait_status(&s, &["db"], "OK").await;
    db.kill();
    eventually(
        Duration::from_secs(30),
        "the firing on every channel",
        || async {
            let paths: Vec<String> = chat
                .requests()
                .iter()
                .map(|r| r["path"].as_str().unwrap_or_default().to_string())
                .collect();
            let created = servicenow.requests().iter().any(|r| r["method"] == "POST");
            (["/slack", "/teams", "/pd"]
                .iter()
                .all(|p| paths.iter().any(|x| x == p))
                && created)
                .then_some(())
        },
    )
    .await;
    // Up again until the test ends (a second outage would alert again).
    let _db = database(db_port);
    eventually(
        Duration::from_secs(30),
        "the resolution on every channel",
        || async {
            let resolved = servicenow
                .requests()
                .iter()
                .any(|r| r["method"] == "PATCH" && r["body"]["state"] == "6");
            let pd = chat
                .requests()
                .iter()
                .filter(|r| r["path"] == "/pd")
                .count();
            (resolved && pd == 2).then_some(())
        },
    )
    .await;

    let sent = |path: &str| -> Vec<Value> {
        chat.requests()
            .into_iter()
            .filter(|r| r["path"] == path)
            .map(|r| r["body"].clone())
            .collect()
    };
    let slack = sent("/slack");
    assert_eq!(slack.len(), 2, "firing and resolved");
    for m in &slack {
        check_block_kit(m);
    }
    assert!(
        slack[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING critical] db"),
        "{}",
        slack[0]
    );
    assert!(
        slack[0].to_string().contains("Acknowledge"),
        "a one-click button: {}",
        slack[0]
    );
    for m in sent("/teams") {
        check_adaptive_card(dir.path(), &m);
    }
    let pd = sent("/pd");
    assert_eq!(pd[0]["event_action"], "trigger");
    assert_eq!(pd[0]["routing_key"], routing_key);
    assert_eq!(pd[0]["payload"]["severity"], "critical");
    assert_eq!(pd[0]["payload"]["source"], "db");
    assert!(
        pd[0]["payload"]["summary"]
            .as_str()
            .unwrap()
            .contains("db: FAILED"),
        "{}",
        pd[0]
    );
    assert_eq!(pd[1]["event_action"], "resolve");
    assert_eq!(
        pd[1]["dedup_key"], pd[0]["dedup_key"],
        "the resolution closes the incident it opened"
    );

    let snow = servicenow.requests();
    let created: Vec<&Value> = snow.iter().filter(|r| r["method"] == "POST").collect();
    assert_eq!(created.len(), 1, "one incident: {snow:?}");
    assert!(
        snow.iter().all(|r| r["user"] == "lightbulb:snow-pass"),
        "basic auth: {snow:?}"
    );
    assert_eq!(created[0]["body"]["correlation_id"], pd[0]["dedup_key"]);
    assert_eq!(created[0]["body"]["urgency"], "1");
    let (_, ns) = get_json(&s.client, &s.collector.url("/api/alerts/notifications")).await;
    let ticket = ns
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["channel_id"] == "snow" && n["message"]["event"] == "firing")
        .unwrap();
    assert_eq!(ticket["reference"], "INC0010001", "{ticket}");
}
