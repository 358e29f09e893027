//! What a collector exposed to a network holds up against, through the real
//! HTTP API: rate limits (429 with Retry-After, then served again), sign-in
//! attempts and live streams limited per caller, security headers on every
//! response, CORS only for the origins allowed, and catalog checks kept off
//! cloud metadata and link-local addresses, and `secret://` references
//! checked and kept as references.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{InProcess, eventually, http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_limit_gets_429_then_requests_succeed_again() {
    let server = InProcess::start_with(&[], |c| {
        c.limits.requests_per_second = 2;
        c.limits.burst = 3;
    })
    .await;
    let client = http();
    let url = server.url("/api/status");
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(client.get(&url).send().await.unwrap().status().as_u16());
    }
    // The readiness polls of the start do not count: /readyz is open.
    assert_eq!(codes, [200, 200, 200, 429]);
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests");
    eventually(Duration::from_secs(5), "served again", || {
        let req = client.get(&url).send();
        async move { (req.await.ok()?.status() == 200).then_some(()) }
    })
    .await;
    // Health stays open to probes whatever the limit.
    for _ in 0..10 {
        assert_eq!(
            client
                .get(server.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_and_live_streams_are_limited_per_caller() {
    let server = InProcess::start_with(&[], |c| {
        c.limits.logins_per_minute = 2;
        c.limits.streams_per_caller = 1;
    })
    .await;
    let client = http();
    let login = || {
        client
            .post(server.url("/api/auth/login"))
            .json(&json!({"username": "root", "password": "guess"}))
            .send()
    };
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(login().await.unwrap().status().as_u16());
    }
    assert_eq!(codes, [401, 401, 429], "the third guess in a minute");

    let first = client
        .get(server.url("/api/status/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = client
        .get(server.url("/api/status/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    let body: Value = second.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("live streams"),
        "{body}"
    );
    drop(first);
    eventually(
        Duration::from_secs(5),
        "a stream again once the first closed",
        || {
            let req = client.get(server.url("/api/status/stream")).send();
            async move { (req.await.ok()?.status() == 200).then_some(()) }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers_and_cors_only_for_allowed_origins() {
    let server = InProcess::start_with(&[], |c| {
        c.http.cors_origins = vec!["https://grafana.example".into()];
    })
    .await;
    let client = http();
    for path in ["/", "/api/status", "/api/docs", "/api/nope", "/healthz"] {
        let r = client.get(server.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self' 'sha256-"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(
            !h.contains_key("strict-transport-security"),
            "no HSTS over plain HTTP: {path}"
        );
        assert!(
            h.get("access-control-allow-origin").is_none(),
            "{path}: no Origin, no CORS"
        );
    }
    let preflight = |origin: &str| {
        client
            .request(reqwest::Method::OPTIONS, server.url("/api/admin/services"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = preflight("https://grafana.example").await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://grafana.example"
    );
    assert!(
        ok.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // The allowed site may change things; another site may not.
    let create = |origin: &str, id: &str| {
        client
            .post(server.url("/api/admin/services"))
            .header("origin", origin)
            .json(
                &json!({"service_id": id, "label": id, "service_type": "api_endpoint",
                          "status_config": {"url": "http://web.internal/health"}}),
            )
            .send()
    };
    let r = create("https://grafana.example", "from-grafana")
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://grafana.example"
    );
    assert_eq!(
        create("https://evil.example", "from-evil")
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_checks_may_not_target_metadata_or_link_local_addresses() {
    let server = InProcess::start(&[]).await;
    let client = http();
    let post = |path: &str, body: Value| client.post(server.url(path)).json(&body).send();
    for url in [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ] {
        let r = post(
            "/api/admin/services",
            json!({"service_id": "steal", "label": "x", "service_type": "api_endpoint", "status_config": {"url": url}}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 422, "{url}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["field"], "status_config.url", "{body}");
    }
    let r = post(
        "/api/admin/import",
        json!({"services": [{"service_id": "steal", "label": "x", "service_type": "database",
                             "status_config": {"url": "http://169.254.169.254:8123"}}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("169.254.0.0/16"),
        "{body}"
    );
    let (code, _) = support::get_json(&client, &server.url("/api/admin/services/steal")).await;
    assert_eq!(code, 404, "nothing was stored");

    let open = InProcess::start_with(&[], |c| c.checks.deny_networks = Vec::new()).await;
    let r = client
        .post(open.url("/api/admin/services"))
        .json(
            &json!({"service_id": "lab", "label": "x", "service_type": "api_endpoint",
                      "status_config": {"url": "http://169.254.10.10/health"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "an empty deny list denies nothing");
}

/// A reference is stored as written (the collector never reads the
/// secret); a malformed one, or one where the check's address goes, is 422
/// naming the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_references_are_checked_and_kept_as_references() {
    let server = InProcess::start(&[]).await;
    let client = http();
    let post = |config: Value| {
        client
            .post(server.url("/api/admin/services"))
            .json(
                &json!({"service_id": "keyed", "label": "x", "service_type": "api_endpoint",
                          "status_config": config}),
            )
            .send()
    };
    for (config, field, says) in [
        (
            json!({"url": "http://web/", "headers": {"X-Api-Key": "secret://vault/kv/web"}}),
            "status_config.headers.X-Api-Key",
            "#KEY",
        ),
        (
            json!({"url": "secret://env/WEB_URL"}),
            "status_config.url",
            "free text",
        ),
    ] {
        let r = post(config).await.unwrap();
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    let reference = "secret://vault/kv/web#api_key";
    let r = post(json!({"url": "http://web/", "headers": {"X-Api-Key": reference}}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (_, stored) = support::get_json(&client, &server.url("/api/admin/services/keyed")).await;
    assert_eq!(
        stored["status_config"]["headers"]["X-Api-Key"], reference,
        "{stored}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_may_be_put_behind_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.token");
    std::fs::write(&file, "scrape-me-0123456789\n").unwrap();
    let server = InProcess::start_with(&[], move |c| c.http.metrics_token_file = Some(file)).await;
    let client = http();
    let scrape = |token: Option<&str>| {
        let req = client.get(server.url("/metrics"));
        match token {
            Some(t) => req.bearer_auth(t).send(),
            None => req.send(),
        }
    };
    assert_eq!(scrape(None).await.unwrap().status(), 401);
    assert_eq!(
        scrape(Some("scrape-me-012345678")).await.unwrap().status(),
        401
    );
    let ok = scrape(Some("scrape-me-0123456789")).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("lightbulb_"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_put_on_the_deny_list_is_cut_off_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let denied = dir.path().join("denied-agents");
    let file = denied.clone();
    let server = InProcess::start_with(&["node-a"], move |c| {
        c.grpc.deny_agents_file = Some(file);
        c.agents.heartbeat = Duration::from_millis(200);
    })
    .await;
    let client = http();
    let connected = || {
        let client = client.clone();
        let url = server.url("/api/agents");
        async move {
            let (_, agents) = support::get_json(&client, &url).await;
            agents[0]["connected"].as_bool()
        }
    };
    let spool = tempfile::tempdir().unwrap();
    let agent = tokio_util::sync::CancellationToken::new();
    let _stop = agent.clone().drop_guard();
    tokio::spawn(lightbulb_agent::run(
        server.agent_config("node-a", spool.path()),
        agent.clone(),
    ));
    eventually(Duration::from_secs(10), "the agent connected", || async {
        (connected().await == Some(true)).then_some(())
    })
    .await;

    std::fs::write(&denied, "# lost with its laptop\nnode-a\n").unwrap();
    eventually(Duration::from_secs(10), "the agent cut off", || async {
        (connected().await == Some(false)).then_some(())
    })
    .await;
    // It keeps retrying (every second at most) and keeps being refused.
    let watch_until = std::time::Instant::now() + Duration::from_secs(2);
    while std::time::Instant::now() < watch_until {
        assert_eq!(
            connected().await,
            Some(false),
            "refused again on every retry"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    std::fs::write(&denied, "").unwrap();
    eventually(
        Duration::from_secs(15),
        "let in again once off the list",
        || async { (connected().await == Some(true)).then_some(()) },
    )
    .await;
}
