//! Silence is not health, with the real binaries: an agent killed with
//! SIGKILL or frozen with SIGSTOP leaves its services (local and centrally
//! assigned) UNKNOWN within their grace, naming the agent, on SSE and in
//! the roll-up of an application depending on one; the agent back brings
//! them back. Deleted services leave every live view; disabled ones are
//! STOPPED; a collector restarted while an agent is dead serves its
//! services UNKNOWN at once (SQLite and ClickHouse).

mod support;

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::sse::SseReader;
use support::{
    Collector, Proc, StoreSpec, agent_bin, agent_config, certs, eventually, get_json, http,
};

/// Heartbeat asked of agents and interval of every check: grace is three of them.
const BEAT: &str = "300ms";
const GRACE: Duration = Duration::from_millis(900);

struct Setup {
    dir: tempfile::TempDir,
    certs: std::path::PathBuf,
    collector: Collector,
    agent_config: std::path::PathBuf,
    target: TcpListener,
    client: reqwest::Client,
}

impl Setup {
    /// A collector and node-a's config with one local TCP check, `local`.
    fn start(store: Option<StoreSpec>) -> Setup {
        Setup::start_with(store, |port| {
            format!(
                "[[checks]]\nservice_id = \"local\"\nservice_type = \"api_endpoint\"\ninterval = \"{BEAT}\"\n[checks.status_config]\nurl = \"tcp://127.0.0.1:{port}\"\n"
            )
        })
    }

    /// A collector and node-a's config with the checks `checks` writes for
    /// the port of a listener that accepts connections but never answers.
    fn start_with(store: Option<StoreSpec>, checks: impl FnOnce(u16) -> String) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let certs = certs(dir.path(), &["node-a"]);
        let store = store.unwrap_or_else(|| StoreSpec::Sqlite(dir.path().join("data/lb.db")));
        let any = "127.0.0.1:0".parse().unwrap();
        let extra = format!("[agents]\nheartbeat = \"{BEAT}\"\n");
        let collector = Collector::start_on(dir.path(), &certs, any, any, store, &extra);
        // Connecting succeeds while the listener lives, accepted or not.
        let target = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = target.local_addr().unwrap().port();
        let checks = format!("[labels]\nrole = \"edge\"\n{}", checks(port));
        let agent_config = agent_config(dir.path(), &certs, "node-a", collector.grpc, &checks);
        Setup {
            dir,
            certs,
            collector,
            agent_config,
            target,
            client: http(),
        }
    }

    fn agent(&self) -> Proc {
        let mut cmd = Command::new(agent_bin());
        cmd.arg("--config").arg(&self.agent_config);
        Proc::spawn("agent", cmd)
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.client.request(method, self.collector.url(path));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// `central`: a catalog service node-a checks over TCP.
    fn central(&self) -> Value {
        let port = self.target.local_addr().unwrap().port();
        json!({"service_id": "central", "label": "Central", "service_type": "api_endpoint",
            "labels": {"role": "edge"},
            "status_config": {"url": format!("tcp://127.0.0.1:{port}"), "interval": BEAT}})
    }

    async fn set_enabled(&self, id: &str, enabled: bool) {
        let path = format!("/api/admin/services/{id}");
        let body = json!({ "enabled": enabled });
        let (code, v) = self.send(reqwest::Method::PUT, &path, Some(body)).await;
        assert_eq!(code, 200, "{v}");
    }

    /// `central`, and an application depending on it.
    async fn catalog(&self) {
        let central = self.central();
        let app = json!({"service_id": "shop", "label": "Shop", "service_type": "application", "status_config": {}});
        for body in [central, app] {
            let (code, v) = self
                .send(reqwest::Method::POST, "/api/admin/services", Some(body))
                .await;
            assert_eq!(code, 201, "{v}");
        }
        let relation = json!({"source_service_id": "shop", "target_service_id": "central", "relation_type": "dependency"});
        let (code, v) = self
            .send(
                reqwest::Method::POST,
                "/api/admin/relations",
                Some(relation),
            )
            .await;
        assert_eq!(code, 201, "{v}");
    }

    async fn status(&self, id: &str) -> (u16, Value) {
        get_json(
            &self.client,
            &self.collector.url(&format!("/api/status/{id}")),
        )
        .await
    }

    /// Waits until every service in `ids` shows `want`; returns their statuses.
    async fn wait_for(&self, ids: &[&str], want: &str, within: Duration) -> Vec<Value> {
        eventually(within, &format!("{ids:?} {want}"), || async move {
            let mut out = Vec::new();
            for id in ids {
                let (code, v) = self.status(id).await;
                if code != 200 || v["status"] != want {
                    return None;
                }
                out.push(v);
            }
            Some(out)
        })
        .await
    }
}

/// Whether a list of services holds `service_id`.
fn names(list: &Value, service_id: &str) -> bool {
    list.as_array()
        .unwrap()
        .iter()
        .any(|x| x["service_id"] == service_id)
}

