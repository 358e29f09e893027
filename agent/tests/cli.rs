//! The agent binary: bad configuration exits 64 naming file, key and reason;
//! an unreachable collector is retried on a logged schedule while results
//! keep being spooled.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn agent() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lightbulb-agent"));
    // An environment from another test run must not leak in.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("LIGHTBULB_")) {
        cmd.env_remove(k);
    }
    cmd
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs the agent on a fixture; returns (exit code, stderr).
fn run_with(name: &str, args: &[&str]) -> (i32, String) {
    let out = agent()
        .arg("--config")
        .arg(fixture(name))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `print-config` of a file that must load; its output.
fn print_config(file: &Path) -> String {
    let out = agent()
        .arg("--config")
        .arg(file)
        .arg("print-config")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn valid_fixture_loads() {
    let text = print_config(&fixture("agent-valid.toml"));
    assert!(text.contains("agent_id = \"node-a\""), "{text}");
    assert!(text.contains("service_id = \"worker\""), "{text}");
}

/// The README's `agent.toml` reference is a configuration the agent takes,
/// every documented check and the discovery section included.
#[test]
fn readme_agent_example_loads() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let section = readme
        .split("### `agent.toml`")
        .nth(1)
        .expect("agent.toml section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("toml block");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agent.toml");
    std::fs::write(&file, example).unwrap();
    let text = print_config(&file);
    for id in [
        "web",
        "orders-grpc",
        "worker",
        "clickhouse",
        "billing-workflows",
        "web-pods",
    ] {
        assert!(
            text.contains(&format!("service_id = \"{id}\"")),
            "{id} missing:\n{text}"
        );
    }
    assert!(text.contains("node_name = \"node-1\""), "{text}");
}

#[test]
fn env_overrides_the_file() {
    let out = agent()
        .arg("--config")
        .arg(fixture("agent-valid.toml"))
        .arg("print-config")
        .env("LIGHTBULB_SPOOL_DIR", "/tmp/elsewhere")
        .env("LIGHTBULB_SHIPPER__BATCH_SIZE", "17")
        // A collector key in the same environment is not the agent's business.
        .env("LIGHTBULB_HTTP__LISTEN", "127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("spool_dir = \"/tmp/elsewhere\""), "{text}");
    assert!(text.contains("batch_size = 17"), "{text}");
}

#[test]
fn unknown_keys_exit_64_naming_file_and_key() {
    let (code, err) = run_with("agent-unknown-key.toml", &[]);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("agent-unknown-key.toml"), "{err}");
    assert!(err.contains("`colector`"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn bad_checks_exit_64_with_every_problem() {
    let (code, err) = run_with("agent-bad-checks.toml", &[]);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("agent-bad-checks.toml"), "{err}");
    // figment stops at the first type error, so the bad interval is reported
    // first; fix it and the service id rule is next.
    assert!(err.contains("interval") && err.contains("soon"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("agent.toml");
    std::fs::write(
        &fixed,
        std::fs::read_to_string(fixture("agent-bad-checks.toml"))
            .unwrap()
            .replace("\"soon\"", "\"1s\""),
    )
    .unwrap();
    let out = agent().arg("--config").arg(&fixed).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("checks[0].service_id"), "{err}");
    assert!(
        err.contains("`Web_1` must match ^[a-z0-9][a-z0-9-]{0,62}$"),
        "{err}"
    );
}

#[test]
fn bad_status_config_exits_64_naming_check_and_key() {
    let (code, err) = run_with("agent-bad-status-config.toml", &[]);
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("checks[0].status_config"), "{err}");
    assert!(err.contains("unknown field `pidfle`"), "{err}");
    assert!(err.contains("checks[1].service_type"), "{err}");
    assert!(err.contains("unknown check type `mysql`"), "{err}");
}

#[test]
fn a_missing_config_file_exits_64() {
    let (code, err) = run_with("does-not-exist.toml", &[]);
    assert_eq!(code, 64);
    assert!(
        err.contains("does-not-exist.toml") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn a_missing_certificate_names_the_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = agent()
        .current_dir(dir.path())
        .arg("--config")
        .arg(fixture("agent-valid.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("key `tls.ca`") && err.contains("certs/ca.crt"),
        "{err}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "nothing written before the TLS files load"
    );
}

/// Kills the child when dropped, so a failing test leaves nothing running.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_unreachable_collector_is_retried_on_schedule_while_results_are_spooled() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    lightbulb_common::certs::init(&certs, &["node-a".into()], &[]).unwrap();
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spool = dir.path().join("spool");
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "agent_id = \"node-a\"\ncollector = \"https://127.0.0.1:{port}\"\nspool_dir = \"{}\"\n[tls]\nca = \"{c}/ca.crt\"\ncert = \"{c}/agent-node-a.crt\"\nkey = \"{c}/agent-node-a.key\"\n[shipper]\nbackoff_min = \"100ms\"\nbackoff_max = \"400ms\"\n[[checks]]\nservice_id = \"collector-port\"\nservice_type = \"api_endpoint\"\ninterval = \"200ms\"\n[checks.status_config]\nurl = \"tcp://127.0.0.1:{port}\"\n",
            spool.display(),
            c = certs.display()
        ),
    )
    .unwrap();
    let mut child = Child(
        agent()
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut retries = Vec::new();
    while retries.len() < 4 {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("retry log lines");
        if line.contains("collector unreachable") {
            retries.push(line);
        }
    }
    for (i, line) in retries.iter().enumerate() {
        assert!(line.contains(&format!("attempt={}", i + 1)), "{line}");
        assert!(line.contains("retry_in="), "{line}");
        assert!(line.contains("results stay in the spool"), "{line}");
    }
    // Graceful stop flushes the spool; the results are all still there.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.0.id().to_string())
        .status();
    assert!(child.0.wait().unwrap().success());
    let spool = lightbulb_agent::spool::Spool::open(&spool, 1 << 30).unwrap();
    assert!(
        spool.pending() >= 2,
        "only {} results spooled",
        spool.pending()
    );
    assert_eq!(spool.acked_seq(), 0);
}

#[test]
fn malformed_secret_references_exit_64_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agent.toml");
    std::fs::write(
        &file,
        "agent_id = \"node-a\"\n\
         [[checks]]\nservice_id = \"web\"\nservice_type = \"api_endpoint\"\n\
         [checks.status_config]\nurl = \"http://127.0.0.1:1/\"\nheaders = { \"X-Api-Key\" = \"secret://vault/secret/web\" }\n\
         [[checks]]\nservice_id = \"db\"\nservice_type = \"database\"\n\
         [checks.status_config]\nurl = \"http://127.0.0.1:1/\"\npassword = \"secret://vault/secret/db#password\"\n",
    )
    .unwrap();
    let out = agent()
        .arg("--config")
        .arg(&file)
        .arg("print-config")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(
        err.contains("key `checks[0].status_config.headers.X-Api-Key`"),
        "{err}"
    );
    assert!(err.contains("#KEY"), "{err}");
    assert!(
        err.contains("key `checks[1].status_config.password`"),
        "{err}"
    );
    assert!(err.contains("`[secrets.vault]` is not configured"), "{err}");
}
