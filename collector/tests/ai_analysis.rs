//! AI failure analysis against a model server started by the test
//! (`testkit/src/model_server.py`, a stand-in: no model with an
//! OpenAI-compatible server is packaged on the registries this project may
//! use) that answers like the API and records every request. A real agent
//! checks a real HTTP service whose error page holds secrets, emails and
//! addresses: the failure is analysed once per incident, with its whole
//! context and none of those; a malformed answer, a server error, a slow
//! or missing server each give an analysis that says so; the hourly token
//! budget holds.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use lightbulb_collector::config::{AiConfig, CollectorConfig};
use lightbulb_testkit::model::ModelServer;
use serde_json::{Value, json};
use support::{InProcess, eventually, get_json, http, send};

const KEY: &str = "sk-test-0123456789abcdefXYZ";
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcmRlcnMifQ.c2lnbmF0dXJl";
/// What must never reach the model.
const SECRETS: &[&str] = &[
    "hunter2",
    "ops@example.com",
    "10.20.30.40",
    "order-1234",
    "literal-key-0001",
    JWT,
    KEY,
];

/// An HTTP service: `/orders` fails with an error page full of secrets
/// while `failing` is set; `/ok` is always up.
async fn evidence() -> (Arc<AtomicBool>, SocketAddr) {
    let failing = Arc::new(AtomicBool::new(false));
    let f = failing.clone();
    let page = format!(
        "database error: connection refused to db:5432 (password=hunter2) for ops@example.com \
         from 10.20.30.40 while saving order-1234; Authorization: Bearer {JWT}"
    );
    let router = axum::Router::new()
        .route(
            "/orders",
            axum::routing::get(move || {
                let (failing, page) = (f.load(Ordering::SeqCst), page.clone());
                async move {
                    if failing {
                        (StatusCode::INTERNAL_SERVER_ERROR, page)
                    } else {
                        (StatusCode::OK, "ok".to_string())
                    }
                }
            }),
        )
        .route("/ok", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (failing, addr)
}

fn ai(model: &ModelServer, tweak: impl FnOnce(&mut AiConfig)) -> impl FnOnce(&mut CollectorConfig) {
    let mut ai = AiConfig {
        api_base: model.api_base(),
        api_key: KEY.into(),
        model: "test-model".into(),
        redact: vec!["order-[0-9]+".into()],
        ..Default::default()
    };
    tweak(&mut ai);
    move |c: &mut CollectorConfig| {
        c.alerting.interval = Duration::from_millis(200);
        c.insights.ai = Some(ai);
    }
}

/// `db`, `orders` (depends on `db`) and `web` (depends on `orders`),
/// checked every 300 ms by agent `a1`.
async fn catalog(server: &InProcess, at: SocketAddr) {
    let client = http();
    let post =
        |path: &str, body: Value| send(&client, reqwest::Method::POST, server.url(path), body);
    for (id, path, headers) in [
        ("db", "/ok", json!({})),
        (
            "orders",
            "/orders",
            json!({"X-Api-Key": "literal-key-0001"}),
        ),
        ("web", "/ok", json!({})),
    ] {
        let (code, body) = post(
            "/api/admin/services",
            json!({"service_id": id, "label": id, "service_type": "api_endpoint", "labels": {"agent_id": "a1"},
                   "status_config": {"url": format!("http://{at}{path}"), "interval": "300ms", "headers": headers}}),
        )
        .await;
        assert_eq!(code, 201, "{body}");
    }
    for (source, target) in [("orders", "db"), ("web", "orders")] {
        let (code, body) = post(
            "/api/admin/relations",
            json!({"source_service_id": source, "target_service_id": target, "relation_type": "dependency"}),
        )
        .await;
        assert_eq!(code, 201, "{body}");
    }
}

async fn wait_status(server: &InProcess, id: &str, want: &str) {
    let client = http();
    eventually(Duration::from_secs(20), &format!("{id} {want}"), || {
        let (client, url) = (client.clone(), server.url(&format!("/api/status/{id}")));
        async move {
            let (_, s) = get_json(&client, &url).await;
            (s["status"] == want).then_some(())
        }
    })
    .await;
}

/// `lone`, a service no agent runs.
async fn lone(server: &InProcess) {
    let body = json!({"service_id": "lone", "label": "lone", "service_type": "api_endpoint",
                      "status_config": {"url": "http://127.0.0.1:1/"}});
    let (code, body) = send(
        &http(),
        reqwest::Method::POST,
        server.url("/api/admin/services"),
        body,
    )
    .await;
    assert_eq!(code, 201, "{body}");
}

async fn analyses(server: &InProcess, id: &str) -> Vec<Value> {
    let (code, body) = get_json(&http(), &server.url(&format!("/api/insights/{id}"))).await;
    assert_eq!(code, 200, "{body}");
    body["analyses"].as_array().unwrap().clone()
}

async fn wait_analyses(server: &InProcess, id: &str, n: usize) -> Vec<Value> {
    eventually(
        Duration::from_secs(20),
        &format!("{n} analyses of {id}"),
        || async {
            let list = analyses(server, id).await;
            (list.len() >= n).then_some(list)
        },
    )
    .await
}

/// Results of `id` stored so far.
async fn results(server: &InProcess, id: &str) -> u64 {
    let url = server.url(&format!("/api/services/{id}/history?limit=1"));
    get_json(&http(), &url).await.1["total"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_is_analysed_once_per_incident_with_its_context_redacted() {
    let model = ModelServer::start();
    let (failing, at) = evidence().await;
    let server = InProcess::start_with(&["a1"], ai(&model, |a| a.cooldown = Duration::ZERO)).await;
    catalog(&server, at).await;
    let _agent = server.run_agent("a1");
    for id in ["db", "orders", "web"] {
        wait_status(&server, id, "OK").await;
    }
    assert!(model.requests().is_empty(), "nothing failed, nothing asked");

    failing.store(true, Ordering::SeqCst);
    wait_status(&server, "orders", "FAILED").await;
    let list = wait_analyses(&server, "orders", 1).await;
    // The incident goes on: more failing results, no second analysis.
    let seen = results(&server, "orders").await;
    eventually(Duration::from_secs(20), "five more results", || async {
        (results(&server, "orders").await >= seen + 5).then_some(())
    })
    .await;
    assert_eq!(model.requests().len(), 1, "one analysis per incident");
    assert_eq!(analyses(&server, "orders").await.len(), 1);

    let a = &list[0];
    assert_eq!(a["trigger"], "transition");
    assert_eq!(a["outcome"], "answered", "{a}");
    assert_eq!(a["model"], "test-model");
    assert_eq!(a["status"], "FAILED");
    assert!(a["incident_start"].is_string(), "{a}");
    let request = &model.requests()[0];
    assert_eq!(request["path"], "/v1/chat/completions");
    assert_eq!(request["authorization"], format!("Bearer {KEY}"));
    let body = &request["body"];
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(
        body["response_format"]["json_schema"]["name"],
        "failure_analysis"
    );
    let sent = body["messages"][1]["content"].as_str().unwrap();
    assert_eq!(a["context"], sent, "the stored context is what was sent");

    // Complete: the check, status, evidence, timeline, both directions of
    // the dependency graph with their statuses, the failure patterns.
    let ctx: Value = serde_json::from_str(sent).unwrap();
    assert_eq!(ctx["service"]["service_id"], "orders");
    // The address is redacted with the rest.
    assert_eq!(
        ctx["service"]["definition"]["check"]["url"],
        format!("http://[REDACTED:ip]:{}/orders", at.port())
    );
    assert_eq!(ctx["status"]["status"], "FAILED");
    assert!(
        ctx["status"]["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 500"),
        "{ctx}"
    );
    assert_eq!(ctx["details"]["status"], 500);
    assert!(
        ctx["details"]["body"]
            .as_str()
            .unwrap()
            .contains("connection refused to db:5432"),
        "{ctx}"
    );
    let timeline: Vec<&str> = ctx["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(timeline, ["OK", "FAILED"], "{ctx}");
    assert_eq!(
        ctx["dependencies"],
        json!([{"service_id": "db", "relation": "dependency", "status": "OK", "message": ctx["dependencies"][0]["message"]}])
    );
    assert_eq!(ctx["dependants"][0]["service_id"], "web");
    assert_eq!(ctx["dependants"][0]["status"], "OK");
    assert!(
        ctx["failure_patterns"][0]["template"]
            .as_str()
            .unwrap()
            .contains("expected"),
        "{ctx}"
    );

    // Redacted: none of the secrets anywhere in the request body.
    let whole = body.to_string();
    for secret in SECRETS {
        assert!(!whole.contains(secret), "`{secret}` was sent: {whole}");
    }
    for mark in [
        "[REDACTED:secret]",
        "[REDACTED:email]",
        "[REDACTED:ip]",
        "[REDACTED]",
        "[REDACTED:token]",
    ] {
        assert!(sent.contains(mark), "{mark} missing: {sent}");
    }
    assert!(
        a["redactions"].as_u64().unwrap() >= SECRETS.len() as u64 - 1,
        "{a}"
    );
    assert_eq!(
        a["answer"]["summary"],
        format!(
            "orders is failing: {}",
            ctx["status"]["message"].as_str().unwrap()
        )
    );
    assert_eq!(a["answer"]["confidence"], 0.7);

    // Recovery, then a new incident: analysed again.
    failing.store(false, Ordering::SeqCst);
    wait_status(&server, "orders", "OK").await;
    failing.store(true, Ordering::SeqCst);
    wait_status(&server, "orders", "FAILED").await;
    let list = wait_analyses(&server, "orders", 2).await;
    assert_ne!(list[0]["incident_start"], list[1]["incident_start"]);
    assert_eq!(model.requests().len(), 2);
    // Dependants whose checks pass were never analysed.
    assert!(analyses(&server, "web").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_answer_or_a_missing_server_is_stored_and_said() {
    let model = ModelServer::start();
    let (failing, at) = evidence().await;
    failing.store(true, Ordering::SeqCst);
    let tweak = ai(&model, |a| {
        a.on_transition = false;
        a.retries = 1;
        a.timeout = Duration::from_secs(2);
    });
    let server = InProcess::start_with(&["a1"], tweak).await;
    catalog(&server, at).await;
    let _agent = server.run_agent("a1");
    wait_status(&server, "orders", "FAILED").await;
    let client = http();
    let ask = || {
        send(
            &client,
            reqwest::Method::POST,
            server.url("/api/insights/orders"),
            Value::Null,
        )
    };

    model.answer("malformed").await;
    let (code, a) = ask().await;
    assert_eq!(code, 201, "{a}");
    assert_eq!(a["outcome"], "invalid_answer");
    assert_eq!(a["trigger"], "request");
    assert_eq!(a["requested_by"], "anonymous");
    assert!(
        a["error"].as_str().unwrap().contains("not a JSON object"),
        "{a}"
    );
    assert_eq!(
        a["raw_answer"],
        "The service looks unhealthy; I would restart it."
    );
    assert!(a["answer"].is_null());

    model.answer("error").await;
    let before = model.requests().len();
    let (code, a) = ask().await;
    assert_eq!(code, 201, "{a}");
    assert_eq!(a["outcome"], "failed");
    let error = a["error"].as_str().unwrap();
    assert!(
        error.contains("answered 500")
            && error.contains("the model is overloaded")
            && error.contains("(2 attempts)"),
        "{error}"
    );
    assert_eq!(model.requests().len() - before, 2, "one retry");

    model.answer("slow").await;
    let (_, a) = ask().await;
    assert_eq!(a["outcome"], "failed");
    assert!(
        a["error"]
            .as_str()
            .unwrap()
            .contains("did not answer within 2s"),
        "{a}"
    );

    // Every request is in the audit log, by whom and how it went.
    let (_, audit) = get_json(&client, &server.url("/api/audit?limit=1")).await;
    let newest = &audit["records"][0];
    assert_eq!(newest["action"], "ask for an AI analysis", "{audit}");
    assert_eq!(newest["changes"][0]["after"]["outcome"], "failed");
    assert_eq!(analyses(&server, "orders").await.len(), 3);
    drop(server);

    // No server where configured: the analysis says so.
    let closed = support::free_port();
    let tweak = move |c: &mut CollectorConfig| {
        c.insights.ai = Some(AiConfig {
            api_base: format!("http://127.0.0.1:{closed}/v1"),
            model: "m".into(),
            retries: 0,
            ..Default::default()
        });
    };
    let server = InProcess::start_with(&[], tweak).await;
    let post =
        |path: &str, body: Value| send(&client, reqwest::Method::POST, server.url(path), body);
    lone(&server).await;
    let (code, a) = post("/api/insights/lone", Value::Null).await;
    assert_eq!(code, 201, "{a}");
    assert_eq!(a["outcome"], "failed");
    assert!(
        a["error"].as_str().unwrap().contains(&format!(
            "the model server at http://127.0.0.1:{closed}/v1 is unreachable"
        )),
        "{a}"
    );
    let (code, a) = post("/api/insights/nothing-here", Value::Null).await;
    assert_eq!(code, 404, "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hourly_token_budget_holds_and_analysis_is_off_unless_configured() {
    let model = ModelServer::start();
    let tweak = ai(&model, |a| {
        a.on_transition = false;
        a.max_answer_tokens = 1_000;
        a.tokens_per_hour = 1_700;
    });
    let server = InProcess::start_with(&[], tweak).await;
    let client = http();
    let post =
        |path: &str, body: Value| send(&client, reqwest::Method::POST, server.url(path), body);
    lone(&server).await;
    let (code, a) = post("/api/insights/lone", Value::Null).await;
    assert_eq!(code, 201, "{a}");
    assert_eq!(a["outcome"], "answered");
    let r = client
        .post(server.url("/api/insights/lone"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3_500..=3_600).contains(&wait), "{wait}");
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("token budget of 1700 per hour is spent"),
        "{body}"
    );
    assert_eq!(
        model.requests().len(),
        1,
        "the refused analysis sent nothing"
    );
    let (_, shown) = get_json(&client, &server.url("/api/insights/lone")).await;
    assert_eq!(shown["enabled"], true);
    assert_eq!(shown["tokens_per_hour"], 1_700);
    let used = a["prompt_tokens"].as_u64().unwrap() + a["completion_tokens"].as_u64().unwrap();
    assert_eq!(
        shown["tokens_used"], used,
        "what the server reported, not the reservation"
    );
    drop(server);

    let server = InProcess::start(&[]).await;
    lone(&server).await;
    let (code, body) = send(
        &client,
        reqwest::Method::POST,
        server.url("/api/insights/lone"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("[insights.ai]"),
        "{body}"
    );
    let (_, shown) = get_json(&client, &server.url("/api/insights/lone")).await;
    assert_eq!(shown["enabled"], false);
    assert_eq!(shown["analyses"], json!([]));
}
