//! The admin API against an in-process collector: services and relations,
//! every rule, and each refusal with its status and JSON error body.

mod support;

use serde_json::{Value, json};
use support::api::{Api, refused};

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

/// Lists (which read statuses and the catalog) racing catalog changes. The
/// catalog lock prefers writers, so a list that took it twice while a change
/// waited stalled every worker thread; the runtime then cannot even time
/// out, hence the watchdog on the test's own thread.
#[test]
fn lists_racing_changes_never_stall() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // Over a thousand requests at once: not what the rate limit is for.
            let server =
                support::InProcess::start_with(&[], |c| c.limits.requests_per_second = 0).await;
            let api = std::sync::Arc::new(Api {
                server,
                client: support::http(),
                actor: "anonymous",
            });
            for i in 0..40 {
                api.service(&format!("s{i}")).await;
            }
            let readers: Vec<_> = (0..3)
                .map(|_| {
                    let api = api.clone();
                    tokio::spawn(async move {
                        for _ in 0..150 {
                            let (code, _) = api.get("/api/admin/services?per_page=100").await;
                            assert_eq!(code, 200);
                        }
                    })
                })
                .collect();
            for n in 0..300 {
                let (code, body) = api
                    .put(
                        "/api/admin/services/s0",
                        json!({"label": format!("label {n}")}),
                    )
                    .await;
                assert_eq!(code, 200, "{body}");
            }
            for r in readers {
                r.await.unwrap();
            }
        });
        let _ = done.send(());
    });
    match finished.recv_timeout(std::time::Duration::from_secs(120)) {
        Ok(()) => {}
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("lists and changes stalled: a lock is taken twice or out of order")
        }
        Err(e) => panic!("the requests failed (their panic is printed above): {e}"),
    }
}
