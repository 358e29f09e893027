//! Shared by the alerting tests: a TCP service standing for a database, a
//! collector and an agent with services, relations, channels and a rule
//! set up through the API, and waits on what the receivers got.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lightbulb_testkit::receivers::{HttpReceiver, SmtpSink};
use serde_json::{Value, json};

use super::{
    Collector, Proc, StoreSpec, agent_bin, agent_config, certs, eventually, get_json, http, send,
};

pub const SECRET: &str = "hook-secret";

/// A TCP listener on `port` (accepting and closing), standing for the database.
pub fn database(port: u16) -> Proc {
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-c", "import socket, sys\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('127.0.0.1', int(sys.argv[1])))\ns.listen(64)\nprint('db up', flush=True)\nwhile True:\n    c, _ = s.accept()\n    c.close()"])
        .arg(port.to_string());
    let p = Proc::spawn("database", cmd);
    p.wait_for_line("db up", Duration::from_secs(20));
    p
}

pub struct Setup {
    pub collector: Collector,
    pub _agent: Proc,
    pub client: reqwest::Client,
}

/// A collector and an agent; `db` and `app-0`..`app-9` (each checking the
/// database's port, and depending on `db`) and `cache` (checking a closed
/// port); channels `hook` (the receiver) and, with `smtp`, `mail`; rule
/// `down` (FAILED for 1 s) notifying them.
pub async fn setup(
    dir: &Path,
    db_port: u16,
    hook: &HttpReceiver,
    smtp: Option<&SmtpSink>,
) -> Setup {
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
    let closed = super::free_port();
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

impl Setup {
    /// POSTs `body` as JSON: the status and the answer.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        send(
            &self.client,
            reqwest::Method::POST,
            self.collector.url(path),
            body,
        )
        .await
    }
}

/// Webhook bodies for `service_id` and `event`.
pub fn hooks(hook: &HttpReceiver, service_id: &str, event: &str) -> Vec<Value> {
    hook.requests()
        .into_iter()
        .map(|r| r["body"].clone())
        .filter(|b| b["service_id"] == service_id && b["event"] == event)
        .collect()
}

pub async fn statuses(s: &Setup) -> Value {
    get_json(&s.client, &s.collector.url("/api/status")).await.1
}

pub async fn wait_status(s: &Setup, ids: &[&str], want: &str) {
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
pub async fn settled(client: &reqwest::Client, collector: &Collector, still: &[&str]) {
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

/// Waits until the receiver has `n` notifications of `event` for `service_id`.
pub async fn await_hooks(hook: &HttpReceiver, service_id: &str, event: &str, n: usize) {
    eventually(
        Duration::from_secs(30),
        &format!("{n} {event} notification(s) of {service_id}"),
        || async { (hooks(hook, service_id, event).len() == n).then_some(()) },
    )
    .await;
}
