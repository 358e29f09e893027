//! Alerting end to end with real parts: the collector and agent binaries,
//! a real TCP service (a Python listener) standing for a database with ten
//! dependants whose checks fail with it, a real SMTP server (aiosmtpd) and
//! a real HTTP receiver (Python) for the webhook. A database outage sends
//! one notification naming the ten, and one when it recovers; a service
//! failing on its own sends its own. A receiver that is down, or a
//! collector killed meanwhile, delays notifications but loses none and
//! doubles none.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lightbulb_testkit::receivers::{HttpReceiver, SmtpSink};
use serde_json::{Value, json};
use support::{
    Collector, Proc, StoreSpec, agent_bin, agent_config, certs, eventually, get_json, http,
};

const SECRET: &str = "hook-secret";

/// A TCP listener on `port` (accepting and closing), standing for the database.
fn database(port: u16) -> Proc {
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-c", "import socket, sys\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('127.0.0.1', int(sys.argv[1])))\ns.listen(64)\nprint('db up', flush=True)\nwhile True:\n    c, _ = s.accept()\n    c.close()"])
        .arg(port.to_string());
    let p = Proc::spawn("database", cmd);
    p.wait_for_line("db up", Duration::from_secs(20));
    p
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Value,
) -> (u16, Value) {
    let r = client
        .request(method, url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let code = r.status().as_u16();
    (code, r.json().await.unwrap_or(Value::Null))
}

struct Setup {
    collector: Collector,
    _agent: Proc,
    client: reqwest::Client,
}

/// A collector and an agent; `db` and `app-0`..`app-9` (each checking the
/// database's port, and depending on `db`) and `cache` (checking a closed
/// port); channels `hook` (the receiver) and, with `smtp`, `mail`; rule
/// `down` (FAILED for 1 s) notifying them.
async fn setup(dir: &Path, db_port: u16, hook: &HttpReceiver, smtp: Option<&SmtpSink>) -> Setup {
    let certs = certs(dir, &["node-a"]);
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let collector = Collector::start_on(
        dir,
        &certs,
        any,
        any,
        StoreSpec::Sqlite(dir.join("data/lightbulb.db")),
        "[alerting]\ninterval = \"200ms\"\ndashboard_url = \"https://lightbulb.example.com\"\n",
    );
    let config = agent_config(
        dir,
        &certs,
        "node-a",
        collector.grpc,
        "[labels]\nrole = \"alerting\"\n",
    );
    let mut cmd = Command::new(agent_bin());
    cmd.arg("--config").arg(&config);
    let agent = Proc::spawn("agent", cmd);
    let client = http();
    let post =
        |path: &str, body: Value| send(&client, reqwest::Method::POST, collector.url(path), body);
    let closed = support::free_port();
    let service = |id: String, port: u16| {
        json!({"service_id": id, "label": id, "service_type": "api_endpoint", "labels": {"role": "alerting"},
               "status_config": {"url": format!("tcp://127.0.0.1:{port}"), "interval": "300ms"}})
    };
    let mut services = vec![
        service("db".into(), db_port),
        service("cache".into(), closed),
    ];
    services.extend((0..10).map(|i| service(format!("app-{i}"), db_port)));
    for s in services {
        let (code, body) = post("/api/admin/services", s).await;
        assert_eq!(code, 201, "{body}");
    }
    for i in 0..10 {
        let (code, body) = post(
            "/api/admin/relations",
            json!({"source_service_id": format!("app-{i}"), "target_service_id": "db", "relation_type": "dependency"}),
        )
        .await;
        assert_eq!(code, 201, "{body}");
    }
    let (code, body) = post(
        "/api/alerts/channels",
        json!({"channel_id": "hook", "kind": "webhook", "url": hook.url("/lightbulb"), "secret": SECRET}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["target"]["secret"], "<redacted>");
    let mut channels = vec!["hook"];
    if let Some(smtp) = smtp {
        let (code, body) = post(
            "/api/alerts/channels",
            json!({"channel_id": "mail", "kind": "email", "host": "127.0.0.1", "port": smtp.port,
                   "tls": "none", "from": "lightbulb@example.com", "to": ["ops@example.com"]}),
        )
        .await;
        assert_eq!(code, 201, "{body}");
        channels.push("mail");
    }
    let (code, body) = post(
        "/api/alerts/rules",
        json!({"rule_id": "down", "name": "Service down", "severity": "critical", "for": "1s",
               "condition": {"kind": "status", "statuses": ["FAILED"]}, "channels": channels}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    Setup {
        collector,
        _agent: agent,
        client,
    }
}

/// Webhook bodies for `service_id` and `event`.
fn hooks(hook: &HttpReceiver, service_id: &str, event: &str) -> Vec<Value> {
    hook.requests()
        .into_iter()
        .map(|r| r["body"].clone())
        .filter(|b| b["service_id"] == service_id && b["event"] == event)
        .collect()
}

async fn statuses(s: &Setup) -> Value {
    get_json(&s.client, &s.collector.url("/api/status")).await.1
}

async fn wait_status(s: &Setup, ids: &[&str], want: &str) {
    eventually(
        Duration::from_secs(30),
        &format!("{ids:?} {want}"),
        || async {
            let all = statuses(s).await;
            let list = all.as_array().cloned().unwrap_or_default();
            ids.iter()
                .all(|id| {
                    list.iter()
                        .any(|x| x["service_id"] == *id && x["status"] == want)
                })
                .then_some(())
        },
    )
    .await;
}

/// Waits until no alert is pending or firing but those of `still`, and
/// the outbox has nothing queued: every notification is decided and sent.
async fn settled(client: &reqwest::Client, collector: &Collector, still: &[&str]) {
    eventually(
        Duration::from_secs(30),
        "alerts and the outbox settled",
        || async {
            let (_, alerts) = get_json(client, &collector.url("/api/alerts")).await;
            let open_ok = alerts
                .as_array()?
                .iter()
                .all(|a| a["state"] == "resolved" || still.iter().any(|id| a["service_id"] == *id));
            let (_, ns) = get_json(client, &collector.url("/api/alerts/notifications")).await;
            let sent = ns.as_array()?.iter().all(|n| n["delivery"] == "sent");
            (open_ok && sent).then_some(())
        },
    )
    .await;
}

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
    eventually(
        Duration::from_secs(30),
        "cache's own notification",
        || async { (hooks(&hook, "cache", "firing").len() == 1).then_some(()) },
    )
    .await;

    db.kill();
    wait_status(&s, &all, "FAILED").await;
    eventually(
        Duration::from_secs(30),
        "the database's notification",
        || async { (hooks(&hook, "db", "firing").len() == 1).then_some(()) },
    )
    .await;
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
    eventually(Duration::from_secs(30), "cache's notification", || async {
        (hooks(&hook, "cache", "firing").len() == 1).then_some(())
    })
    .await;

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
async fn bad_rules_and_channels_are_refused_naming_the_field() {
    let server = support::InProcess::start(&[]).await;
    let client = http();
    let post =
        |path: &str, body: Value| send(&client, reqwest::Method::POST, server.url(path), body);
    for (body, field, says) in [
        (
            json!({"rule_id": "r", "condition": {"kind": "metric"}}),
            "condition.kind",
            "metric",
        ),
        (
            json!({"rule_id": "r", "condition": {"kind": "status", "statuses": ["BROKEN"]}}),
            "condition.statuses[0]",
            "BROKEN",
        ),
        (
            json!({"rule_id": "r", "condition": {"kind": "status", "statuses": ["FAILED"]}, "for": "soon"}),
            "for",
            "",
        ),
        (
            json!({"rule_id": "r", "condition": {"kind": "status", "statuses": ["FAILED"]}, "channels": ["nope"]}),
            "channels[0]",
            "no channel `nope`",
        ),
        (
            json!({"rule_id": "r", "condition": {"kind": "status", "statuses": ["FAILED"]}, "scope": {"service_types": ["mainframe"]}}),
            "scope.service_types[0]",
            "mainframe",
        ),
        (
            json!({"rule_id": "Bad Id", "condition": {"kind": "status", "statuses": ["FAILED"]}}),
            "rule_id",
            "",
        ),
    ] {
        let (code, got) = post("/api/alerts/rules", body).await;
        assert_eq!(code, 422, "{got}");
        assert_eq!(got["error"]["field"], field, "{got}");
        assert!(
            got["error"]["message"].as_str().unwrap().contains(says),
            "{got}"
        );
    }
    for (body, field) in [
        (json!({"channel_id": "c", "kind": "pager"}), "kind"),
        (
            json!({"channel_id": "c", "kind": "webhook", "url": "ftp://x"}),
            "url",
        ),
        (
            json!({"channel_id": "c", "kind": "email", "host": "h", "from": "not an address", "to": ["a@b.c"]}),
            "from",
        ),
        (
            json!({"channel_id": "c", "kind": "email", "host": "h", "from": "a@b.c", "to": []}),
            "to",
        ),
        (
            json!({"channel_id": "c", "kind": "email", "host": "h", "port": 70000, "from": "a@b.c", "to": ["a@b.c"]}),
            "port",
        ),
    ] {
        let (code, got) = post("/api/alerts/channels", body).await;
        assert_eq!(code, 422, "{got}");
        assert_eq!(got["error"]["field"], field, "{got}");
    }
    // An unreachable SMTP server: the test says so, and the log keeps it.
    let dead = support::free_port();
    let (code, _) = post(
        "/api/alerts/channels",
        json!({"channel_id": "mail", "kind": "email", "host": "127.0.0.1", "port": dead, "tls": "none",
               "from": "lightbulb@example.com", "to": ["ops@example.com"]}),
    )
    .await;
    assert_eq!(code, 201);
    let r = client
        .post(server.url("/api/alerts/channels/mail/test"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{dead}")),
        "{answer}"
    );
    // A channel a rule uses cannot be deleted.
    let (code, _) = post(
        "/api/alerts/rules",
        json!({"rule_id": "r", "condition": {"kind": "status", "statuses": ["FAILED"]}, "channels": ["mail"]}),
    )
    .await;
    assert_eq!(code, 201);
    let r = client
        .delete(server.url("/api/alerts/channels/mail"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let got: Value = r.json().await.unwrap();
    assert!(
        got["error"]["message"].as_str().unwrap().contains("r"),
        "{got}"
    );
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
    eventually(Duration::from_secs(30), "the first escalation", || async {
        (hooks(&hook, "cache", "escalated").len() == 1).then_some(())
    })
    .await;

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
    eventually(
        Duration::from_secs(10),
        "the overdue step after taking it back",
        || async { (hooks(&hook, "cache", "escalated").len() == 2).then_some(()) },
    )
    .await;
    let (_, audit) = get_json(
        &s.client,
        &s.collector.url("/api/audit?action=acknowledge%20alert"),
    )
    .await;
    assert_eq!(audit["records"][0]["actor"], "link:notification", "{audit}");
}

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
    let post = |path: &str, body: Value| {
        send(
            &s.client,
            reqwest::Method::POST,
            s.collector.url(path),
            body,
        )
    };
    let routing_key = "R0123456789abcdefghijklmnopqrstu";
    for channel in [
        json!({"channel_id": "slack", "kind": "slack", "url": chat.url("/slack")}),
        json!({"channel_id": "teams", "kind": "teams", "url": chat.url("/teams")}),
        json!({"channel_id": "pd", "kind": "pagerduty", "routing_key": routing_key, "url": chat.url("/pd")}),
        json!({"channel_id": "snow", "kind": "servicenow", "instance": format!("http://127.0.0.1:{}", servicenow.port),
               "username": "lightbulb", "password": "snow-pass"}),
    ] {
        let (code, body) = post("/api/alerts/channels", channel).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_send_each_notification_once_when_the_evaluating_one_is_killed() {
    let Some(server) = support::clickhouse::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path(), &["node-a"]);
    let hook = HttpReceiver::start(dir.path(), SECRET);
    let db_port = support::free_port();
    let mut db = database(db_port);
    let store = StoreSpec::ClickHouse {
        url: server.url.clone(),
        database: support::clickhouse::fresh_database("alerting"),
    };
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let extra = "[alerting]\ninterval = \"200ms\"\n";
    let mut collectors = [
        Collector::start_on(dir.path(), &certs, any, any, store.clone(), extra),
        Collector::start_on(dir.path(), &certs, any, any, store, extra),
    ];
    let leader = eventually(Duration::from_secs(30), "one collector leading", || async {
        let leading: Vec<usize> = (0..2)
            .filter(|i| {
                collectors[*i]
                    .proc
                    .lines()
                    .iter()
                    .any(|l| l.contains("leading alert evaluation"))
            })
            .collect();
        (leading.len() == 1).then(|| leading[0])
    })
    .await;
    let follower = 1 - leader;
    let client = http();
    let base = collectors[follower].url("");
    let url = |path: &str| format!("{base}{path}");
    let config = agent_config(
        dir.path(),
        &certs,
        "node-a",
        collectors[follower].grpc,
        "[labels]\nrole = \"alerting\"\n",
    );
    let mut cmd = Command::new(agent_bin());
    cmd.arg("--config").arg(&config);
    let _agent = Proc::spawn("agent", cmd);
    for id in ["db", "app-0", "app-1", "app-2"] {
        let (code, body) = send(&client, reqwest::Method::POST, url("/api/admin/services"),
            json!({"service_id": id, "label": id, "service_type": "api_endpoint", "labels": {"role": "alerting"},
                   "status_config": {"url": format!("tcp://127.0.0.1:{db_port}"), "interval": "300ms"}})).await;
        assert_eq!(code, 201, "{body}");
    }
    for app in ["app-0", "app-1", "app-2"] {
        let (code, body) = send(&client, reqwest::Method::POST, url("/api/admin/relations"),
            json!({"source_service_id": app, "target_service_id": "db", "relation_type": "dependency"})).await;
        assert_eq!(code, 201, "{body}");
    }
    let (code, body) = send(&client, reqwest::Method::POST, url("/api/alerts/channels"),
        json!({"channel_id": "hook", "kind": "webhook", "url": hook.url("/lightbulb"), "secret": SECRET})).await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = send(&client, reqwest::Method::POST, url("/api/alerts/rules"),
        json!({"rule_id": "down", "for": "1s", "condition": {"kind": "status", "statuses": ["FAILED"]}, "channels": ["hook"]})).await;
    assert_eq!(code, 201, "{body}");
    let ok = |want: &'static str| {
        let client = client.clone();
        let status = url("/api/status");
        async move {
            let (_, all) = get_json(&client, &status).await;
            let list = all.as_array().cloned().unwrap_or_default();
            (list.len() == 4 && list.iter().all(|s| s["status"] == want)).then_some(())
        }
    };
    eventually(Duration::from_secs(30), "all OK", || ok("OK")).await;

    // Mid-incident: the firing is out, then the evaluating collector dies.
    db.kill();
    eventually(Duration::from_secs(30), "the firing", || async {
        (hooks(&hook, "db", "firing").len() == 1).then_some(())
    })
    .await;
    // Killed once the delivery is stored (killed between the receiver's
    // answer and that write, it would be sent again, with the same id).
    eventually(
        Duration::from_secs(30),
        "the firing stored as sent",
        || async {
            let (_, ns) = get_json(&client, &url("/api/alerts/notifications")).await;
            ns.as_array()?
                .iter()
                .any(|n| n["message"]["event"] == "firing" && n["delivery"] == "sent")
                .then_some(())
        },
    )
    .await;
    collectors[leader].proc.kill();
    collectors[follower]
        .proc
        .wait_for_line("leading alert evaluation", Duration::from_secs(30));
    // Up again until the test ends (a second outage would alert again).
    let _db = database(db_port);
    eventually(
        Duration::from_secs(30),
        "the resolution, from the new leader",
        || async { (hooks(&hook, "db", "resolved").len() == 1).then_some(()) },
    )
    .await;
    eventually(Duration::from_secs(30), "all OK again", || ok("OK")).await;
    settled(&client, &collectors[follower], &[]).await;

    let mut by_id = std::collections::BTreeMap::new();
    for r in hook.requests() {
        *by_id
            .entry(r["body"]["notification_id"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert!(
        by_id.values().all(|n| *n == 1),
        "each notification once: {by_id:?}"
    );
    assert_eq!(by_id.len(), 2, "db's firing and resolution only: {by_id:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_window_records_what_it_holds_back_and_the_alert_notifies_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let hook = HttpReceiver::start(dir.path(), SECRET);
    let db_port = support::free_port();
    let mut db = database(db_port);
    let s = setup(dir.path(), db_port, &hook, None).await;
    let post = |path: &str, body: Value| {
        send(
            &s.client,
            reqwest::Method::POST,
            s.collector.url(path),
            body,
        )
    };
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
        let (code, got) = post("/api/alerts/silences", body).await;
        assert_eq!(code, 422, "{got}");
        assert_eq!(got["error"]["field"], field, "{got}");
    }
    let (code, window) = post(
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
    eventually(
        Duration::from_secs(30),
        "the db notification after the window",
        || async { (hooks(&hook, "db", "firing").len() == 1).then_some(()) },
    )
    .await;
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
