//! The REST API, SSE resume and metrics against an in-process collector fed
//! by the real agent spool and shipper (`bench`).

mod support;

use std::time::Duration;

use support::sse::SseReader;
use support::{InProcess, get_json, http};
use tokio_util::sync::CancellationToken;

const RESULTS: u64 = 2000;
const SERVICES: u64 = 10;

async fn fed_collector() -> (InProcess, tempfile::TempDir) {
    let server = InProcess::start(&["node-a"]).await;
    let spool = tempfile::tempdir().unwrap();
    let config = server.agent_config("node-a", spool.path());
    let report = lightbulb_agent::bench::run(
        &config,
        RESULTS,
        SERVICES,
        "bench",
        CancellationToken::new(),
    )
    .await
    .unwrap()
    .expect("bench finished");
    assert_eq!(report.results, RESULTS);
    assert_eq!(report.dropped, 0);
    (server, spool)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_history_agents_and_metrics() {
    let (server, _spool) = fed_collector().await;
    let client = http();

    let (code, all) = get_json(&client, &server.url("/api/status")).await;
    assert_eq!(code, 200);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), SERVICES as usize);
    for field in [
        "service_id",
        "status_code",
        "status",
        "message",
        "last_check",
        "response_time_ms",
        "cpu_usage",
        "memory_usage",
        "agent_id",
    ] {
        assert!(all[0].get(field).is_some(), "missing {field}: {}", all[0]);
    }
    // Unchanged since the last read: 304. Gzip on request, same content.
    let plain = client.get(server.url("/api/status")).send().await.unwrap();
    let etag = plain.headers()["etag"].to_str().unwrap().to_string();
    let plain = plain.bytes().await.unwrap();
    let again = client
        .get(server.url("/api/status"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let gz = client
        .get(server.url("/api/status"))
        .header("Accept-Encoding", "br, gzip;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let gz = gz.bytes().await.unwrap();
    assert!(gz.len() < plain.len());
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, plain.to_vec());

    let (code, one) = get_json(&client, &server.url("/api/status/bench-3")).await;
    assert_eq!(code, 200);
    assert_eq!(one["agent_id"], "node-a");
    assert!(one["last_check"].as_str().unwrap().ends_with('Z'));

    let (code, missing) = get_json(&client, &server.url("/api/status/nope")).await;
    assert_eq!(code, 404);
    assert_eq!(missing["error"]["code"], "not_found");
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`nope`")
    );

    // All of bench-3's results, newest first, limited.
    let (code, h) = get_json(
        &client,
        &server.url("/api/services/bench-3/history?limit=5"),
    )
    .await;
    assert_eq!(code, 200, "{h}");
    assert_eq!(h["service_id"], "bench-3");
    assert_eq!(h["total"], RESULTS / SERVICES);
    let points = h["points"].as_array().unwrap();
    assert_eq!(points.len(), 5);
    let seqs: Vec<u64> = points.iter().map(|p| p["seq"].as_u64().unwrap()).collect();
    let times: Vec<&str> = points
        .iter()
        .map(|p| p["timestamp"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {times:?}"
    );
    assert!(
        seqs.iter().all(|s| s % SERVICES == 4),
        "bench-3 has seqs 4, 14, …: {seqs:?}"
    );

    // Bounds as ISO 8601 and as epoch milliseconds select the same range.
    let newest = points[0]["timestamp"].as_str().unwrap().to_string();
    let newest_ms = lightbulb_common::time::parse_instant(&newest).unwrap();
    let (_, iso) = get_json(
        &client,
        &server.url(&format!(
            "/api/services/bench-3/history?from={newest}&to={newest}"
        )),
    )
    .await;
    let (_, epoch) = get_json(
        &client,
        &server.url(&format!(
            "/api/services/bench-3/history?from={newest_ms}&to={newest_ms}"
        )),
    )
    .await;
    assert!(iso["total"].as_u64().unwrap() >= 1);
    assert_eq!(iso, epoch);
    let (_, empty) = get_json(
        &client,
        &server.url("/api/services/bench-3/history?from=0&to=1"),
    )
    .await;
    assert_eq!(empty["total"], 0);
    assert_eq!(empty["points"], serde_json::json!([]));

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("from=yesterday", "from"),
        ("to=x", "to"),
        ("from=10&to=5", "from"),
    ] {
        let (code, e) = get_json(
            &client,
            &server.url(&format!("/api/services/bench-3/history?{query}")),
        )
        .await;
        assert_eq!(code, 400, "{query}: {e}");
        assert_eq!(e["error"]["field"], field, "{query}: {e}");
        assert_eq!(e["error"]["code"], "bad_request");
    }
    let (code, _) = get_json(&client, &server.url("/api/services/nope/history")).await;
    assert_eq!(code, 404);

    // Buckets: every result of the service lands in exactly one bucket.
    for step in ["1m", "60", "1h", "15s"] {
        let (code, b) = get_json(
            &client,
            &server.url(&format!("/api/services/bench-3/history?step={step}")),
        )
        .await;
        assert_eq!(code, 200, "{step}: {b}");
        let buckets = b["buckets"].as_array().unwrap();
        let count: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
        assert_eq!(count, RESULTS / SERVICES, "{step}: {b}");
        assert!(buckets[0]["start"].as_str().unwrap().ends_with('Z'));
        assert!(buckets[0]["response_time_ms"]["p99"].is_number(), "{b}");
    }
    let (code, m) = get_json(&client, &server.url("/api/services/bench-3/metrics")).await;
    assert_eq!(code, 200, "{m}");
    assert_eq!(m["count"], RESULTS / SERVICES);
    assert_eq!(m["service_id"], "bench-3");
    for field in ["uptime_pct", "error_rate", "source"] {
        assert!(!m[field].is_null(), "missing {field}: {m}");
    }
    for key in ["p50", "p95", "p99"] {
        assert!(m["response_time_ms"][key].is_number(), "missing {key}: {m}");
    }
    for (path, field) in [
        ("history?step=0", "step"),
        ("history?step=500ms", "step"),
        ("history?step=soon", "step"),
        ("history?step=1s&from=0", "step"),
        ("metrics?from=later", "from"),
        ("metrics?from=10&to=5", "from"),
    ] {
        let (code, e) = get_json(
            &client,
            &server.url(&format!("/api/services/bench-3/{path}")),
        )
        .await;
        assert_eq!(code, 400, "{path}: {e}");
        assert_eq!(e["error"]["field"], field, "{path}: {e}");
    }
    let (code, _) = get_json(&client, &server.url("/api/services/nope/metrics")).await;
    assert_eq!(code, 404);
    // Minutes of history are no baseline: nothing is unusual yet.
    let (code, a) = get_json(&client, &server.url("/api/services/bench-3/anomalies")).await;
    assert_eq!(code, 200, "{a}");
    assert_eq!(a["anomalies"], serde_json::json!([]), "{a}");
    let (code, _) = get_json(&client, &server.url("/api/services/nope/anomalies")).await;
    assert_eq!(code, 404);
    // A range ending past the year 9999 is answered (it panicked writing `to`).
    let far = "/api/services/bench-3/metrics?from=0&to=409724318883759";
    let (code, m) = get_json(&client, &server.url(far)).await;
    assert_eq!(code, 200, "{m}");
    assert_eq!(m["to"], "9999-12-31T23:59:59.999Z", "{m}");

    let (_, agents) = get_json(&client, &server.url("/api/agents")).await;
    assert_eq!(agents[0]["agent_id"], "node-a");
    assert_eq!(agents[0]["hostname"], "test-host");
    assert!(agents[0]["last_seen"].as_str().unwrap().ends_with('Z'));
    support::eventually(
        Duration::from_secs(5),
        "agent shown disconnected after bench",
        || {
            let client = client.clone();
            let url = server.url("/api/agents");
            async move { (get_json(&client, &url).await.1[0]["connected"] == false).then_some(()) }
        },
    )
    .await;

    let metrics = support::get_text(&client, &server.url("/metrics")).await;
    assert!(
        metrics.contains(&format!("lightbulb_results_ingested_total {RESULTS}\n")),
        "{metrics}"
    );
    assert!(
        metrics.contains("lightbulb_ingest_latency_seconds_count "),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("lightbulb_services {SERVICES}\n")),
        "{metrics}"
    );
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_resumes_after_last_event_id_and_sends_heartbeats() {
    let (server, spool) = fed_collector().await;
    let client = http();
    let url = server.url("/api/status/stream");

    // Everything since event 0: the whole stored change log, in order.
    let mut from_start = SseReader::connect(&client, &url, Some(0)).await;
    let mut all = Vec::new();
    while let Some(e) = from_start.next(Duration::from_millis(500)).await {
        all.push(e);
    }
    assert!(all.len() > SERVICES as usize, "only {} events", all.len());
    let ids: Vec<i64> = all.iter().map(|e| e.id.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids not increasing");
    // Every service's first event has no previous status.
    assert!(all.iter().any(|e| e.data["previous_status_code"].is_null()));

    // Resuming after the 5th event yields exactly the rest.
    let mut resumed = SseReader::connect(&client, &url, Some(ids[4])).await;
    let mut rest = Vec::new();
    while let Some(e) = resumed.next(Duration::from_millis(500)).await {
        rest.push(e.id.unwrap());
    }
    assert_eq!(rest, ids[5..].to_vec());

    // A new client gets only new changes, and heartbeats while idle.
    let mut live = SseReader::connect(&client, &url, None).await;
    assert!(
        live.next(Duration::from_millis(1500)).await.is_none(),
        "no old events for a new client"
    );
    assert!(live.comments >= 1, "no heartbeat comment within 1.5 s");
    let etag = |r: reqwest::Response| r.headers()["etag"].to_str().unwrap().to_string();
    let before = etag(client.get(server.url("/api/status")).send().await.unwrap());
    let config = server.agent_config("node-a", spool.path());
    lightbulb_agent::bench::run(&config, 200, SERVICES, "bench", CancellationToken::new())
        .await
        .unwrap();
    let next = live
        .next(Duration::from_secs(5))
        .await
        .expect("a live event");
    let after = client
        .get(server.url("/api/status"))
        .header("If-None-Match", &before)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        200,
        "statuses changed, so the old ETag must not match"
    );
    assert_ne!(etag(after), before);
    assert!(next.id.unwrap() > *ids.last().unwrap());

    let (code, e) = get_json(&client, &format!("{url}?last_event_id=abc")).await;
    assert_eq!(code, 400);
    assert_eq!(e["error"]["field"], "last_event_id");
}

