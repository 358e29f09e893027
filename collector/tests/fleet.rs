//! Checks assigned from the catalog: a service created through the API is
//! run by the matching agent (real agent code, in-process) without a
//! restart, at once even with a long interval (and again at once when
//! changed), and stops when disabled.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{InProcess, eventually, get_json, http, send};

async fn total(client: &reqwest::Client, server: &InProcess, id: &str) -> u64 {
    get_json(
        client,
        &server.url(&format!("/api/services/{id}/history?limit=1")),
    )
    .await
    .1["total"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_created_service_runs_on_the_matching_agent_until_disabled() {
    let server = InProcess::start(&["node-a"]).await;
    let client = http();
    let spool = tempfile::tempdir().unwrap();
    let mut config = server.agent_config("node-a", spool.path());
    config.labels = [("zone".to_string(), "eu".to_string())].into();
    let agent = tokio_util::sync::CancellationToken::new();
    tokio::spawn(lightbulb_agent::run(config, agent.clone()));
    eventually(Duration::from_secs(10), "agent connected", || async {
        let (_, agents) = get_json(&client, &server.url("/api/agents")).await;
        (agents[0]["connected"] == true).then_some(())
    })
    .await;

    let create = |id: &str, zone: &str| {
        json!({
            "service_id": id, "label": id, "service_type": "api_endpoint",
            "labels": {"zone": zone},
            "status_config": {"url": format!("tcp://{}", server.http), "interval": "200ms"},
        })
    };
    let created = Instant::now();
    let (code, body) = send(
        &client,
        reqwest::Method::POST,
        server.url("/api/admin/services"),
        create("fleet-web", "eu"),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let (code, _) = send(
        &client,
        reqwest::Method::POST,
        server.url("/api/admin/services"),
        create("fleet-us", "us"),
    )
    .await;
    assert_eq!(code, 201);

    eventually(
        Duration::from_secs(5),
        "fleet-web OK within 5 s of its creation",
        || async {
            let (_, s) = get_json(&client, &server.url("/api/status/fleet-web")).await;
            (s["status"] == "OK").then_some(())
        },
    )
    .await;
    println!("first result after {:?}", created.elapsed());
    let (_, s) = get_json(&client, &server.url("/api/status/fleet-web")).await;
    assert_eq!(s["agent_id"], "node-a");
    // Served with the catalog's label and agent labels (the dashboard filters on them).
    assert_eq!(
        (s["label"].clone(), s["labels"].clone()),
        (json!("fleet-web"), json!({"zone": "eu"}))
    );
    let (_, agents) = get_json(&client, &server.url("/api/agents")).await;
    assert_eq!(agents[0]["assigned_checks"], json!(["fleet-web"]));
    // Nobody's labels match this one: it says so.
    let (_, us) = get_json(&client, &server.url("/api/status/fleet-us")).await;
    assert_eq!(us["status"], "UNKNOWN");
    assert_eq!(us["labels"], json!({"zone": "us"}));
    assert!(
        us["message"]
            .as_str()
            .unwrap()
            .contains("no connected agent runs this check"),
        "{us}"
    );
    let (_, all) = get_json(&client, &server.url("/api/status")).await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|s| s["service_id"] == "fleet-us")
    );

    // Once the agent runs, a new check runs at once (not at a random point
    // of its interval, as at agent start), and so does a changed one.
    let mut slow = create("fleet-slow", "eu");
    slow["status_config"]["interval"] = json!("5m");
    let (code, body) = send(
        &client,
        reqwest::Method::POST,
        server.url("/api/admin/services"),
        slow,
    )
    .await;
    assert_eq!(code, 201, "{body}");
    eventually(
        Duration::from_secs(5),
        "a check with a 5 minute interval run within 5 s of its creation",
        || async { (total(&client, &server, "fleet-slow").await == 1).then_some(()) },
    )
    .await;
    let (code, body) = send(
        &client,
        reqwest::Method::PUT,
        server.url("/api/admin/services/fleet-slow"),
        json!({"status_config": {"url": format!("tcp://{}", server.grpc), "interval": "5m"}}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    eventually(
        Duration::from_secs(5),
        "the changed check run within 5 s",
        || async { (total(&client, &server, "fleet-slow").await == 2).then_some(()) },
    )
    .await;

    let (code, _) = send(
        &client,
        reqwest::Method::PUT,
        server.url("/api/admin/services/fleet-web"),
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(code, 200);
    eventually(Duration::from_secs(5), "check unassigned", || async {
        let (_, agents) = get_json(&client, &server.url("/api/agents")).await;
        (agents[0]["assigned_checks"] == json!(["fleet-slow"])).then_some(())
    })
    .await;
    // A result already running may still land; after that, none.
    let settled = eventually(Duration::from_secs(5), "results stop", || async {
        let before = total(&client, &server, "fleet-web").await;
        tokio::time::sleep(Duration::from_millis(1000)).await; // five intervals of the check
        (total(&client, &server, "fleet-web").await == before).then_some(before)
    })
    .await;
    assert!(settled > 0);
    agent.cancel();
}
