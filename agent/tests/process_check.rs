//! `python_process` against real Python processes: several workers against
//! `min_processes`, a virtualenv, children, a heartbeat file, a liveness
//! URL and the startup grace. Every process started here is killed when the test ends.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use lightbulb_agent::checks::process::ProcessCheck;
use lightbulb_agent::checks::{Check, CheckSpec};
use lightbulb_common::{ServiceType, Status};
use serde_json::{Value, json};

/// Killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `python` running `code` with `args`; prints one line when ready.
fn python(python: &str, code: &str, args: &[&str]) -> (Proc, String) {
    let mut child = Command::new(python)
        .arg("-c")
        .arg(code)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Proc(child), line.trim().to_string())
}

const SLEEPER: &str = "import time; print('ready', flush=True); time.sleep(120)";

async fn check(config: Value) -> lightbulb_agent::checks::Outcome {
    let CheckSpec::Process(spec) =
        CheckSpec::parse(ServiceType::PythonProcess, &config).expect("valid")
    else {
        panic!("not a process check");
    };
    ProcessCheck::new(spec).run().await
}

#[tokio::test]
async fn workers_are_counted_against_min_processes() {
    let tag = format!("lb-worker-{}", std::process::id());
    let mut workers: Vec<Proc> = (0..3)
        .map(|_| python("python3", SLEEPER, &[&tag]).0)
        .collect();
    let config = json!({"cmdline": tag, "min_processes": 3});
    let ok = check(config.clone()).await;
    assert_eq!(ok.status, Status::Ok, "{}", ok.message);
    assert_eq!(ok.metrics.extra["processes"], 3.0);
    workers.pop();
    let short = check(config.clone()).await;
    assert_eq!(short.status, Status::Degraded);
    assert!(
        short.message.ends_with("; only 2 of at least 3 processes"),
        "{}",
        short.message
    );
    workers.clear();
    let none = check(config).await;
    assert_eq!(none.status, Status::Failed);
    assert_eq!(
        none.message,
        format!("no Python process matches cmdline `{tag}`")
    );
}

#[tokio::test]
async fn a_virtualenv_selects_its_own_interpreters_and_children_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(made.success());
    let _outside = python("python3", SLEEPER, &[]);
    // Two children that leave as soon as their parent (whose PID they are
    // given) is gone, and after two minutes at the latest. The parent is
    // ready once each child has said so: a child still inside exec has no
    // command line yet.
    let parent = "import os, subprocess, sys, time\nchild = 'import os, sys, time\\nprint(1, flush=True)\\nfor _ in range(2400):\\n    if os.getppid() != int(sys.argv[1]): break\\n    time.sleep(0.05)'\nkids = [subprocess.Popen([sys.executable, '-c', child, str(os.getpid())], stdout=subprocess.PIPE) for _ in range(2)]\nfor k in kids: k.stdout.readline()\nprint('ready', flush=True)\ntime.sleep(120)";
    let (inside, _) = python(venv.join("bin/python").to_str().unwrap(), parent, &[]);
    let o = check(json!({"venv": venv, "min_processes": 1})).await;
    assert_eq!(o.status, Status::Ok, "{}", o.message);
    // The venv parent and its two children (also the venv's python); the
    // oldest, the parent, is the one described.
    assert_eq!(o.metrics.extra["processes"], 3.0, "{:?}", o.metrics.extra);
    assert_eq!(o.metrics.extra["pid"], f64::from(inside.0.id()));
    assert_eq!(o.metrics.extra["children"], 2.0);
    drop(inside);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let gone = loop {
        let o = check(json!({"venv": venv})).await;
        if o.status == Status::Failed || std::time::Instant::now() > deadline {
            break o;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(gone.status, Status::Failed, "{}", gone.message);
    assert!(
        gone.message.contains("runs from virtualenv"),
        "{}",
        gone.message
    );
}

#[tokio::test]
async fn a_stale_heartbeat_file_and_a_dead_liveness_port_fail() {
    let dir = tempfile::tempdir().unwrap();
    let server = "import http.server\ns = http.server.HTTPServer(('127.0.0.1', 0), http.server.SimpleHTTPRequestHandler)\nprint(s.server_address[1], flush=True)\ns.serve_forever()";
    let (worker, port) = python("python3", server, &[]);
    let pidfile = dir.path().join("worker.pid");
    std::fs::write(&pidfile, worker.0.id().to_string()).unwrap();
    let beat = dir.path().join("beat");
    std::fs::write(&beat, "").unwrap();
    let config = json!({"pidfile": pidfile, "heartbeat_file": beat, "heartbeat_max_age": "30s",
        "liveness_url": format!("http://127.0.0.1:{port}/")});
    let ok = check(config.clone()).await;
    assert_eq!(ok.status, Status::Ok, "{}", ok.message);
    assert!(ok.metrics.extra["heartbeat_age_s"] < 30.0);

    let file = std::fs::File::options().write(true).open(&beat).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(120))
        .unwrap();
    let stale = check(config.clone()).await;
    assert_eq!(stale.status, Status::Failed);
    assert!(
        stale.message.contains(&format!(
            "heartbeat file `{}` is 120 s old (max 30s)",
            beat.display()
        )),
        "{}",
        stale.message
    );

    std::fs::write(&beat, "").unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut dead = config;
    dead["liveness_url"] = json!(format!("http://{closed}/"));
    let o = check(dead).await;
    assert_eq!(o.status, Status::Failed);
    assert!(
        o.message
            .contains(&format!("liveness http://{closed}/ failed")),
        "{}",
        o.message
    );
}

