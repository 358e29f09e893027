//! Configuration as code with the real collector binary: a TOML catalog
//! file applied at start, on SIGHUP and when it changes; what it declares
//! is read-only through the API; drift and errors are reported; an invalid
//! file at start stops the collector naming file, item and key.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Collector, certs, eventually, get_json, get_text, http};

const FIRST: &str = r#"
[[services]]
service_id = "web"
label = "Web"
service_type = "api_endpoint"
labels = { zone = "eu" }
status_config = { url = "http://web.internal/health", interval = "10s" }

[[services]]
service_id = "db"
label = "Database"
service_type = "api_endpoint"
status_config = { url = "tcp://db.internal:5432" }

[[relations]]
source_service_id = "web"
target_service_id = "db"
relation_type = "dependency"
"#;

const SECOND: &str = r#"
[[services]]
service_id = "web"
label = "Web front end"
service_type = "api_endpoint"
labels = { zone = "eu" }
status_config = { url = "http://web.internal/health", interval = "10s" }

[[services]]
service_id = "api"
label = "API"
service_type = "api_endpoint"
status_config = { url = "http://api.internal/" }
"#;

fn start(dir: &Path, file: &Path) -> Collector {
    let certs = certs(dir, &[]);
    let extra = format!("[catalog]\nfile = \"{}\"\n", file.display());
    Collector::sqlite(dir, &certs, &extra)
}

