//! Two collectors sharing one ClickHouse database, each with its own agent:
//! each collector's `/api/status` and SSE stream show what the other
//! ingested, both agree within 5 s, and catalog changes made through one
//! reach the other.

mod support;

use std::time::{Duration, Instant};

use support::sse::SseReader;
use support::{Collector, Proc, StoreSpec, agent_config, certs, get_json, http};

const RESULTS: u64 = 3000;
const SERVICES: u64 = 30;

fn bench(config: &std::path::Path, prefix: &str) -> Proc {
    let (results, services) = (RESULTS.to_string(), SERVICES.to_string());
    let args = [
        "--results",
        &results,
        "--services",
        &services,
        "--prefix",
        prefix,
    ];
    support::agent_bench(prefix, config, &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_one_clickhouse_agree_within_five_seconds() {
    let Some(server) = support::clickhouse::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path(), &["node-a", "node-b"]);
    let store = StoreSpec::ClickHouse {
        url: server.url.clone(),
        database: support::clickhouse::fresh_database("replicas"),
    };
    let one = Collector::start_with(dir.path(), &certs, store.clone());
    let two = Collector::start_with(dir.path(), &certs, store);
    let client = http();
    let mut two_stream = SseReader::connect(&client, &two.url("/api/status/stream"), None).await;

    // node-a reports only to collector one, node-b only to collector two.
    let mut a = bench(
        &agent_config(dir.path(), &certs, "node-a", one.grpc, ""),
        "alpha",
    );
    let mut b = bench(
        &agent_config(dir.path(), &certs, "node-b", two.grpc, ""),
        "beta",
    );
    for agent in [&mut a, &mut b] {
        let code = tokio::task::block_in_place(|| agent.wait_exit(Duration::from_secs(120)));
        assert_eq!(code, 0, "bench failed:\n{}", agent.lines().join("\n"));
    }
    let done = Instant::now();

    // Both collectors show all 60 services, identically.
    let deadline = done + Duration::from_secs(5);
    loop {
        let (_, first) = get_json(&client, &one.url("/api/status")).await;
        let (_, second) = get_json(&client, &two.url("/api/status")).await;
        let n = first.as_array().map_or(0, |a| a.len());
        if n == 2 * SERVICES as usize && first == second {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replicas disagree 5 s after the agents finished: {n} services at one, {} at two",
            second.as_array().map_or(0, |a| a.len())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, alpha) = get_json(&client, &two.url("/api/status/alpha-7")).await;
    assert_eq!(alpha["agent_id"], "node-a", "{alpha}");

    // Collector two's stream carried status changes ingested by collector one.
    let mut from_one = 0;
    while let Some(e) = two_stream.next(Duration::from_secs(2)).await {
        if e.data["agent_id"] == "node-a" {
            from_one += 1;
        }
    }
    assert!(
        from_one >= SERVICES,
        "only {from_one} events from collector one's agent"
    );
    // A service defined through one collector is known to the other.
    let r = client
        .post(one.url("/api/admin/services"))
        .json(&serde_json::json!({"service_id": "shared", "label": "Shared", "service_type": "api_endpoint",
            "status_config": {"url": "http://shared.internal/"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    support::eventually(
        Duration::from_secs(5),
        "the service at collector two",
        || async {
            let (code, s) = get_json(&client, &two.url("/api/admin/services/shared")).await;
            (code == 200 && s["label"] == "Shared").then_some(())
        },
    )
    .await;
    // And the history API of either one reads every result.
    let (_, h) = get_json(&client, &two.url("/api/services/alpha-7/history?limit=1")).await;
    assert_eq!(h["total"], RESULTS / SERVICES);
}
