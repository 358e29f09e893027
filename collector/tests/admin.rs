//! The admin API against an in-process collector: services and relations,
//! every rule, and each refusal with its status and JSON error body.

mod support;

use serde_json::{Value, json};
use support::{InProcess, http};

struct Api {
    server: InProcess,
    client: reqwest::Client,
}

impl Api {
    async fn start() -> Api {
        Api {
            server: InProcess::start(&[]).await,
            client: http(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.client.request(method, self.server.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let code = r.status().as_u16();
        (code, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    async fn service(&self, id: &str) -> Value {
        let (code, body) = self
            .post(
                "/api/admin/services",
                json!({
                    "service_id": id,
                    "label": format!("Service {id}"),
                    "service_type": "api_endpoint",
                    "status_config": {"url": format!("http://{id}.internal/health")},
                }),
            )
            .await;
        assert_eq!(code, 201, "{body}");
        body
    }

    async fn relation(&self, source: &str, target: &str, kind: &str) -> (u16, Value) {
        self.post(
            "/api/admin/relations",
            json!({"source_service_id": source, "target_service_id": target, "relation_type": kind}),
        )
        .await
    }
}

#[track_caller]
fn refused(got: (u16, Value), code: u16, field: Option<&str>, says: &str) {
    let (status, body) = got;
    assert_eq!(status, code, "{body}");
    let error = &body["error"];
    match field {
        Some(f) => assert_eq!(error["field"], f, "{body}"),
        None => assert!(error.get("field").is_none(), "{body}"),
    }
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "`{message}` should say `{says}`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_are_created_read_updated_and_refused_with_reasons() {
    let api = Api::start().await;
    let created = api.service("web").await;
    assert_eq!(created["service_id"], "web");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["status"], "UNKNOWN");
    assert_eq!(created["metric_config"], Value::Null);
    assert_eq!(
        created["relations"],
        json!({"incoming": [], "outgoing": []})
    );
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let post = |body: Value| api.post("/api/admin/services", body);
    let base = json!({
        "service_id": "api", "label": "API", "service_type": "api_endpoint",
        "status_config": {"url": "http://api.internal/"}
    });
    let with = |key: &str, value: Value| {
        let mut b = base.clone();
        b[key] = value;
        b
    };
    refused(
        post(with("service_id", json!("web"))).await,
        409,
        None,
        "already exists",
    );
    refused(
        post(with("service_id", json!("Bad_ID"))).await,
        422,
        Some("service_id"),
        "must match",
    );
    refused(
        post(with("label", json!(5))).await,
        422,
        Some("label"),
        "must be a string",
    );
    refused(
        post(with("label", json!(" "))).await,
        422,
        Some("label"),
        "must not be empty",
    );
    refused(
        post(with("service_type", json!("nope"))).await,
        422,
        Some("service_type"),
        "`nope`",
    );
    refused(
        post(with("colour", json!("red"))).await,
        422,
        Some("colour"),
        "unknown field",
    );
    refused(
        post(with("status_config", json!({"url": "ftp://x"}))).await,
        422,
        Some("status_config.url"),
        "http://",
    );
    refused(
        post(with(
            "status_config",
            json!({"url": "http://x", "timout": 3}),
        ))
        .await,
        422,
        Some("status_config"),
        "unknown field `timout`",
    );
    refused(
        post(with(
            "status_config",
            json!({"url": "http://x", "expected_status": [999]}),
        ))
        .await,
        422,
        Some("status_config.expected_status"),
        "999",
    );
    let mut process = with("service_type", json!("python_process"));
    process["status_config"] = json!({"cmdline": "worker(["});
    refused(
        post(process).await,
        422,
        Some("status_config.cmdline"),
        "invalid regex",
    );
    refused(
        post(with("metric_config", json!([1]))).await,
        422,
        Some("metric_config"),
        "object",
    );
    refused(
        post(with("labels", json!({"zone": 1}))).await,
        422,
        Some("labels.zone"),
        "string",
    );
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("label");
    refused(post(missing).await, 422, Some("label"), "is required");
    let raw = api
        .client
        .post(api.server.url("/api/admin/services"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let app = json!({"service_id": "shop", "label": "Shop", "service_type": "application",
        "status_config": {"on_dependency_failed": "sometimes"}});
    refused(
        post(app).await,
        422,
        Some("status_config.on_dependency_failed"),
        "one of",
    );

    let (code, one) = api.get("/api/admin/services/web").await;
    assert_eq!((code, &one["label"]), (200, &json!("Service web")));
    refused(
        api.get("/api/admin/services/nope").await,
        404,
        None,
        "`nope`",
    );

    let (code, updated) = api
        .put(
            "/api/admin/services/web",
            json!({"label": "Web shop", "enabled": false, "labels": {"zone": "eu"}}),
        )
        .await;
    assert_eq!(code, 200, "{updated}");
    assert_eq!(
        (&updated["label"], &updated["enabled"]),
        (&json!("Web shop"), &json!(false))
    );
    assert_eq!(updated["labels"], json!({"zone": "eu"}));
    assert_eq!(
        updated["status_config"], created["status_config"],
        "untouched fields stay"
    );
    refused(
        api.put("/api/admin/services/web", json!({"service_id": "web2"}))
            .await,
        422,
        Some("service_id"),
        "cannot be changed",
    );
    refused(
        api.put(
            "/api/admin/services/web",
            json!({"status_config": {"url": "nope"}}),
        )
        .await,
        422,
        Some("status_config.url"),
        "not a URL",
    );
    assert_eq!(
        api.get("/api/admin/services/web").await.1["label"],
        "Web shop"
    );
    refused(
        api.put("/api/admin/services/nope", json!({})).await,
        404,
        None,
        "not found",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_list_pages_searches_filters_and_sorts() {
    let api = Api::start().await;
    for i in 0..12 {
        api.service(&format!("svc-{i:02}")).await;
    }
    api.put(
        "/api/admin/services/svc-03",
        json!({"enabled": false, "label": "Checkout"}),
    )
    .await;
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["service_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (code, page) = api.get("/api/admin/services?per_page=5&page=3").await;
    assert_eq!(code, 200, "{page}");
    assert_eq!(
        (page["total"].clone(), ids(&page)),
        (json!(12), vec!["svc-10".into(), "svc-11".into()])
    );
    let (_, found) = api.get("/api/admin/services?search=checkout").await;
    assert_eq!(ids(&found), ["svc-03"]);
    let (_, off) = api.get("/api/admin/services?enabled=false").await;
    assert_eq!(ids(&off), ["svc-03"]);
    let (_, typed) = api
        .get("/api/admin/services?service_type=python_process")
        .await;
    assert_eq!(typed["total"], 0);
    let (_, unknown) = api
        .get("/api/admin/services?status=unknown&per_page=1")
        .await;
    assert_eq!(unknown["total"], 12);
    let (_, reversed) = api
        .get("/api/admin/services?sort=-service_id&per_page=2")
        .await;
    assert_eq!(ids(&reversed), ["svc-11", "svc-10"]);
    let (_, by_label) = api.get("/api/admin/services?sort=label&per_page=1").await;
    assert_eq!(ids(&by_label), ["svc-03"]);
    for (query, field) in [
        ("per_page=0", "per_page"),
        ("per_page=501", "per_page"),
        ("page=x", "page"),
        ("enabled=maybe", "enabled"),
        ("sort=colour", "sort"),
    ] {
        refused(
            api.get(&format!("/api/admin/services?{query}")).await,
            400,
            Some(field),
            "",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relations_keep_dependencies_acyclic_and_deletes_cascade_on_request() {
    let api = Api::start().await;
    for id in ["a", "b", "c", "d"] {
        api.service(id).await;
    }
    let (code, ab) = api.relation("a", "b", "dependency").await;
    assert_eq!(code, 201, "{ab}");
    assert!(ab["relation_id"].as_str().unwrap().starts_with("rel-"));
    assert_eq!(api.relation("b", "c", "dependency").await.0, 201);
    refused(
        api.relation("c", "a", "dependency").await,
        409,
        None,
        "c → a → b → c",
    );
    refused(
        api.post("/api/admin/relations/validate", json!({"source_service_id": "c", "target_service_id": "a", "relation_type": "dependency"})).await,
        409,
        None,
        "c → a → b → c",
    );
    let (code, ok) = api
        .post("/api/admin/relations/validate", json!({"source_service_id": "c", "target_service_id": "d", "relation_type": "dependency"}))
        .await;
    assert_eq!((code, ok), (200, json!({"valid": true})));
    assert_eq!(
        api.get("/api/admin/relations")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        2,
        "validate saves nothing"
    );
    // Only dependencies must be acyclic.
    assert_eq!(api.relation("c", "a", "communication").await.0, 201);
    refused(
        api.relation("a", "a", "dependency").await,
        422,
        Some("target_service_id"),
        "two different",
    );
    refused(
        api.relation("x", "a", "dependency").await,
        422,
        Some("source_service_id"),
        "`x`",
    );
    refused(
        api.relation("a", "y", "dependency").await,
        422,
        Some("target_service_id"),
        "`y`",
    );
    refused(
        api.relation("a", "c", "depends").await,
        422,
        Some("relation_type"),
        "`depends`",
    );
    refused(
        api.relation("a", "b", "dependency").await,
        409,
        None,
        "already links a → b",
    );
    refused(
        api.post(
            "/api/admin/relations",
            json!({"source_service_id": "a", "relation_type": "dependency"}),
        )
        .await,
        422,
        Some("target_service_id"),
        "is required",
    );

    // Disabled, a dependency does not count; enabling it again is checked.
    let ab_path = format!(
        "/api/admin/relations/{}",
        ab["relation_id"].as_str().unwrap()
    );
    assert_eq!(api.put(&ab_path, json!({"enabled": false})).await.0, 200);
    let (code, ca) = api.relation("c", "a", "dependency").await;
    assert_eq!(code, 201, "{ca}");
    refused(
        api.put(&ab_path, json!({"enabled": true})).await,
        409,
        None,
        "a → b → c → a",
    );
    refused(
        api.put(&ab_path, json!({"relation_type": "x"})).await,
        422,
        Some("relation_type"),
        "`x`",
    );
    refused(
        api.get("/api/admin/relations/rel-nope").await,
        404,
        None,
        "`rel-nope`",
    );

    let (_, b) = api.get("/api/admin/services/b").await;
    assert_eq!(b["relations"]["incoming"][0]["service_id"], "a");
    assert_eq!(b["relations"]["outgoing"][0]["service_id"], "c");
    let (_, of_b) = api.get("/api/admin/relations?service_id=b").await;
    assert_eq!(of_b.as_array().unwrap().len(), 2);

    refused(
        api.delete("/api/admin/services/b").await,
        409,
        None,
        "cascade=true",
    );
    let (code, gone) = api.delete("/api/admin/services/b?cascade=true").await;
    assert_eq!(code, 200, "{gone}");
    assert_eq!(gone["relations_deleted"].as_array().unwrap().len(), 2);
    assert_eq!(api.get("/api/admin/services/b").await.0, 404);
    assert_eq!(
        api.get("/api/admin/relations?service_id=b").await.1,
        json!([])
    );
    let (code, _) = api
        .delete(&format!(
            "/api/admin/relations/{}",
            ca["relation_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(code, 200);
    // c → a (communication) is left.
    refused(
        api.delete("/api/admin/services/a").await,
        409,
        None,
        "has relations rel-",
    );
    let (_, gone) = api.delete("/api/admin/services/a?cascade=true").await;
    assert_eq!(gone["relations_deleted"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_operations_report_each_item_and_the_graph_shows_the_map() {
    let api = Api::start().await;
    for id in ["a", "b", "c"] {
        api.service(id).await;
    }
    assert_eq!(api.relation("a", "b", "dependency").await.0, 201);
    let bulk = |body: Value| api.post("/api/admin/services/bulk", body);

    let (code, r) = bulk(json!({"action": "disable", "service_ids": ["a", "b", "nope"]})).await;
    assert_eq!(code, 200, "{r}");
    assert_eq!(
        (r["success_count"].clone(), r["failed_count"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(r["errors"][0]["item_id"], "nope");
    assert!(
        r["errors"][0]["error_message"]
            .as_str()
            .unwrap()
            .contains("not found")
    );
    let (_, off) = api.get("/api/admin/services?enabled=false").await;
    assert_eq!(off["total"], 2);

    let (_, r) = bulk(json!({"action": "delete", "service_ids": ["a", "c"]})).await;
    assert_eq!(
        (
            r["success_count"].clone(),
            r["errors"][0]["item_id"].clone()
        ),
        (json!(1), json!("a"))
    );
    let (_, r) = bulk(json!({"action": "delete", "service_ids": ["a"], "cascade": true})).await;
    assert_eq!(r["success_count"], 1);

    refused(
        bulk(json!({"action": "explode", "service_ids": []})).await,
        422,
        Some("action"),
        "`explode`",
    );
    refused(
        bulk(json!({"action": "enable", "service_ids": "a"})).await,
        422,
        Some("service_ids"),
        "array",
    );
    refused(
        bulk(json!({"action": "enable"})).await,
        422,
        Some("service_ids"),
        "is required",
    );

    api.service("d").await;
    assert_eq!(api.relation("b", "d", "data-flow").await.0, 201);
    let (code, graph) = api.get("/api/graph").await;
    assert_eq!(code, 200);
    let nodes: Vec<&str> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["service_id"].as_str().unwrap())
        .collect();
    assert_eq!(nodes, ["b", "d"]);
    assert_eq!(graph["nodes"][0]["status"], "UNKNOWN");
    assert_eq!(graph["nodes"][0]["enabled"], false);
    assert_eq!(graph["edges"][0]["source"], "b");
    assert_eq!(graph["edges"][0]["relation_type"], "data-flow");
}

/// Real checks from a real agent (in-process): `web` connects to the
/// collector's HTTP port (OK), `db` to a closed port (FAILED).
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
        config.checks.push(lightbulb_agent::config::CheckConfig {
            service_id: id.into(),
            service_type: "api_endpoint".into(),
            interval: std::time::Duration::from_millis(200),
            timeout: None,
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
    };
    let spool = tempfile::tempdir().unwrap();
    let agent = checked_services(&api, spool.path()).await;
    for (id, kind, config) in [
        ("web", "api_endpoint", json!({"url": "tcp://127.0.0.1:1"})),
        ("db", "api_endpoint", json!({"url": "tcp://127.0.0.1:1"})),
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
             "status_config": {"url": "tcp://db.internal:5432"}, "metric_config": {"keep": ["latency"]}},
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
