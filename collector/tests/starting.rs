//! STARTING as the live status shows it: a real Python process checked by
//! a real agent (in-process) is STARTING within its `startup_grace`, and an
//! application depending on it is STARTING too; without the grace both are OK.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{InProcess, Proc, eventually, get_json, http, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_young_process_and_its_application_are_starting_in_the_live_status() {
    let server = InProcess::start(&["node-a"]).await;
    let client = http();
    let _agent = server.run_agent("node-a");
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        "import time; print('ready', flush=True); time.sleep(120)",
    ]);
    let worker = Proc::spawn("worker", cmd);
    worker.wait_for_line("ready", Duration::from_secs(10));
    let pidfile = dir.path().join("worker.pid");
    std::fs::write(&pidfile, worker.pid().to_string()).unwrap();

    let post =
        |path: &str, body: Value| send(&client, reqwest::Method::POST, server.url(path), body);
    let config =
        |grace: &str| json!({"pidfile": pidfile, "startup_grace": grace, "interval": "300ms"});
    for (path, body) in [
        (
            "/api/admin/services",
            json!({"service_id": "worker", "label": "Worker", "service_type": "python_process",
            "labels": {"agent_id": "node-a"}, "status_config": config("10m")}),
        ),
        (
            "/api/admin/services",
            json!({"service_id": "jobs", "label": "Jobs", "service_type": "application"}),
        ),
        (
            "/api/admin/relations",
            json!({"source_service_id": "jobs", "target_service_id": "worker", "relation_type": "dependency"}),
        ),
    ] {
        let (code, answer) = post(path, body).await;
        assert_eq!(code, 201, "{answer}");
    }
    let status = |id: &'static str, want: &'static str| {
        let client = client.clone();
        let url = server.url(&format!("/api/status/{id}"));
        async move {
            eventually(Duration::from_secs(15), &format!("{id} {want}"), || async {
                let (_, s) = get_json(&client, &url).await;
                (s["status"] == want).then_some(s)
            })
            .await
        }
    };
    let worker_status = status("worker", "STARTING").await;
    assert!(
        worker_status["message"]
            .as_str()
            .unwrap()
            .starts_with("starting: up "),
        "{worker_status}"
    );
    let jobs = status("jobs", "STARTING").await;
    assert_eq!(jobs["message"], "dependency STARTING: worker");

    // Without the grace the same process is simply running.
    let (code, answer) = send(
        &client,
        reqwest::Method::PUT,
        server.url("/api/admin/services/worker"),
        json!({"status_config": config("0s")}),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    status("worker", "OK").await;
    status("jobs", "OK").await;
}
