//! End to end with the real binaries: the agent watches a real `python3`
//! process and a real HTTP server (Python's http.server); killing the process
//! turns its status FAILED within two check intervals, visible in the REST API
//! and on the SSE stream; restarting it brings it back to OK.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::sse::SseReader;
use support::{Collector, Proc, agent_bin, agent_config, certs, eventually, get_json, http};

const INTERVAL: Duration = Duration::from_secs(1);

/// A Python worker writing its PID to `pidfile`.
fn python_worker(pidfile: &std::path::Path) -> Proc {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", "import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\nprint('worker up', flush=True)\nwhile True: time.sleep(0.2)"])
        .arg(pidfile);
    let p = Proc::spawn("python worker", cmd);
    p.wait_for_line("worker up", Duration::from_secs(20));
    p
}

/// Python's http.server on a free port; returns it and the port.
fn http_server(root: &std::path::Path) -> (Proc, u16) {
    std::fs::write(root.join("health"), "healthy\n").unwrap();
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-c", "import http.server, functools, sys\nh = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])\ns = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)\nprint('port', s.server_address[1], flush=True)\ns.serve_forever()"])
        .arg(root);
    let p = Proc::spawn("http server", cmd);
    let line = p.wait_for_line("port ", Duration::from_secs(20));
    let port = line.trim().strip_prefix("port ").unwrap().parse().unwrap();
    (p, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_watched_process_turns_it_failed_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path(), &["node-a"]);
    let collector = Collector::start(dir.path(), &certs);
    let pidfile = dir.path().join("worker.pid");
    let mut worker = python_worker(&pidfile);
    let (_server, port) = http_server(dir.path());
    let checks = format!(
        "[[checks]]\nservice_id = \"worker\"\nservice_type = \"python_process\"\ninterval = \"1s\"\n[checks.status_config]\npidfile = \"{}\"\n\
         [[checks]]\nservice_id = \"web\"\nservice_type = \"api_endpoint\"\ninterval = \"1s\"\n[checks.status_config]\nurl = \"http://127.0.0.1:{port}/health\"\nbody_contains = \"healthy\"\n",
        pidfile.display()
    );
    let config = agent_config(dir.path(), &certs, "node-a", collector.grpc, &checks);
    let mut cmd = Command::new(agent_bin());
    cmd.arg("--config").arg(&config).stdout(Stdio::piped());
    let _agent = Proc::spawn("agent", cmd);

    let client = http();
    let status_of = |id: &'static str| {
        let client = client.clone();
        let url = collector.url(&format!("/api/status/{id}"));
        move || {
            let client = client.clone();
            let url = url.clone();
            async move { get_json(&client, &url).await }
        }
    };
    let worker_status = status_of("worker");
    let web_status = status_of("web");
    eventually(Duration::from_secs(20), "worker OK", || {
        let f = worker_status();
        async move {
            let (code, v) = f.await;
            (code == 200 && v["status"] == "OK").then_some(())
        }
    })
    .await;
    let (_, web) = eventually(Duration::from_secs(20), "web OK", || {
        let f = web_status();
        async move {
            let (code, v) = f.await;
            (code == 200 && v["status"] == "OK").then_some((code, v))
        }
    })
    .await;
    assert!(web["response_time_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(web["agent_id"], "node-a");
    let (_, w) = worker_status().await;
    assert!(w["memory_usage"].as_f64().unwrap() > 0.0, "{w}");
    assert!(w["cpu_usage"].is_number(), "{w}");

    let mut stream = SseReader::connect(&client, &collector.url("/api/status/stream"), None).await;
    let old_pid = std::fs::read_to_string(&pidfile).unwrap();
    worker.kill();
    let killed_at = Instant::now();
    eventually(Duration::from_secs(10), "worker FAILED", || {
        let f = worker_status();
        async move {
            let (_, v) = f.await;
            (v["status"] == "FAILED").then_some(())
        }
    })
    .await;
    let took = killed_at.elapsed();
    // Two check intervals, plus the shipper's batching and the polling step.
    assert!(
        took <= INTERVAL * 2 + Duration::from_millis(500),
        "FAILED only after {took:?}"
    );

    let event = loop {
        let e = stream
            .next(Duration::from_secs(5))
            .await
            .expect("a status event on the stream");
        if e.data["service_id"] == "worker" {
            break e;
        }
    };
    assert_eq!(event.data["status"], "FAILED");
    assert_eq!(event.data["previous_status_code"], 0);
    assert!(event.id.is_some());

    let _worker = python_worker(&pidfile);
    let new_pid = std::fs::read_to_string(&pidfile).unwrap();
    assert_ne!(old_pid, new_pid);
    let (_, back) = eventually(Duration::from_secs(10), "worker OK again", || {
        let f = worker_status();
        async move {
            let (_, v) = f.await;
            (v["status"] == "OK").then_some(((), v))
        }
    })
    .await;
    assert!(
        back["message"]
            .as_str()
            .unwrap()
            .contains(&format!("restarted: pid {old_pid}")),
        "{back}"
    );
    let recovered = stream
        .next(Duration::from_secs(5))
        .await
        .expect("recovery event");
    assert_eq!(
        (
            recovered.data["service_id"].as_str(),
            recovered.data["status"].as_str()
        ),
        (Some("worker"), Some("OK"))
    );
    assert!(recovered.id > event.id);

    let (_, agents) = get_json(&client, &collector.url("/api/agents")).await;
    assert_eq!(agents[0]["agent_id"], "node-a");
    assert_eq!(agents[0]["connected"], true);
    assert_eq!(
        agents[0]["local_checks"],
        serde_json::json!(["worker", "web"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_both_binaries_despite_open_streams() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path(), &["node-a"]);
    let mut collector = Collector::start(dir.path(), &certs);
    let checks = format!(
        "[[checks]]\nservice_id = \"grpc-port\"\nservice_type = \"api_endpoint\"\ninterval = \"200ms\"\n[checks.status_config]\nurl = \"tcp://{}\"\n",
        collector.grpc
    );
    let config = agent_config(dir.path(), &certs, "node-a", collector.grpc, &checks);
    let mut cmd = Command::new(agent_bin());
    cmd.arg("--config").arg(&config);
    let mut agent = Proc::spawn("agent", cmd);
    agent.wait_for_line("connected to collector", Duration::from_secs(20));
    let client = http();
    let url = collector.url("/api/status/grpc-port");
    eventually(Duration::from_secs(10), "a stored result", || {
        let client = client.clone();
        let url = url.clone();
        async move { (get_json(&client, &url).await.0 == 200).then_some(()) }
    })
    .await;
    let _stream = SseReader::connect(&client, &collector.url("/api/status/stream"), None).await;

    assert_eq!(
        collector.proc.terminate(Duration::from_secs(10)),
        Some(0),
        "collector did not stop on SIGTERM"
    );
    assert_eq!(
        agent.terminate(Duration::from_secs(10)),
        Some(0),
        "agent did not stop on SIGTERM"
    );
    assert!(
        agent
            .lines()
            .iter()
            .any(|l| l.contains("flushing the spool"))
    );
}
