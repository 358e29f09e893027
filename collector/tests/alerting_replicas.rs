//! Two collectors sharing a real ClickHouse: one evaluates alerts; when it
//! is SIGKILLed mid-incident the other takes over, and the receiver gets
//! every notification exactly once.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use lightbulb_testkit::receivers::HttpReceiver;
use serde_json::json;
use support::alerts::*;
use support::{
    Collector, Proc, StoreSpec, agent_bin, agent_config, certs, eventually, get_json, http, send,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_send_each_notification_once_when_the_evaluating_one_is_killed() {
    let Some(server) = support::clickhouse::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path(), &["node-a"]);
    let hook = HttpReceiver::start(dir.path(), SECRET);
    let db_port = support::free_port();
    let mut db = database(db_port);
    let store = StoreSpec::ClickHouse {
        url: server.url.clone(),
        database: support::clickhouse::fresh_database("alerting"),
    };
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let extra = "[alerting]\ninterval = \"200ms\"\n";
    let mut collectors = [
        Collector::start_on(dir.path(), &certs, any, any, store.clone(), extra),
        Collector::start_on(dir.path(), &certs, any, any, store, extra),
    ];
    let leader = eventually(Duration::from_secs(30), "one collector leading", || async {
        let leading: Vec<usize> = (0..2)
            .filter(|i| {
                collectors[*i]
                    .proc
                    .lines()
                    .iter()
                    .any(|l| l.contains("leading alert evaluation"))
            })
            .collect();
        (leading.len() == 1).then(|| leading[0])
    })
    .await;
    let follower = 1 - leader;
    let client = http();
    let base = collectors[follower].url("");
    let url = |path: &str| format!("{base}{path}");
    let config = agent_config(
        dir.path(),
        &certs,
        "node-a",
        collectors[follower].grpc,
        "[labels]\nrole = \"alerting\"\n",
    );
    let mut cmd = Command::new(agent_bin());
    cmd.arg("--config").arg(&config);
    let _agent = Proc::spawn("agent", cmd);
    for id in ["db", "app-0", "app-1", "app-2"] {
        let (code, body) = send(&client, reqwest::Method::POST, url("/api/admin/services"),
            json!({"service_id": id, "label": id, "service_type": "api_endpoint", "labels": {"role": "alerting"},
                   "status_config": {"url": format!("tcp://127.0.0.1:{db_port}"), "interval": "300ms"}})).await;
        assert_eq!(code, 201, "{body}");
    }
    for app in ["app-0", "app-1", "app-2"] {
        let (code, body) = send(&client, reqwest::Method::POST, url("/api/admin/relations"),
            json!({"source_service_id": app, "target_service_id": "db", "relation_type": "dependency"})).await;
        assert_eq!(code, 201, "{body}");
    }
    let (code, body) = send(&client, reqwest::Method::POST, url("/api/alerts/channels"),
        json!({"channel_id": "hook", "kind": "webhook", "url": hook.url("/lightbulb"), "secret": SECRET})).await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = send(&client, reqwest::Method::POST, url("/api/alerts/rules"),
        json!({"rule_id": "down", "for": "1s", "condition": {"kind": "status", "statuses": ["FAILED"]}, "channels": ["hook"]})).await;
    assert_eq!(code, 201, "{body}");
    let ok = |want: &'static str| {
        let client = client.clone();
        let status = url("/api/status");
        async move {
            let (_, all) = get_json(&client, &status).await;
            let list = all.as_array().cloned().unwrap_or_default();
            (list.len() == 4 && list.iter().all(|s| s["status"] == want)).then_some(())
        }
    };
    eventually(Duration::from_secs(30), "all OK", || ok("OK")).await;

    // Mid-incident: the firing is out, then the evaluating collector dies.
    db.kill();
    await_hooks(&hook, "db", "firing", 1).await;
    // Killed once the delivery is stored (killed between the receiver's
    // answer and that write, it would be sent again, with the same id).
    eventually(
        Duration::from_secs(30),
        "the firing stored as sent",
        || async {
            let (_, ns) = get_json(&client, &url("/api/alerts/notifications")).await;
            ns.as_array()?
                .iter()
                .any(|n| n["message"]["event"] == "firing" && n["delivery"] == "sent")
                .then_some(())
        },
    )
    .await;
    collectors[leader].proc.kill();
    collectors[follower]
        .proc
        .wait_for_line("leading alert evaluation", Duration::from_secs(30));
    // Up again until the test ends (a second outage would alert again).
    let _db = database(db_port);
    await_hooks(&hook, "db", "resolved", 1).await;
    eventually(Duration::from_secs(30), "all OK again", || ok("OK")).await;
    settled(&client, &collectors[follower], &[]).await;

    let mut by_id = std::collections::BTreeMap::new();
    for r in hook.requests() {
        *by_id
            .entry(r["body"]["notification_id"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert!(
        by_id.values().all(|n| *n == 1),
        "each notification once: {by_id:?}"
    );
    assert_eq!(by_id.len(), 2, "db's firing and resolution only: {by_id:?}");
}
