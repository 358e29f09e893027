//! Metric thresholds and the metric, certificate and absence rules with
//! real parts: the collector and agent binaries checking a real HTTP(S)
//! server (Python) whose answers are slowed on demand, and a real HTTP
//! receiver for the webhook. A slow service turns DEGRADED by its own
//! `metric_config` (the live status says why) and its p95 rule notifies
//! once, and once when it recovers; a certificate expiring in five days
//! and a service left silent each raise their rule. Rules and channels the
//! API cannot take are refused naming the field.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lightbulb_testkit::receivers::HttpReceiver;
use serde_json::{Value, json};
use support::alerts::*;
use support::{Collector, Proc, agent_bin, agent_config, certs, free_port, http, send};

const SERVER: &str = r#"
import http.server, ssl, sys, time
port, delay_file = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            time.sleep(int(open(delay_file).read() or 0) / 1000)
        except OSError:
            pass
        self.send_response(200)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'ok')
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', port), H)
if len(sys.argv) > 3:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
print('serving', flush=True)
s.serve_forever()
"#;

/// An HTTP server answering after the delay (ms) written in `delay`;
/// HTTPS with `tls` (certificate and key).
fn server(port: u16, delay: &Path, tls: Option<(&Path, &Path)>) -> Proc {
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-c", SERVER])
        .arg(port.to_string())
        .arg(delay);
    if let Some((cert, key)) = tls {
        cmd.arg(cert).arg(key);
    }
    let p = Proc::spawn("http server", cmd);
    p.wait_for_line("serving", Duration::from_secs(20));
    p
}

struct Setup {
    collector: Collector,
    agent: Option<Proc>,
    client: reqwest::Client,
}

impl Setup {
    async fn post(&self, path: &str, body: Value) -> Value {
        let (code, body) = send(
            &self.client,
            reqwest::Method::POST,
            self.collector.url(path),
            body,
        )
        .await;
        assert_eq!(code, 201, "{path}: {body}");
        body
    }
}

/// A collector (with `extra` configuration) and the channel `hook`, and
/// an agent running the services labelled `role = edge`.
async fn start(dir: &Path, hook: &HttpReceiver, extra: &str) -> Setup {
    let certs = certs(dir, &["node-a"]);
    let collector = Collector::sqlite(
        dir,
        &certs,
        &format!("[alerting]\ninterval = \"200ms\"\n{extra}"),
    );
    let config = agent_config(
        dir,
        &certs,
        "node-a",
        collector.grpc,
        "[labels]\nrole = \"edge\"\n",
    );
    let mut cmd = Command::new(agent_bin());
    cmd.arg("--config").arg(&config);
    let s = Setup {
        collector,
        agent: Some(Proc::spawn("agent", cmd)),
        client: http(),
    };
    s.post(
        "/api/alerts/channels",
        json!({"channel_id": "hook", "kind": "webhook", "url": hook.url("/lightbulb")}),
    )
    .await;
    s
}