async fn ids(client: &reqwest::Client, c: &Collector) -> Vec<String> {
    let (_, list) = get_json(client, &c.url("/api/admin/services")).await;
    list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["service_id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The catalog file's error, once the collector reports one.
async fn reported_error(client: &reqwest::Client, collector: &Collector) -> String {
    eventually(Duration::from_secs(10), "the error reported", || async {
        let (_, s) = get_json(client, &collector.url("/api/admin/catalog-file")).await;
        s["last_error"].as_str().map(str::to_string)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_file_is_applied_guarded_reloaded_and_exported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("services.toml");
    std::fs::write(&file, FIRST).unwrap();
    let collector = start(dir.path(), &file);
    let client = http();
    let owner = format!("file:{}", file.display());

    let (_, web) = get_json(&client, &collector.url("/api/admin/services/web")).await;
    assert_eq!(web["managed_by"], owner.as_str());
    assert_eq!(web["relations"]["outgoing"][0]["service_id"], "db");
    let r = client
        .put(collector.url("/api/admin/services/web"))
        .json(&json!({"label": "changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("is managed by file:"));
    // The same refusal, with the same status, through an import.
    let r = client
        .post(collector.url("/api/admin/import"))
        .json(&json!({"services": [{"service_id": "web", "label": "changed"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let refused: serde_json::Value = r.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "conflict", "{refused}");
    assert_eq!(refused["problems"][0]["field"], "service_id", "{refused}");
    assert!(
        refused["problems"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("service `web` is managed by file:"),
        "{refused}"
    );
    let (_, standing) = get_json(&client, &collector.url("/api/admin/catalog-file")).await;
    assert_eq!(standing["drift"], json!([]), "{standing}");
    assert!(standing["last_applied"].is_string());

    // A changed file shows as drift until applied; SIGHUP applies it.
    std::fs::write(&file, SECOND).unwrap();
    let (_, standing) = get_json(&client, &collector.url("/api/admin/catalog-file")).await;
    let drift: Vec<&str> = standing["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        drift.contains(&"update service `web`") && drift.contains(&"create service `api`"),
        "{drift:?}"
    );
    assert!(drift.contains(&"delete service `db`"), "{drift:?}");
    collector.proc.signal("HUP");
    eventually(Duration::from_secs(10), "second file applied", || async {
        (ids(&client, &collector).await == ["api", "web"]).then_some(())
    })
    .await;
    let (_, web) = get_json(&client, &collector.url("/api/admin/services/web")).await;
    assert_eq!(web["label"], "Web front end");
    assert_eq!(
        get_json(&client, &collector.url("/api/admin/relations"))
            .await
            .1,
        json!([])
    );

    // An invalid file changes nothing and says why; editing the file alone
    // (no signal) re-reads it.
    let broken = SECOND.replace("http://api.internal/", "nope");
    std::fs::write(&file, &broken).unwrap();
    collector.proc.signal("HUP");
    let error = reported_error(&client, &collector).await;
    assert!(
        error.contains("services.toml")
            && error.contains("`api`")
            && error.contains("key `status_config.url`"),
        "{error}"
    );
    assert_eq!(ids(&client, &collector).await, ["api", "web"]);
    std::fs::write(&file, FIRST).unwrap();
    eventually(
        Duration::from_secs(10),
        "file change applied without a signal",
        || async { (ids(&client, &collector).await == ["db", "web"]).then_some(()) },
    )
    .await;

    // The export in file form declares the same catalog for another collector.
    let toml_text = get_text(&client, &collector.url("/api/admin/export?format=toml")).await;
    let other_dir = tempfile::tempdir().unwrap();
    let other_file = other_dir.path().join("exported.toml");
    std::fs::write(&other_file, &toml_text).unwrap();
    let other = start(other_dir.path(), &other_file);
    let strip = |mut v: Value| {
        for r in v["relations"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("relation_id");
        }
        v
    };
    let a = get_json(&client, &collector.url("/api/admin/export"))
        .await
        .1;
    let b = get_json(&client, &other.url("/api/admin/export")).await.1;
    assert_eq!(strip(a), strip(b));
}

#[test]
fn an_invalid_catalog_file_stops_the_start_naming_file_item_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("services.toml");
    std::fs::write(
        &file,
        FIRST.replace("tcp://db.internal:5432", "tcp://nohost"),
    )
    .unwrap();
    let certs = certs(dir.path(), &[]);
    let (cmd, _) = Collector::command(
        dir.path(),
        &certs,
        &format!("[catalog]\nfile = \"{}\"\n", file.display()),
    );
    let mut proc = support::Proc::spawn("collector", cmd);
    let code = proc.wait_exit(Duration::from_secs(30));
    let out = proc.lines().join("\n");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("services.toml")
            && out.contains("`db`")
            && out.contains("key `status_config.url`"),
        "{out}"
    );
}

/// A failing service, a webhook channel whose URL the collector reads from
/// a file, and a rule notifying it when the service FAILS.
fn alerting_file(url_file: &Path, closed: u16, severity: &str, metric: &str) -> String {
    format!(
        r#"
[[services]]
service_id = "checkout"
label = "Checkout"
service_type = "api_endpoint"
labels = {{ role = "edge" }}
status_config = {{ url = "tcp://127.0.0.1:{closed}", interval = "300ms" }}

[[alert_channels]]
channel_id = "hook"
kind = "webhook"
url = "secret://file{url}"

[[alert_rules]]
rule_id = "down"
severity = "{severity}"
channels = ["hook"]
condition = {{ kind = "status", statuses = ["FAILED"] }}

[[alert_rules]]
rule_id = "slow"
condition = {{ kind = "metric", metric = "{metric}", aggregate = "p95", above = 500 }}
"#,
        url = url_file.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_channels_and_rules_in_the_catalog_file_notify_and_are_held_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let hook = lightbulb_testkit::receivers::HttpReceiver::start(dir.path(), "");
    let url_file = dir.path().join("hook-url");
    std::fs::write(&url_file, format!("{}\n", hook.url("/file"))).unwrap();
    let closed = support::free_port();
    let file = dir.path().join("services.toml");
    std::fs::write(
        &file,
        alerting_file(&url_file, closed, "critical", "response_time_ms"),
    )
    .unwrap();
    let certs = certs(dir.path(), &["node-a"]);
    let collector = Collector::sqlite(
        dir.path(),
        &certs,
        &format!(
            "[catalog]\nfile = \"{}\"\n[alerting]\ninterval = \"200ms\"\n",
            file.display()
        ),
    );
    let config = support::agent_config(
        dir.path(),
        &certs,
        "node-a",
        collector.grpc,
        "[labels]\nrole = \"edge\"\n",
    );
    let mut cmd = std::process::Command::new(support::agent_bin());
    cmd.arg("--config").arg(&config);
    let _agent = support::Proc::spawn("agent", cmd);
    let client = http();
    let owner = format!("file:{}", file.display());

    // The file's rule notifies the file's channel: the receiver gets it.
    let fired = eventually(Duration::from_secs(30), "the notification", || async {
        hook.requests()
            .into_iter()
            .map(|r| r["body"].clone())
            .find(|b| b["service_id"] == "checkout" && b["event"] == "firing")
    })
    .await;
    assert_eq!(fired["rule_id"], "down");
    assert_eq!(fired["severity"], "critical");
    let (_, channels) = get_json(&client, &collector.url("/api/alerts/channels")).await;
    assert_eq!(channels[0]["managed_by"], owner.as_str(), "{channels}");
    assert_eq!(channels[0]["target"]["url"], hook.url("/file"));

    // Held by the file: the API may not change or delete them.
    for (method, path, body) in [
        (
            "PUT",
            "/api/alerts/rules/down",
            json!({"condition": {"kind": "status", "statuses": ["DEGRADED"]}}),
        ),
        ("DELETE", "/api/alerts/rules/slow", Value::Null),
        ("DELETE", "/api/alerts/channels/hook", Value::Null),
    ] {
        let (code, got) = support::send(
            &client,
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            collector.url(path),
            body,
        )
        .await;
        assert_eq!(code, 409, "{method} {path}: {got}");
        assert!(
            got["error"]["message"]
                .as_str()
                .unwrap()
                .contains("is managed by file:"),
            "{got}"
        );
    }

    // A changed rule is drift until applied; SIGHUP applies it, audited.
    std::fs::write(
        &file,
        alerting_file(&url_file, closed, "warning", "response_time_ms"),
    )
    .unwrap();
    let (_, standing) = get_json(&client, &collector.url("/api/admin/catalog-file")).await;
    assert_eq!(
        standing["drift"],
        json!(["update alert rule `down`"]),
        "{standing}"
    );
    collector.proc.signal("HUP");
    eventually(Duration::from_secs(10), "the new severity", || async {
        let (_, rules) = get_json(&client, &collector.url("/api/alerts/rules")).await;
        rules
            .as_array()?
            .iter()
            .any(|r| r["rule_id"] == "down" && r["severity"] == "warning")
            .then_some(())
    })
    .await;
    let (_, audit) = get_json(
        &client,
        &collector.url("/api/audit?action=apply%20catalog%20file%20alerting"),
    )
    .await;
    assert_eq!(audit["records"][0]["actor"], owner.as_str(), "{audit}");
    assert_eq!(
        audit["records"][0]["changes"][0]["after"]["severity"],
        "warning"
    );

    // A rule the API would refuse is refused in the file, naming item and
    // field; nothing changes.
    std::fs::write(&file, alerting_file(&url_file, closed, "info", "latency")).unwrap();
    collector.proc.signal("HUP");
    let error = reported_error(&client, &collector).await;
    assert!(
        error.contains("services.toml")
            && error.contains("alert_rules[1] (slow): condition.metric: `latency` is not a metric"),
        "{error}"
    );
    let (_, rules) = get_json(&client, &collector.url("/api/alerts/rules")).await;
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule_id"] == "down" && r["severity"] == "warning"),
        "{rules}"
    );
}