/// Reads SSE events until one for `service_id` with `status` arrives.
async fn sse_until(stream: &mut SseReader, service_id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(e) = stream.next(Duration::from_secs(1)).await
            && e.data["service_id"] == service_id
            && e.data["status"] == status
        {
            return e.data;
        }
    }
    panic!("no SSE event {service_id} {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_leaves_its_services_unknown_until_it_is_back() {
    let s = Setup::start(None);
    s.catalog().await;
    let mut agent = s.agent();
    s.wait_for(&["local", "central", "shop"], "OK", Duration::from_secs(20))
        .await;
    let (_, one) = s.status("local").await;
    assert!(
        one["stale_at"].is_string(),
        "a fresh status says when it goes stale: {one}"
    );
    let mut stream =
        SseReader::connect(&s.client, &s.collector.url("/api/status/stream"), None).await;

    let killed = Instant::now();
    agent.kill();
    let silent = s
        .wait_for(&["local", "central"], "UNKNOWN", Duration::from_secs(20))
        .await;
    let delay = killed.elapsed();
    eprintln!("UNKNOWN {delay:?} after SIGKILL (grace {GRACE:?})");
    // The grace runs from the last result, up to one interval before the kill.
    assert!(
        delay + Duration::from_millis(300) >= GRACE,
        "UNKNOWN before the grace passed: {delay:?}"
    );
    for v in &silent {
        let message = v["message"].as_str().unwrap();
        assert!(message.starts_with("no result for "), "{message}");
        assert!(message.contains("agent node-a"), "{message}");
        assert_eq!(v["silent"], true, "{v}");
    }
    let event = sse_until(&mut stream, "local", "UNKNOWN").await;
    assert_eq!(event["previous_status_code"], 0);
    let (_, shop) = s.status("shop").await;
    assert_ne!(
        shop["status"], "OK",
        "an application on a silent service is not OK: {shop}"
    );
    assert!(
        shop["message"].as_str().unwrap().contains("central"),
        "{shop}"
    );
    // The silence is history too.
    let (_, history) = get_json(&s.client, &s.collector.url("/api/services/local/history")).await;
    assert_eq!(history["points"][0]["status"], "UNKNOWN", "{history}");

    let _agent = s.agent();
    s.wait_for(&["local", "central", "shop"], "OK", Duration::from_secs(20))
        .await;
    sse_until(&mut stream, "local", "OK").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_agent_with_its_connection_open_is_silent_too() {
    let s = Setup::start(None);
    let agent = s.agent();
    s.wait_for(&["local"], "OK", Duration::from_secs(20)).await;
    agent.signal("STOP");
    let v = s
        .wait_for(&["local"], "UNKNOWN", Duration::from_secs(20))
        .await;
    let message = v[0]["message"].as_str().unwrap();
    assert!(
        message.contains("agent node-a has not been heard from since"),
        "{message}"
    );
    eventually(
        Duration::from_secs(10),
        "node-a shown disconnected",
        || async {
            let (_, agents) = get_json(&s.client, &s.collector.url("/api/agents")).await;
            (agents[0]["connected"] == false).then_some(())
        },
    )
    .await;
    agent.signal("CONT");
    s.wait_for(&["local"], "OK", Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_services_leave_every_live_view_and_keep_their_history() {
    let s = Setup::start(None);
    s.catalog().await;
    let _agent = s.agent();
    s.wait_for(&["central", "shop"], "OK", Duration::from_secs(20))
        .await;
    let mut stream =
        SseReader::connect(&s.client, &s.collector.url("/api/status/stream"), None).await;

    let (code, v) = s
        .send(
            reqwest::Method::DELETE,
            "/api/admin/services/central?cascade=true",
            None,
        )
        .await;
    assert!(code == 200 || code == 204, "{code} {v}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let e = stream.next(Duration::from_secs(1)).await;
        if let Some(e) = e
            && e.event.as_deref() == Some("removed")
        {
            assert_eq!(e.data["service_id"], "central");
            break;
        }
        assert!(Instant::now() < deadline, "no removal event");
    }
    assert_eq!(s.status("central").await.0, 404);
    let (_, all) = get_json(&s.client, &s.collector.url("/api/status")).await;
    assert!(!names(&all, "central"), "{all}");
    let (_, graph) = get_json(&s.client, &s.collector.url("/api/graph")).await;
    assert!(!names(&graph["nodes"], "central"), "{graph}");
    let (_, history) = get_json(&s.client, &s.collector.url("/api/services/central/history")).await;
    assert!(
        history["total"].as_u64().unwrap() > 0,
        "history stays: {history}"
    );
    // Results still in flight do not bring it back: nothing to wait for,
    // so a window of one grace in which it must not reappear.
    tokio::time::sleep(GRACE).await;
    assert_eq!(s.status("central").await.0, 404);

    // Re-created, it is checked and shown again.
    let (code, v) = s
        .send(
            reqwest::Method::POST,
            "/api/admin/services",
            Some(s.central()),
        )
        .await;
    assert_eq!(code, 201, "{v}");
    s.wait_for(&["central"], "OK", Duration::from_secs(20))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_services_are_stopped_and_come_back_when_enabled() {
    let s = Setup::start(None);
    s.catalog().await;
    let _agent = s.agent();
    s.wait_for(&["central"], "OK", Duration::from_secs(20))
        .await;
    s.set_enabled("central", false).await;
    let v = s
        .wait_for(&["central"], "STOPPED", Duration::from_secs(10))
        .await;
    assert!(
        v[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("disabled through the API at "),
        "{}",
        v[0]
    );
    // The change is in the history, as the collector's own STOPPED result
    // (written just after the live status shows it).
    support::eventually(
        Duration::from_secs(5),
        "the STOPPED mark in the history",
        || async {
            let (_, history) =
                get_json(&s.client, &s.collector.url("/api/services/central/history")).await;
            history["points"]
                .as_array()?
                .iter()
                .any(|p| p["status"] == "STOPPED" && p["agent_id"] == "lightbulb-collector")
                .then_some(())
        },
    )
    .await;
    // Stopped stays stopped: no silence mark for a service nobody runs
    // (a window of two graces in which it must not turn UNKNOWN).
    tokio::time::sleep(GRACE * 2).await;
    assert_eq!(s.status("central").await.1["status"], "STOPPED");
    s.set_enabled("central", true).await;
    s.wait_for(&["central"], "OK", Duration::from_secs(10))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_alive_but_not_checking_is_told_from_a_dead_one() {
    // One run slot, held 3 s at a time by a check of a server that never
    // answers: the other check waits for it, seconds behind its schedule.
    let s = Setup::start_with(None, |port| {
        format!(
            "[scheduler]\nmax_concurrency = 1\n\
             [[checks]]\nservice_id = \"hog\"\nservice_type = \"api_endpoint\"\ninterval = \"{BEAT}\"\ntimeout = \"3s\"\n[checks.status_config]\nurl = \"http://127.0.0.1:{port}/\"\n\
             [[checks]]\nservice_id = \"starved\"\nservice_type = \"api_endpoint\"\ninterval = \"{BEAT}\"\n[checks.status_config]\nurl = \"tcp://127.0.0.1:{port}\"\n"
        )
    });
    let _agent = s.agent();
    let message = eventually(
        Duration::from_secs(30),
        "starved UNKNOWN, agent alive",
        || async {
            let (_, v) = s.status("starved").await;
            let message = v["message"].as_str().unwrap_or_default().to_string();
            (v["status"] == "UNKNOWN" && message.contains("behind its schedule")).then_some(message)
        },
    )
    .await;
    assert!(
        message.contains("agent node-a is connected but this check is")
            && message.ends_with("behind its schedule (waiting)"),
        "{message}"
    );
    let late = eventually(
        Duration::from_secs(30),
        "late_checks on /api/agents",
        || async {
            let (_, agents) = get_json(&s.client, &s.collector.url("/api/agents")).await;
            let agent = agents[0].clone();
            let starved = agent["late_checks"]
                .as_array()?
                .iter()
                .find(|l| l["service_id"] == "starved")?
                .clone();
            Some((agent["connected"].clone(), starved))
        },
    )
    .await;
    assert_eq!(late.0, true, "alive, unlike a dead agent");
    assert_eq!(late.1["reason"], "waiting");
    assert!(late.1["late_ms"].as_u64().unwrap() > 300, "{}", late.1);
}

/// Kills agent and collector together (before any silence mark is
/// stored), then starts the collector alone: the services it had are
/// UNKNOWN in its first answer.
async fn restarted_while_the_agent_is_dead(store: Option<StoreSpec>) {
    let mut s = Setup::start(store);
    let mut agent = s.agent();
    s.wait_for(&["local"], "OK", Duration::from_secs(20)).await;
    agent.kill();
    s.collector.proc.kill();
    tokio::time::sleep(GRACE).await;
    let (dir, certs) = (s.dir.path().to_path_buf(), s.certs.clone());
    s.collector.kill_and_restart(&dir, &certs);
    let (code, v) = s.status("local").await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["status"], "UNKNOWN", "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("agent node-a"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_collector_serves_a_dead_agents_services_unknown_sqlite() {
    restarted_while_the_agent_is_dead(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_collector_serves_a_dead_agents_services_unknown_clickhouse() {
    let Some(server) = support::clickhouse::shared() else {
        return;
    };
    let store = StoreSpec::ClickHouse {
        url: server.url.clone(),
        database: support::clickhouse::fresh_database("silence"),
    };
    restarted_while_the_agent_is_dead(Some(store)).await;
}
