//! The agent's `database` check against real ClickHouse servers (and a real
//! two-node cluster with ZooKeeper): each status it can produce, with the
//! reason in `message` and the evidence in `details`.

use lightbulb_testkit as support;

use lightbulb_agent::checks::Check;
use lightbulb_agent::checks::database::{DatabaseCheck, DatabaseSpec};
use lightbulb_common::Status;
use serde_json::{Value, json};
use support::clickhouse::{self, ClickHouse};

fn spec(url: &str, extra: Value) -> DatabaseSpec {
    let mut v = json!({"url": url});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    serde_json::from_value(v).unwrap()
}

async fn run(spec: DatabaseSpec) -> lightbulb_agent::checks::Outcome {
    lightbulb_common::tls::install_crypto_provider();
    DatabaseCheck::new(spec).run().await
}

fn sql(server: &ClickHouse, q: &str) {
    clickhouse::query(&server.url, "default", q).unwrap_or_else(|e| panic!("{q}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_server_is_ok_with_sizes_as_metrics_and_too_many_parts_degrade() {
    if !clickhouse::enabled() {
        return;
    }
    let server = ClickHouse::start();
    sql(
        &server,
        "CREATE TABLE default.events (d Date, x UInt64) ENGINE = MergeTree PARTITION BY d ORDER BY x",
    );
    for i in 0..4 {
        sql(
            &server,
            &format!("INSERT INTO default.events VALUES ('2026-11-27', {i})"),
        );
    }
    let ok = run(spec(&server.url, json!({}))).await;
    assert_eq!(ok.status, Status::Ok, "{}: {}", ok.message, ok.details);
    assert!(
        ok.message.starts_with("ClickHouse 18.") && ok.message.ends_with("healthy"),
        "{}",
        ok.message
    );
    assert_eq!(ok.metrics.extra["rows"], 4.0);
    assert!(
        ok.metrics.extra["bytes_on_disk"] > 0.0
            && ok.metrics.extra.contains_key("compression_ratio")
    );
    assert_eq!(ok.details["findings"], json!([]));
    // Per table, largest first: the one table with data.
    assert_eq!(
        ok.details["tables"][0]["table"], "default.events",
        "{}",
        ok.details
    );
    assert_eq!(ok.details["tables"][0]["rows"], 4.0);
    assert!(ok.details["tables"][0]["compression_ratio"].is_number());

    let degraded = run(spec(&server.url, json!({"max_parts_per_partition": 3}))).await;
    assert_eq!(degraded.status, Status::Degraded, "{}", degraded.message);
    assert!(
        degraded
            .message
            .contains("too many parts: default.events partition"),
        "{}",
        degraded.message
    );
    assert_eq!(degraded.details["too_many_parts"][0]["table"], "events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_failed_queries_from_the_query_log_degrade() {
    if !clickhouse::enabled() {
        return;
    }
    let server = ClickHouse::start();
    // Driven for real: one query that takes 1.2 s, one that fails.
    let _ = clickhouse::query_with(&server.url, "log_queries=1", "SELECT sleep(1.2)");
    let _ = clickhouse::query_with(&server.url, "log_queries=1", "SELECT no_such_function()");
    // The query log is written in the background: flush until both are in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let o = loop {
        sql(&server, "SYSTEM FLUSH LOGS");
        let o = run(spec(&server.url, json!({"slow_query": "500ms"}))).await;
        let both = o.message.contains("failed queries") && o.message.contains("slower");
        if both || std::time::Instant::now() > deadline {
            break o;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(o.status, Status::Degraded, "{}: {}", o.message, o.details);
    assert!(
        o.message.contains("1 queries slower than 500ms"),
        "{}: {}",
        o.message,
        o.details
    );
    assert!(o.message.contains("1 failed queries"), "{}", o.message);
    assert!(
        o.details["slow_queries"][0]["query"]
            .as_str()
            .unwrap()
            .contains("sleep(1.2)")
    );
    assert!(
        o.details["failed_queries"][0]["exception"]
            .as_str()
            .unwrap()
            .contains("no_such_function")
    );
    // The thresholds decide: allowing one of each is OK.
    let o = run(spec(
        &server.url,
        json!({"slow_query": "500ms", "max_slow_queries": 1, "max_failed_queries": 1}),
    ))
    .await;
    assert_eq!(o.status, Status::Ok, "{}", o.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_fails_and_a_cluster_without_live_nodes_fails() {
    if !clickhouse::enabled() {
        return;
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let o = run(spec(&format!("http://{closed}"), json!({}))).await;
    assert_eq!(o.status, Status::Failed);
    assert!(
        o.message
            .starts_with(&format!("cannot query ClickHouse at http://{closed}")),
        "{}",
        o.message
    );
    assert!(o.details["error"].is_string());

    // The package's sample cluster points at port 9000, where nothing of ours listens.
    let server = clickhouse::shared().unwrap();
    let o = run(spec(
        &server.url,
        json!({"cluster": "test_shard_localhost"}),
    ))
    .await;
    assert_eq!(o.status, Status::Failed, "{}: {}", o.message, o.details);
    assert!(
        o.message
            .contains("no node of cluster `test_shard_localhost` answers"),
        "{}",
        o.message
    );
    assert_eq!(o.details["nodes"][0]["up"], false);
    let o = run(spec(&server.url, json!({"cluster": "nope"}))).await;
    assert_eq!(o.status, Status::Failed);
    assert!(o.message.contains("`nope` is not defined"), "{}", o.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_node_that_stops_answering_degrades_and_read_only_replicas_fail() {
    if !clickhouse::enabled() || !support::zookeeper::installed() {
        return;
    }
    let mut zk = support::zookeeper::ZooKeeper::start();
    let nodes = ClickHouse::start_cluster(2, zk.port);
    let o = run(spec(&nodes[0].url, json!({"cluster": "lb"}))).await;
    assert_eq!(o.status, Status::Ok, "{}: {}", o.message, o.details);
    assert_eq!(o.details["nodes"].as_array().unwrap().len(), 2);
    nodes[1].stop();
    let o = run(spec(&nodes[0].url, json!({"cluster": "lb"}))).await;
    assert_eq!(o.status, Status::Degraded, "{}: {}", o.message, o.details);
    let down: Vec<&Value> = o.details["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["up"] == false)
        .collect();
    assert_eq!(down.len(), 1);
    assert!(
        o.message.contains(&format!(
            "node {} does not answer",
            down[0]["node"].as_str().unwrap()
        )),
        "{}",
        o.message
    );

    // Without ZooKeeper a replicated table turns read-only (the nodes'
    // session timeout is 3 s in this set-up).
    sql(
        &nodes[0],
        "CREATE TABLE default.orders (d Date, x UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/01/orders', 'r0') PARTITION BY d ORDER BY x",
    );
    sql(
        &nodes[0],
        "INSERT INTO default.orders VALUES ('2026-11-27', 1)",
    );
    zk.stop();
    let failed = support::eventually(
        std::time::Duration::from_secs(60),
        "replica read-only",
        || async {
            let o = run(spec(&nodes[0].url, json!({}))).await;
            (o.status == Status::Failed).then_some(o)
        },
    )
    .await;
    assert!(
        failed
            .message
            .contains("replica default.orders is read-only"),
        "{}",
        failed.message
    );
    assert_eq!(failed.details["replicas"][0]["readonly"], true);
}