/// Every route the collector serves, as (method, path).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_in_the_openapi_document_and_the_docs_page() {
    let server = InProcess::start(&[]).await;
    let client = http();
    let (code, doc) = get_json(&client, &server.url("/api/openapi.json")).await;
    assert_eq!(code, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'), "{doc}");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = 0;
    // The routes as the access table lists them (the dashboard's `/` is
    // not part of the API document).
    let routes = lightbulb_collector::access::ROUTES
        .iter()
        .filter(|r| r.path != "/")
        .map(|r| (r.method.to_lowercase(), r.path));
    for (method, path) in routes {
        let method = method.as_str();
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
        documented += 1;
        // And the route is served: a request to it is not the 404 fallback.
        let url = server.url(
            &path
                .replace("{service_id}", "x")
                .replace("{relation_id}", "x")
                .replace("{token_id}", "x")
                .replace("{audit_id}", "1"),
        );
        let req = client.request(method.parse().unwrap(), url);
        let r = if path == "/api/status/stream" {
            req.timeout(Duration::from_millis(300)).send().await
        } else {
            req.send().await
        };
        if let Ok(r) = r {
            let body = r.text().await.unwrap_or_default();
            assert!(
                !body.contains("no such endpoint"),
                "{method} {path} is not served: {body}"
            );
        }
    }
    let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        operations, documented,
        "the document has operations this test does not list"
    );
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "LatestStatus",
        "ServiceResponse",
        "RelationResponse",
        "ErrorBody",
        "Buckets",
        "Summary",
        "BulkOperationResponse",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    let page = support::get_text(&client, &server.url("/api/docs")).await;
    assert!(page.contains("/api/openapi.json"));
}