async fn status_of(s: &Setup, id: &str) -> Value {
    let (_, all) = support::get_json(&s.client, &s.collector.url("/api/status")).await;
    all.as_array()
        .and_then(|l| l.iter().find(|x| x["service_id"] == id).cloned())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_service_turns_degraded_by_its_thresholds_and_its_metric_rule_notifies_once() {
    let dir = tempfile::tempdir().unwrap();
    let hook = HttpReceiver::start(dir.path(), SECRET);
    let delay = dir.path().join("delay");
    std::fs::write(&delay, "0").unwrap();
    let port = free_port();
    let _server = server(port, &delay, None);
    let s = start(dir.path(), &hook, "").await;
    s.post(
        "/api/admin/services",
        json!({"service_id": "api", "label": "API", "service_type": "api_endpoint",
               "labels": {"role": "edge"}, "status_config": {"url": format!("http://127.0.0.1:{port}/health"), "interval": "1s"},
               "metric_config": {"response_time_ms": {"degraded": 250, "failed": 5000, "aggregate": "p95"},
                                 "window": "3s"}}),
    )
    .await;
    s.post(
        "/api/alerts/rules",
        json!({"rule_id": "slow", "for": "1s", "channels": ["hook"],
               "condition": {"kind": "metric", "metric": "response_time_ms", "aggregate": "p95",
                             "above": 250, "window": "3s"}}),
    )
    .await;
    wait_status_of(&s, "api", "OK").await;
    std::fs::write(&delay, "400").unwrap();
    wait_status_of(&s, "api", "DEGRADED").await;
    let live = status_of(&s, "api").await;
    let message = live["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("response_time_ms p95 ")
            && message.contains("over 3s is above 250 (DEGRADED); check: HTTP 200"),
        "{live}"
    );
    await_hooks(&hook, "api", "firing", 1).await;
    let fired = &hooks(&hook, "api", "firing")[0];
    let said = fired["message"].as_str().unwrap_or_default();
    assert!(
        said.starts_with("response_time_ms p95 ") && said.ends_with("over 3s is above 250"),
        "{fired}"
    );
    std::fs::write(&delay, "0").unwrap();
    wait_status_of(&s, "api", "OK").await;
    await_hooks(&hook, "api", "resolved", 1).await;
    settled(&s.client, &s.collector, &[]).await;
    assert_eq!(hooks(&hook, "api", "firing").len(), 1, "notified once");
}

async fn wait_status_of(s: &Setup, id: &str, want: &str) {
    support::eventually(Duration::from_secs(30), &format!("{id} {want}"), || async {
        (status_of(s, id).await["status"] == want).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_near_expiry_and_a_silent_service_each_raise_their_rule() {
    let dir = tempfile::tempdir().unwrap();
    let hook = HttpReceiver::start(dir.path(), SECRET);
    let delay = dir.path().join("delay");
    let (cert, key) = lightbulb_testkit::certs::dated(dir.path(), -1, 5);
    let port = free_port();
    let _server = server(port, &delay, Some((&cert, &key)));
    // Agents heartbeat every 300 ms; a service is silent after two intervals.
    let mut s = start(
        dir.path(),
        &hook,
        "[agents]\nheartbeat = \"300ms\"\n[status]\ngrace_intervals = 2\n",
    )
    .await;
    s.post(
        "/api/admin/services",
        json!({"service_id": "shop", "label": "Shop", "service_type": "api_endpoint",
               "labels": {"role": "edge"}, "status_config": {"url": format!("https://127.0.0.1:{port}/"), "insecure": true,
                                 "interval": "300ms"}}),
    )
    .await;
    s.post(
        "/api/alerts/rules",
        json!({"rule_id": "cert", "channels": ["hook"], "severity": "warning",
               "condition": {"kind": "cert_expiry", "days": 14}}),
    )
    .await;
    s.post(
        "/api/alerts/rules",
        json!({"rule_id": "gone", "channels": ["hook"], "severity": "critical",
               "condition": {"kind": "absent", "intervals": 5}}),
    )
    .await;
    await_hooks(&hook, "shop", "firing", 1).await;
    let fired = &hooks(&hook, "shop", "firing")[0];
    assert_eq!(fired["rule_id"], "cert", "{fired}");
    let said = fired["message"].as_str().unwrap_or_default();
    assert!(
        said.starts_with("cert_days_left 4") && said.ends_with("is below 14"),
        "{fired}"
    );
    // The agent stops: the service falls silent, and after five of its
    // intervals the absence rule fires, naming what the collector knows.
    if let Some(mut agent) = s.agent.take() {
        agent.kill();
    }
    wait_status_of(&s, "shop", "UNKNOWN").await;
    await_hooks(&hook, "shop", "firing", 2).await;
    let gone = hooks(&hook, "shop", "firing")
        .into_iter()
        .find(|h| h["rule_id"] == "gone")
        .expect("the absence rule fired");
    let said = gone["message"].as_str().unwrap_or_default();
    assert!(said.starts_with("no result for "), "{gone}");
    assert_eq!(gone["status"], "UNKNOWN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rules_and_channels_are_refused_naming_the_field() {
    let server = support::InProcess::start(&[]).await;
    let client = http();
    let post =
        |path: &str, body: Value| send(&client, reqwest::Method::POST, server.url(path), body);
    for (body, field, says) in [
        (
            json!({"rule_id": "r", "condition": {"kind": "telepathy"}}),
            "condition.kind",
            "telepathy",
        ),
        (
            json!({"rule_id": "r", "condition": {"kind": "metric", "metric": "latency", "above": 1}}),
            "condition.metric",
            "`latency` is not a metric",
        ),
        (
            json!({"rule_id": "r", "condition": {"kind": "metric", "metric": "cpu_usage"}}),
            "condition.above",
            "exactly one of `above` and `below`",
        ),
        (
            json!({"rule_id": "r", "condition": {"kind": "metric", "metric": "cpu_usage", "above": 90, "window": "3h"}}),
            "condition.window",
            "at most 1h",
        ),
        (
            json!({"rule_id": "r", "condition": {"kind": "status", "statuses": ["BROKEN"]}}),
            "condition.statuses[0]",
            "BROKEN",
        ),
        (
            json!({"rule_id": "r", "condition": {"kind": "anomaly", "metrics": ["cpu_usage"]}}),
            "condition.metrics[0]",
            "not one of response_time_ms, error_rate",
        ),
        (
            json!({"rule_id": "r", "condition": {"kind": "anomaly", "min_score": -1}}),
            "condition.min_score",
            "from 0 to 1000",
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
    // A service's own thresholds are checked the same way.
    let (code, got) = post(
        "/api/admin/services",
        json!({"service_id": "web", "label": "Web", "service_type": "api_endpoint",
               "status_config": {"url": "http://127.0.0.1:1/"},
               "metric_config": {"response_time_ms": {"failed": "slow"}}}),
    )
    .await;
    assert_eq!(code, 422, "{got}");
    assert_eq!(
        got["error"]["field"], "metric_config.response_time_ms.failed",
        "{got}"
    );
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
