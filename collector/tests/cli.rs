//! The collector binary: bad configuration exits 64 naming file, key and
//! reason; `certs init` writes the promised files.

use std::path::{Path, PathBuf};
use std::process::Command;

fn collector() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lightbulb-collector"));
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

fn run_with(name: &str) -> (i32, String) {
    let out = collector()
        .arg("--config")
        .arg(fixture(name))
        .arg("print-config")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn valid_fixture_loads_and_env_overrides_it() {
    let out = collector()
        .arg("--config")
        .arg(fixture("collector-valid.toml"))
        .arg("print-config")
        .env("LIGHTBULB_HTTP__LISTEN", "0.0.0.0:9999")
        .env("LIGHTBULB_AUTH__MODE", "none")
        .env("LIGHTBULB_AGENT_ID", "ignored-by-the-collector")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("listen = \"0.0.0.0:9999\""), "{text}");
    assert!(text.contains("kind = \"sqlite\""), "{text}");
    assert!(text.contains("mode = \"none\""), "{text}");
}

#[test]
fn a_listener_other_hosts_reach_needs_an_auth_mode() {
    let out = collector()
        .arg("--config")
        .arg(fixture("collector-valid.toml"))
        .arg("print-config")
        .env("LIGHTBULB_HTTP__LISTEN", "0.0.0.0:9999")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("collector-valid.toml"), "{err}");
    assert!(
        err.contains("key `auth.mode`: not set while `http.listen` (0.0.0.0:9999)"),
        "{err}"
    );
}

#[test]
fn unknown_key_exits_64_naming_file_and_key() {
    let (code, err) = run_with("collector-unknown-key.toml");
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("collector-unknown-key.toml"), "{err}");
    assert!(err.contains("`http.listen_addr`"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn mistyped_value_exits_64_naming_the_key() {
    let (code, err) = run_with("collector-mistyped.toml");
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("`http.listen`"), "{err}");
    assert!(err.contains("collector-mistyped.toml"), "{err}");
}

#[test]
fn unsupported_store_kind_exits_64() {
    let out = collector()
        .arg("--config")
        .arg(fixture("collector-valid.toml"))
        .arg("print-config")
        .env("LIGHTBULB_STORE__KIND", "postgres")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(
        err.contains("`store.kind`") && err.contains("`postgres`"),
        "{err}"
    );
}

#[test]
fn bad_clickhouse_store_keys_are_all_named() {
    let (code, err) = run_with("collector-clickhouse-bad.toml");
    assert_eq!(code, 64, "{err}");
    for key in [
        "`store.url`",
        "`store.database`",
        "`store.cluster`",
        "`store.flush_rows`",
        "`store.retention_raw`",
    ] {
        assert!(err.contains(key), "{key} missing: {err}");
    }
    assert!(err.contains("collector-clickhouse-bad.toml"), "{err}");
    assert!(!err.contains("s3cret"), "password leaked: {err}");
}

#[test]
fn print_config_never_shows_the_store_password() {
    let out = collector()
        .arg("--config")
        .arg(fixture("collector-valid.toml"))
        .arg("print-config")
        .env("LIGHTBULB_STORE__PASSWORD", "s3cret")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(text.contains("password = \"<redacted>\""), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

#[test]
fn certs_init_writes_ca_collector_and_agent_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = collector()
        .args(["certs", "init", "--out"])
        .arg(dir.path())
        .args([
            "--agent",
            "node-a",
            "--agent",
            "node-b",
            "--host",
            "lb.internal",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "ca.crt",
        "ca.key",
        "collector.crt",
        "collector.key",
        "agent-node-a.crt",
        "agent-node-a.key",
        "agent-node-b.crt",
        "agent-node-b.key",
    ] {
        let text =
            std::fs::read_to_string(dir.path().join(f)).unwrap_or_else(|_| panic!("{f} missing"));
        assert!(text.starts_with("-----BEGIN"), "{f} is not PEM");
    }
}

#[test]
fn a_missing_certificate_names_the_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = collector()
        .current_dir(dir.path())
        .arg("--config")
        .arg(fixture("collector-valid.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("key `tls.cert`") && err.contains("certs/collector.crt"),
        "{err}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "no store created before the TLS files load"
    );
}

#[test]
fn security_settings_that_make_no_sense_exit_64_naming_each_key() {
    let (code, err) = run_with("collector-bad-security.toml");
    assert_eq!(code, 64, "{err}");
    for key in [
        "`checks.deny_networks`: `169.254.0.0/99`: the prefix must be 0–32",
        "`http.cors_origins`: `https://grafana.example/dashboards` is not an origin",
        "`auth.local_admin.password_hash`: is not an argon2 hash",
        "`alerting.push_contact`: `ops@example.com` is not a mailto: or https:// address",
    ] {
        assert!(err.contains(key), "`{key}` in {err}");
    }
    assert!(!err.contains("hunter2"), "a secret is never echoed: {err}");
}

#[test]
fn sign_in_required_with_no_way_to_sign_in_exits_64() {
    let out = collector()
        .arg("--config")
        .arg(fixture("collector-valid.toml"))
        .arg("print-config")
        .env("LIGHTBULB_AUTH__MODE", "oidc")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(
        err.contains("key `auth.oidc`: is required with `mode = \"oidc\"`"),
        "{err}"
    );
}

#[test]
fn insights_settings_that_make_no_sense_exit_64_naming_each_key() {
    let (code, err) = run_with("collector-bad-insights.toml");
    assert_eq!(code, 64, "{err}");
    for key in [
        "`insights.anomalies.interval`: must be at least 1s",
        "`insights.anomalies.threshold`: must be from 1 to 100",
        "`insights.anomalies.weeks`: must be from 2 to 12",
        "`insights.reports[0].schedule`: `0 8 * *` has 4 fields",
        "`insights.reports[0].timezone`: `Mars/Olympus` is not a known time zone",
        "`insights.reports[0].period`: must be from 1h to 366d",
        "`insights.reports[0].channels`: must name at least one email channel",
        "`insights.reports[0].degraded`: `sideways` is not `up` or `down`",
        "`insights.reports[0].maintenance`: `skip` is not `exclude` or `include`",
        "`insights.reports[0].objective`: must be above 0 and below 100",
        "`insights.reports[1].name`: `weekly` names another report too",
    ] {
        assert!(err.contains(key), "`{key}` in {err}");
    }
}