/// The dashboard bundle (`web/dist`, built by scripts/test.sh before these
/// tests, which then sets LIGHTBULB_TEST_WEB=1) is served at `/`: hashed
/// assets cached for a year, the dashboard's routes answered with its page,
/// the API's unknown paths still JSON 404s.
#[tokio::test]
async fn the_dashboard_is_served_with_spa_fallback_and_cached_assets() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist");
    let required = std::env::var("LIGHTBULB_TEST_WEB").is_ok_and(|v| v == "1");
    assert!(
        dist.join("index.html").exists() || !required,
        "LIGHTBULB_TEST_WEB=1 but web/dist is not built"
    );
    let server = InProcess::start(&["node-a"]).await;
    let client = http();
    let get = |path: &str| client.get(server.url(path)).send();
    let page = get("/").await.unwrap();
    if !dist.join("index.html").exists() {
        eprintln!("skipped: web/dist is not built (npm run build in web/)");
        assert!(page.text().await.unwrap().contains("/api/status"));
        return;
    }
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<div id="root">"#), "{html}");
    let asset = std::fs::read_dir(dist.join("assets"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".js"))
        .expect("a js asset");
    let js = get(&format!("/assets/{asset}")).await.unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let route = get("/services/web").await.unwrap();
    assert_eq!(route.status(), 200);
    assert_eq!(route.text().await.unwrap(), html);
    for missing in ["/api/nope", "/assets/nope.js"] {
        let r = get(missing).await.unwrap();
        assert_eq!(r.status(), 404, "{missing}");
        assert!(r.text().await.unwrap().contains("\"error\""), "{missing}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_refused_before_a_handler_get_the_json_error_naming_the_field() {
    let server = InProcess::start(&[]).await;
    let client = http();
    let r = client
        .delete(server.url("/api/admin/services/web?cascade=null"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
    assert_eq!(body["error"]["field"], "cascade", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("provided string was not `true` or `false`"),
        "{body}"
    );
}
