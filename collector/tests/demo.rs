//! `scripts/demo.sh` as a newcomer meets it (with the built binaries, on
//! free ports): its own Python service checked OK, the application `shop`
//! depending on it, then the service killed as the script suggests: the
//! service FAILED and `shop` failing with it as the root cause says; started
//! again, all OK. The script and everything it started are stopped at the
//! end, even when the test fails.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{Proc, collector_bin, eventually, free_port, get_json, http};

/// The demo in its own process group, stopped (SIGTERM, then SIGKILL) on drop.
struct Demo {
    proc: Proc,
    group: u32,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.group)])
            .status();
        self.proc.terminate(Duration::from_secs(10));
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.group)])
            .status();
    }
}

async fn status(client: &reqwest::Client, base: &str, id: &str) -> Value {
    get_json(client, &format!("{base}/api/status/{id}")).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_its_own_service_and_shows_a_failure_and_its_impact() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let (http_port, grpc_port, app_port) = (free_port(), free_port(), free_port());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut cmd = Command::new("setsid");
    cmd.arg(root.join("scripts/demo.sh"))
        .env("LIGHTBULB_DEMO_BIN", collector_bin().parent().unwrap())
        .env("LIGHTBULB_DEMO_DIR", &demo_dir)
        .env("LIGHTBULB_DEMO_HTTP_PORT", http_port.to_string())
        .env("LIGHTBULB_DEMO_GRPC_PORT", grpc_port.to_string())
        .env("LIGHTBULB_DEMO_APP_PORT", app_port.to_string());
    let proc = Proc::spawn("demo", cmd);
    let demo = Demo {
        group: proc.pid(),
        proc,
    };
    let said = demo.proc.wait_for_line("kill ", Duration::from_secs(60));
    let pid: i32 = said
        .trim()
        .trim_start_matches("kill ")
        .parse()
        .unwrap_or_else(|_| panic!("the demo names the PID to kill: `{said}`"));

    let base = format!("http://127.0.0.1:{http_port}");
    let client = http();
    for id in [
        "demo-app",
        "demo-app-http",
        "collector-api",
        "collector-grpc",
        "shop",
    ] {
        let s = eventually(Duration::from_secs(30), &format!("{id} OK"), || async {
            let s = status(&client, &base, id).await;
            (s["status"] == "OK").then_some(s)
        })
        .await;
        assert_eq!(s["status"], "OK", "{s}");
    }
    let (_, graph) = get_json(&client, &format!("{base}/api/graph")).await;
    assert_eq!(graph["edges"].as_array().map(Vec::len), Some(4), "{graph}");

    // As the script says: kill it and watch.
    kill(pid);
    // The chain to the root cause: shop ← its HTTP check ← the process.
    let shop = eventually(Duration::from_secs(30), "shop failing", || async {
        let s = status(&client, &base, "shop").await;
        (s["status"] == "FAILED").then_some(s)
    })
    .await;
    assert_eq!(
        shop["caused_by"],
        serde_json::json!(["demo-app-http"]),
        "{shop}"
    );
    let http_check = eventually(
        Duration::from_secs(30),
        "the HTTP check caused by the process",
        || async {
            let s = status(&client, &base, "demo-app-http").await;
            (s["caused_by"] == serde_json::json!(["demo-app"])).then_some(s)
        },
    )
    .await;
    assert_eq!(http_check["status"], "FAILED", "{http_check}");
    let app = status(&client, &base, "demo-app").await;
    assert_eq!(app["status"], "FAILED", "{app}");

    // Started again as the script says: back to OK.
    let app_py = demo_dir.join("app.py");
    let mut again = Command::new("python3");
    again
        .arg(&app_py)
        .arg(app_port.to_string())
        .arg(demo_dir.join("app.pid"));
    let _restarted = Proc::spawn("demo app", again);
    eventually(Duration::from_secs(30), "shop OK again", || async {
        (status(&client, &base, "shop").await["status"] == "OK").then_some(())
    })
    .await;
    drop(demo);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", http_port)).is_err(),
        "the demo's collector stopped with it"
    );
}

fn kill(pid: i32) {
    let ok = Command::new("kill")
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {pid}");
}
