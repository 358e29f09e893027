//! `GET /api/search` over what a real check recorded: a Python web server
//! answers 500 with a traceback, the agent's HTTP check keeps the body as
//! evidence, and a search for a piece of the exception finds the result
//! with the match marked; bad queries are refused naming the field.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{InProcess, Proc, eventually, get_json, http, send};

/// Answers every request 500 with a Python traceback, after printing its port.
const SERVER: &str = r#"
import http.server, traceback
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        try:
            1 / 0
        except ZeroDivisionError:
            body = traceback.format_exc().encode()
        self.send_response(500); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

/// The server (killed on drop) and its port.
fn failing_server() -> (Proc, u16) {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", SERVER]);
    let server = Proc::spawn("failing server", cmd);
    // It prints its port first.
    let port = server
        .wait_for_line("", Duration::from_secs(10))
        .trim()
        .parse()
        .expect("port");
    (server, port)
}

fn text(parts: &Value) -> (String, Vec<String>) {
    let all = parts.as_array().unwrap();
    let whole = all.iter().map(|p| p["text"].as_str().unwrap()).collect();
    let hits = all
        .iter()
        .filter(|p| p["hit"] == true)
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect();
    (whole, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traceback_in_a_checks_evidence_is_found_and_marked() {
    let server = InProcess::start(&["node-a"]).await;
    let app = failing_server();
    let client = http();
    let _agent = server.run_agent("node-a");
    let (code, body) = send(
        &client,
        reqwest::Method::POST,
        server.url("/api/admin/services"),
        json!({"service_id": "payments", "label": "Payments", "service_type": "api_endpoint",
               "labels": {"agent_id": "node-a"},
               "status_config": {"url": format!("http://127.0.0.1:{}/pay", app.1), "interval": "1s"}}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    eventually(Duration::from_secs(20), "payments FAILED", || async {
        let (_, s) = get_json(&client, &server.url("/api/status/payments")).await;
        (s["status"] == "FAILED").then_some(())
    })
    .await;

    let (code, found) = get_json(&client, &server.url("/api/search?q=division+ZERO")).await;
    assert_eq!(code, 200, "{found}");
    assert_eq!(found["terms"], json!(["division", "zero"]));
    let hit = &found["hits"][0];
    assert_eq!(
        (&hit["service_id"], &hit["status"]),
        (&json!("payments"), &json!("FAILED"))
    );
    assert_eq!(text(&hit["message"]).0, "HTTP 500, expected 2xx");
    let (details, marked) = text(&hit["details"]);
    assert!(
        details.contains("ZeroDivisionError: division by zero"),
        "{details}"
    );
    // Matches side by side are marked as one.
    assert_eq!(marked, ["ZeroDivision", "division", "zero"], "{details}");

    // Only the service asked for, and nothing for words no result has.
    let (_, other) = get_json(
        &client,
        &server.url("/api/search?q=division&service_id=web"),
    )
    .await;
    assert_eq!(other["hits"], json!([]));
    let (_, none) = get_json(&client, &server.url("/api/search?q=KeyError")).await;
    assert_eq!(none["hits"], json!([]));

    for (url, field) in [
        ("/api/search?q=ab", "q"),
        ("/api/search", "q"),
        ("/api/search?q=division&limit=0", "limit"),
        ("/api/search?q=division&from=yesterday", "from"),
        // Found by schemathesis: SQLite's full-text query failed (500) on it.
        ("/api/search?q=divi%00sion", "q"),
    ] {
        let (code, e) = get_json(&client, &server.url(url)).await;
        assert_eq!(
            (code, &e["error"]["field"]),
            (400, &json!(field)),
            "{url}: {e}"
        );
    }
}
