//! The `api_endpoint` check against a real HTTP server (Python's
//! http.server, started here and killed when the test ends): methods,
//! headers, bodies, JSON assertions, the redirect policy and DNS timing.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use lightbulb_agent::checks::http::HttpCheck;
use lightbulb_agent::checks::{Check, CheckSpec};
use lightbulb_common::{ServiceType, Status};
use serde_json::{Value, json};

/// Echoes each request as JSON; `/redirect/N` redirects N times.
const SERVER: &str = r#"
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self):
        if self.path.startswith("/redirect/"):
            n = int(self.path.rsplit("/", 1)[1])
            if n > 0:
                self.send_response(302); self.send_header("Location", "/redirect/%d" % (n - 1)); self.end_headers(); return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        out = json.dumps({"method": self.command, "path": self.path, "token": self.headers.get("X-Token"),
                          "body": body, "data": {"status": "ok", "items": [{"id": 1}]}}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out))); self.end_headers()
        if self.command != "HEAD": self.wfile.write(out)
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = answer
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
if len(sys.argv) > 2:
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        Server::start_with(&[])
    }

    /// With `[cert, key]` PEM paths, serves HTTPS.
    fn start_with(tls: &[&std::path::Path]) -> Server {
        let mut child = Command::new("python3")
            .args(["-c", SERVER])
            .args(tls)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("port");
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn check(config: Value) -> lightbulb_agent::checks::Outcome {
    let CheckSpec::Http(spec) =
        CheckSpec::parse(ServiceType::ApiEndpoint, &config).expect("valid config")
    else {
        panic!("not an HTTP check");
    };
    HttpCheck::new(spec).run().await
}

#[tokio::test]
async fn methods_headers_bodies_and_json_assertions() {
    let s = Server::start();
    let url = format!("http://127.0.0.1:{}/api", s.port);
    let base = json!({"url": url, "method": "POST", "headers": {"X-Token": "s3cret"}, "body": "{\"ping\":1}"});
    let with = |json_rules: Value| {
        let mut c = base.clone();
        c["json"] = json_rules;
        c
    };
    let ok = check(with(json!([
        {"path": "$.method", "equals": "POST"},
        {"path": "$.token", "equals": "s3cret"},
        {"path": "$.body", "equals": "{\"ping\":1}"},
        {"path": "$.data.items[0].id", "equals": 1},
        {"path": "data.status"},
        {"path": "$.data.error", "exists": false},
    ])))
    .await;
    assert_eq!(ok.status, Status::Ok, "{}", ok.message);
    assert_eq!(ok.metrics.extra["http_status"], 200.0);
    assert!(
        !ok.metrics.extra.contains_key("dns_ms"),
        "an IP address needs no lookup"
    );

    let missing = check(with(json!([{"path": "$.data.nope"}]))).await;
    assert_eq!(missing.status, Status::Failed);
    assert_eq!(missing.message, "HTTP 200 but `$.data.nope` is missing");
    let wrong = check(with(json!([{"path": "$.data.status", "equals": "down"}]))).await;
    assert_eq!(
        wrong.message,
        "HTTP 200 but `$.data.status` is \"ok\", expected \"down\""
    );
    assert_eq!(wrong.details["found"], "ok");
    let present = check(with(json!([{"path": "$.data.items", "exists": false}]))).await;
    assert!(
        present
            .message
            .starts_with("HTTP 200 but `$.data.items` exists"),
        "{}",
        present.message
    );

    for method in ["PUT", "PATCH", "DELETE", "OPTIONS"] {
        let mut c = with(json!([{"path": "$.method", "equals": method}]));
        c["method"] = json!(method);
        assert_eq!(check(c).await.status, Status::Ok, "{method}");
    }
}

#[tokio::test]
async fn redirects_follow_the_policy_and_dns_time_is_measured() {
    let s = Server::start();
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", s.port);
    assert_eq!(
        check(json!({"url": url("/redirect/3"), "max_redirects": 5}))
            .await
            .status,
        Status::Ok
    );
    let too_many = check(json!({"url": url("/redirect/3"), "max_redirects": 2})).await;
    assert_eq!(too_many.status, Status::Failed);
    assert!(
        too_many.message.contains("redirect"),
        "{}",
        too_many.message
    );
    let not_followed = check(json!({"url": url("/redirect/1"), "follow_redirects": false})).await;
    assert_eq!(not_followed.message, "HTTP 302, expected 2xx");

    let by_name = check(json!({"url": format!("http://localhost:{}/", s.port)})).await;
    assert_eq!(by_name.status, Status::Ok, "{}", by_name.message);
    assert!(by_name.metrics.extra["dns_ms"] >= 0.0);
}

#[test]
fn bad_request_settings_name_their_key() {
    let key = |c: Value| {
        CheckSpec::parse(ServiceType::ApiEndpoint, &c)
            .unwrap_err()
            .0
    };
    assert_eq!(key(json!({"url": "http://x", "method": "TRACE"})), "method");
    assert_eq!(
        key(json!({"url": "http://x", "headers": {"bad header": "1"}})),
        "headers.bad header"
    );
    assert_eq!(
        key(json!({"url": "http://x", "json": [{"path": "$.a[x]"}]})),
        "json[0].path"
    );
    let (_, reason) = CheckSpec::parse(
        ServiceType::ApiEndpoint,
        &json!({"url": "http://x", "json": [{"path": "a", "equal": 1}]}),
    )
    .unwrap_err();
    assert!(reason.contains("unknown field `equal`"), "{reason}");
}

#[tokio::test]
async fn a_certificate_near_expiry_degrades_and_an_expired_one_fails() {
    lightbulb_common::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    for (from, to, status, says) in [
        (-1, 100, Status::Ok, None),
        (
            -1,
            5,
            Status::Degraded,
            Some("TLS certificate expires in 4 days"),
        ),
        (
            -10,
            -2,
            Status::Failed,
            Some("TLS certificate expired 2 days ago"),
        ),
    ] {
        let (cert, key) = lightbulb_testkit::certs::dated(dir.path(), from, to);
        let server = Server::start_with(&[&cert, &key]);
        // Self-signed: trust is not what is tested here.
        let o =
            check(json!({"url": format!("https://127.0.0.1:{}/", server.port), "insecure": true}))
                .await;
        assert_eq!(o.status, status, "{}: {}", o.message, o.details);
        let left = o.metrics.extra["cert_days_left"];
        assert!(
            (left - (to as f64 - 0.5)).abs() < 1.0,
            "{left} days left, expected about {to}"
        );
        if let Some(text) = says {
            assert!(
                o.message.starts_with("HTTP 200 in ") && o.message.contains(text),
                "{}",
                o.message
            );
        }
    }
}

#[tokio::test]
async fn https_trusts_the_given_ca() {
    lightbulb_common::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    lightbulb_common::certs::init(dir.path(), &[], &[]).unwrap();
    let (cert, key) = (
        dir.path().join("collector.crt"),
        dir.path().join("collector.key"),
    );
    let server = Server::start_with(&[&cert, &key]);
    let url = format!("https://127.0.0.1:{}/", server.port);
    let trusted = check(json!({"url": url, "ca": dir.path().join("ca.crt")})).await;
    assert_eq!(trusted.status, Status::Ok, "{}", trusted.message);
    let untrusted = check(json!({"url": url})).await;
    assert_eq!(untrusted.status, Status::Failed, "{}", untrusted.message);
    let missing = check(json!({"url": url, "ca": dir.path().join("nope.crt")})).await;
    assert_eq!(missing.status, Status::Failed);
    assert!(
        missing.message.starts_with("cannot read ca "),
        "{}",
        missing.message
    );
}
