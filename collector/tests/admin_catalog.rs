//! The catalog beyond single edits: application roll-ups with real agent
//! checks, all-or-nothing imports and exports, and a large dependency graph.

mod support;

use serde_json::{Value, json};
use support::api::Api;
use support::{InProcess, http};

/// Real checks from a real agent's own configuration (in-process): `web`
/// connects to the collector's HTTP port (OK), `db` to a closed port
/// (FAILED). The agent registers them in the catalog as its own.
async fn checked_services(
    api: &Api,
    spool: &std::path::Path,
) -> tokio_util::sync::CancellationToken {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = api.server.agent_config("node-a", spool);
    for (id, addr) in [("web", api.server.http), ("db", closed)] {
        config.checks.push(lightbulb_agent::plan::CheckConfig {
            service_id: id.into(),
            service_type: "api_endpoint".into(),
            label: None,
            interval: std::time::Duration::from_millis(200),
            timeout: None,
            grace: None,
            status_config: json!({"url": format!("tcp://{addr}")}),
        });
    }
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(lightbulb_agent::run(config, stop.clone()));
    stop
}

async fn wait_status(api: &Api, id: &str, status: &str) -> Value {
    support::eventually(
        std::time::Duration::from_secs(10),
        &format!("{id} {status}"),
        || async {
            let (code, s) = api.get(&format!("/api/status/{id}")).await;
            (code == 200 && s["status"] == status).then_some(s)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_roll_up_their_dependencies_and_statuses_name_their_cause() {
    let api = Api {
        server: InProcess::start(&["node-a"]).await,
        client: http(),
        actor: "anonymous",
    };
    let spool = tempfile::tempdir().unwrap();
    let agent = checked_services(&api, spool.path()).await;
    // The agent's own checks are in the catalog as its own, read-only.
    for id in ["web", "db"] {
        let def = support::eventually(
            std::time::Duration::from_secs(10),
            &format!("{id} registered by the agent"),
            || async {
                let (code, s) = api.get(&format!("/api/admin/services/{id}")).await;
                (code == 200).then_some(s)
            },
        )
        .await;
        assert_eq!(def["managed_by"], "agent:node-a", "{def}");
        let (code, body) = api
            .put(
                &format!("/api/admin/services/{id}"),
                json!({"label": "mine"}),
            )
            .await;
        assert_eq!(code, 409, "{body}");
    }
    for (id, kind, config) in [
        (
            "shop",
            "application",
            json!({"on_dependency_failed": "failed"}),
        ),
        ("portal", "application", json!({})),
    ] {
        let (code, body) = api
            .post("/api/admin/services", json!({"service_id": id, "label": id, "service_type": kind, "status_config": config}))
            .await;
        assert_eq!(code, 201, "{body}");
    }
    for (s, t) in [("shop", "web"), ("shop", "db"), ("portal", "shop")] {
        assert_eq!(api.relation(s, t, "dependency").await.0, 201);
    }
    // An import may name them too.
    let (code, body) = api
        .post(
            "/api/admin/import?dry_run=true",
            json!({"relations": [{"source_service_id": "portal", "target_service_id": "db", "relation_type": "communication"}]}),
        )
        .await;
    assert_eq!((code, &body["created"]), (200, &json!(1)), "{body}");

    let shop = wait_status(&api, "shop", "FAILED").await;
    assert_eq!(shop["message"], "dependency FAILED: db");
    assert_eq!(shop["caused_by"], json!(["db"]));
    assert_eq!(shop["agent_id"], "lightbulb-collector");
    let portal = wait_status(&api, "portal", "DEGRADED").await;
    assert_eq!(portal["caused_by"], json!(["shop"]));
    let web = wait_status(&api, "web", "OK").await;
    assert_eq!(web["caused_by"], json!([]));
    let (_, all) = api.get("/api/status").await;
    let db = all
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_id"] == "db")
        .unwrap();
    assert_eq!(
        (db["status"].clone(), db["caused_by"].clone()),
        (json!("FAILED"), json!([]))
    );

    // The rule is configuration: a catalog change alone re-derives.
    let (code, _) = api
        .put(
            "/api/admin/services/shop",
            json!({"status_config": {"on_dependency_failed": "degraded"}}),
        )
        .await;
    assert_eq!(code, 200);
    wait_status(&api, "shop", "DEGRADED").await;
    let (_, rels) = api.get("/api/admin/relations?service_id=db").await;
    let shop_db = rels[0]["relation_id"].as_str().unwrap().to_string();
    api.delete(&format!("/api/admin/relations/{shop_db}")).await;
    let shop = wait_status(&api, "shop", "OK").await;
    assert_eq!(shop["message"], "all 1 dependencies OK");
    wait_status(&api, "portal", "OK").await;
    // Each change is a stored result with history.
    let (_, history) = api.get("/api/services/shop/history").await;
    assert!(history["total"].as_u64().unwrap() >= 3, "{history}");
    agent.cancel();
}

fn document() -> Value {
    json!({
        "services": [
            {"service_id": "web", "label": "Web", "service_type": "api_endpoint",
             "status_config": {"url": "http://web.internal/health", "interval": "10s"}, "labels": {"zone": "eu"}},
            {"service_id": "db", "label": "Database, primary", "service_type": "api_endpoint",
             "status_config": {"url": "tcp://db.internal:5432"}, "metric_config": {"response_time_ms": {"degraded": 400, "failed": 2000}, "window": "10m"}},
            {"service_id": "shop", "label": "Shop", "service_type": "application", "enabled": false,
             "status_config": {"on_dependency_failed": "failed"}},
        ],
        "relations": [
            {"source_service_id": "shop", "target_service_id": "web", "relation_type": "dependency"},
            {"relation_id": "rel-web-db", "source_service_id": "web", "target_service_id": "db", "relation_type": "data-flow"},
        ],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_are_all_or_nothing_and_exports_read_back_the_same() {
    let api = Api::start().await;
    assert_eq!(
        api.get("/api/admin/export").await.1,
        json!({"services": [], "relations": []})
    );

    let (code, dry) = api.post("/api/admin/import?dry_run=true", document()).await;
    assert_eq!(code, 200, "{dry}");
    assert_eq!(
        (dry["dry_run"].clone(), dry["created"].clone()),
        (json!(true), json!(5))
    );
    assert_eq!(
        api.get("/api/admin/services").await.1["total"],
        0,
        "a dry run stores nothing"
    );

    let mut bad = document();
    bad["services"]
        .as_array_mut()
        .unwrap()
        .push(json!({"service_id": "bad", "label": "Bad",
        "service_type": "api_endpoint", "status_config": {"url": "nope"}}));
    bad["relations"].as_array_mut().unwrap().push(json!({"source_service_id": "shop", "target_service_id": "ghost", "relation_type": "dependency"}));
    bad["relations"].as_array_mut().unwrap().push(json!({"source_service_id": "web", "target_service_id": "shop", "relation_type": "dependency"}));
    let (code, refused) = api.post("/api/admin/import", bad).await;
    assert_eq!(code, 422, "{refused}");
    let problems = refused["problems"].as_array().unwrap();
    let items: Vec<&str> = problems
        .iter()
        .map(|p| p["item"].as_str().unwrap())
        .collect();
    assert_eq!(
        items,
        ["services[3] `bad`", "relations[2]", "relations"],
        "{refused}"
    );
    assert_eq!(problems[0]["field"], "status_config.url");
    let cycle = problems[2]["message"].as_str().unwrap();
    assert!(
        cycle.contains("cycle") && cycle.contains("shop → web → shop")
            || cycle.contains("web → shop → web"),
        "{refused}"
    );
    assert_eq!(
        api.get("/api/admin/services").await.1["total"],
        0,
        "nothing imported"
    );

    let (code, done) = api.post("/api/admin/import", document()).await;
    assert_eq!((code, done["created"].clone()), (200, json!(5)), "{done}");
    // The same document again changes nothing.
    let (_, again) = api.post("/api/admin/import", document()).await;
    assert_eq!(
        (again["created"].clone(), again["updated"].clone()),
        (json!(0), json!(0))
    );
    let exported = api.get("/api/admin/export").await.1;
    assert_eq!(exported["services"].as_array().unwrap().len(), 3);
    assert_eq!(exported["relations"][1]["relation_id"], "rel-web-db");

    // Round trips into a fresh collector: JSON, then CSV.
    let other = Api::start().await;
    assert_eq!(
        other.post("/api/admin/import", exported.clone()).await.0,
        200
    );
    assert_eq!(other.get("/api/admin/export").await.1, exported);
    let third = Api::start().await;
    for kind in ["services", "relations"] {
        let csv = api
            .client
            .get(api.server.url(&format!("/api/admin/export/{kind}.csv")))
            .send()
            .await
            .unwrap();
        assert!(
            csv.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let text = csv.text().await.unwrap();
        let r = third
            .client
            .post(third.server.url(&format!("/api/admin/import/{kind}.csv")))
            .header("content-type", "text/csv")
            .body(text)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    assert_eq!(third.get("/api/admin/export").await.1, exported);
    let r = third
        .client
        .post(third.server.url("/api/admin/import/services.csv"))
        .header("content-type", "text/csv")
        .body("service_id,colour\nx,red\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("unknown column `colour`"));
}

/// The cycle check on a large catalog (1,000 services, 3,000 dependencies)
/// imported in one request; its speed is measured in `benches/catalog.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cycles_are_found_in_a_large_catalog() {
    let api = Api::start().await;
    let services: Vec<Value> = (0..1000)
        .map(|i| json!({"service_id": format!("svc-{i}"), "label": format!("Service {i}"),
            "service_type": "api_endpoint", "status_config": {"url": format!("tcp://svc-{i}.internal:80")}}))
        .collect();
    // A chain 0 → 1 → … → 999, plus forward edges that skip ahead: a DAG.
    let mut edges: Vec<(usize, usize)> = (0..999).map(|i| (i, i + 1)).collect();
    let mut x: u64 = 7;
    while edges.len() < 3000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let a = (x >> 33) as usize % 1000;
        let b = (x >> 13) as usize % 1000;
        if a + 2 <= b && !(a == 10 && b == 990) && !edges.contains(&(a, b)) {
            edges.push((a, b));
        }
    }
    let relations: Vec<Value> = edges
        .iter()
        .map(|(a, b)| json!({"source_service_id": format!("svc-{a}"), "target_service_id": format!("svc-{b}"), "relation_type": "dependency"}))
        .collect();
    let (code, done) = api
        .post(
            "/api/admin/import",
            json!({"services": services, "relations": relations}),
        )
        .await;
    assert_eq!(
        (code, done["created"].clone()),
        (200, json!(4000)),
        "{done}"
    );

    let (code, e) = api.relation("svc-999", "svc-0", "dependency").await;
    assert_eq!(code, 409, "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("svc-999 → svc-0 → ") && message.ends_with("→ svc-999"),
        "{message}"
    );
    let (code, ok) = api
        .post("/api/admin/relations/validate", json!({"source_service_id": "svc-10", "target_service_id": "svc-990", "relation_type": "dependency"}))
        .await;
    assert_eq!((code, ok), (200, json!({"valid": true})));
}