/// Binds a port and prints it, then serves HTTP on it only once the file
/// named by its argument exists: until then connections are refused.
const LATE_SERVER: &str = "import http.server, os, socket, sys, time\nsock = socket.socket()\nsock.bind(('127.0.0.1', 0))\nprint(sock.getsockname()[1], flush=True)\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.05)\ns = http.server.HTTPServer(('127.0.0.1', 0), http.server.SimpleHTTPRequestHandler, bind_and_activate=False)\ns.socket = sock\nsock.listen()\ns.serve_forever()";

#[tokio::test]
async fn a_young_process_is_starting_until_its_liveness_url_answers_or_the_grace_ends() {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let (server, port) = python("python3", LATE_SERVER, &[go.to_str().unwrap()]);
    let pidfile = dir.path().join("server.pid");
    std::fs::write(&pidfile, server.0.id().to_string()).unwrap();
    let config = json!({"pidfile": pidfile, "startup_grace": "60s",
        "liveness_url": format!("http://127.0.0.1:{port}/")});
    let starting = check(config.clone()).await;
    assert_eq!(starting.status, Status::Starting, "{}", starting.message);
    assert!(
        starting.message.starts_with("starting: up ")
            && starting.message.contains("of startup_grace 1m; process ")
            && starting.message.contains("liveness http://127.0.0.1:"),
        "{}",
        starting.message
    );
    // Without a liveness URL, nothing says it is ready before the grace ends.
    let unready = check(json!({"pidfile": pidfile, "startup_grace": "60s"})).await;
    assert_eq!(unready.status, Status::Starting, "{}", unready.message);

    std::fs::write(&go, "").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let ready = loop {
        let o = check(config.clone()).await;
        if o.status != Status::Starting || std::time::Instant::now() > deadline {
            break o;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ready.status, Status::Ok, "{}", ready.message);

    // A grace that ends while the URL is still refused: STARTING, then FAILED.
    let (late, port) = python(
        "python3",
        LATE_SERVER,
        &[dir.path().join("never").to_str().unwrap()],
    );
    std::fs::write(&pidfile, late.0.id().to_string()).unwrap();
    let config = json!({"pidfile": pidfile, "startup_grace": "5s",
        "liveness_url": format!("http://127.0.0.1:{port}/")});
    let first = check(config.clone()).await;
    assert_eq!(first.status, Status::Starting, "{}", first.message);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let failed = loop {
        let o = check(config.clone()).await;
        if o.status != Status::Starting || std::time::Instant::now() > deadline {
            break o;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(failed.status, Status::Failed, "{}", failed.message);
    assert!(
        failed.message.contains("liveness http://127.0.0.1:"),
        "{}",
        failed.message
    );
}

#[test]
fn selectors_and_liveness_settings_are_checked() {
    let key = |c: Value| {
        CheckSpec::parse(ServiceType::PythonProcess, &c)
            .unwrap_err()
            .0
    };
    assert_eq!(key(json!({"pid": 1, "min_processes": 2})), "min_processes");
    assert_eq!(
        key(json!({"cmdline": "x", "min_processes": 0})),
        "min_processes"
    );
    assert_eq!(
        key(json!({"venv": "/v", "liveness_url": "tcp://x:1"})),
        "liveness_url"
    );
    assert_eq!(key(json!({"venv": "/v", "systemd_unit": "w.service"})), "");
}
