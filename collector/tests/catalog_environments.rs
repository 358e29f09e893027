//! Per-environment catalog files with the real binaries: a YAML file whose
//! `prod` overrides point a check at a listening port (the base file at a
//! closed one) is applied with `[catalog] environment = "prod"`, and a real
//! agent's result in the live status shows the override took effect;
//! `catalog check` judges a file for CI without a running collector.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{
    Collector, Proc, agent_bin, agent_config, certs, collector_bin, eventually, get_json, get_text,
    http,
};

fn file(dir: &Path, listening: u16, closed: u16) -> std::path::PathBuf {
    let path = dir.join("services.yaml");
    let text = format!(
        "services:
  - service_id: web
    label: Web
    service_type: api_endpoint
    labels: {{agent_id: node-a}}
    status_config: {{url: 'tcp://127.0.0.1:{closed}', interval: 1s}}
alert_channels:
  - {{channel_id: ops, kind: webhook, url: 'https://hooks.dev.example/x'}}
environments:
  prod:
    services:
      web:
        label: Web (prod)
        status_config: {{url: 'tcp://127.0.0.1:{listening}'}}
    alert_channels:
      ops: {{url: 'https://hooks.prod.example/x'}}
  broken:
    services:
      web:
        status_config: {{url: 'ftp://web'}}
"
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_environment_decides_what_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = support::free_port();
    let catalog = file(dir.path(), listening.local_addr().unwrap().port(), closed);
    let certs = certs(dir.path(), &["node-a"]);
    let extra = format!(
        "[catalog]\nfile = \"{}\"\nenvironment = \"prod\"\n",
        catalog.display()
    );
    let collector = Collector::sqlite(dir.path(), &certs, &extra);
    let agent_toml = agent_config(dir.path(), &certs, "node-a", collector.grpc, "");
    let mut cmd = Command::new(agent_bin());
    cmd.arg("--config").arg(&agent_toml);
    let _agent = Proc::spawn("agent", cmd);
    let client = http();

    let status = eventually(Duration::from_secs(20), "web checked", || async {
        let (_, s) = get_json(&client, &collector.url("/api/status/web")).await;
        (s["status"] == "OK" || s["status"] == "FAILED").then_some(s)
    })
    .await;
    assert_eq!(status["status"], "OK", "the prod URL is checked: {status}");
    assert_eq!(status["label"], "Web (prod)");
    let (_, standing) = get_json(&client, &collector.url("/api/admin/catalog-file")).await;
    assert_eq!(standing["environment"], "prod");
    assert_eq!(standing["drift"], serde_json::json!([]), "{standing}");
    let (_, channels) = get_json(&client, &collector.url("/api/alerts/channels")).await;
    assert!(
        channels.to_string().contains("hooks.prod.example"),
        "{channels}"
    );
    let exported = get_text(&client, &collector.url("/api/admin/export?format=toml")).await;
    assert!(
        exported.contains(&format!(
            "url = \"tcp://127.0.0.1:{}\"",
            listening.local_addr().unwrap().port()
        )),
        "{exported}"
    );
}

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(collector_bin())
        .args(["catalog", "check"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn catalog_check_judges_a_file_for_an_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), 8080, 9);
    let f = path.to_str().unwrap();

    let (code, effective, summary) = check(&[f, "--environment", "prod", "--print"]);
    assert_eq!(code, 0, "{summary}");
    assert!(
        summary.contains(
            "(environment prod) is valid: 1 services, 0 relations, 1 alert channels, 0 alert rules"
        ),
        "{summary}"
    );
    // The effective file: overrides merged, ready to apply as it is.
    let doc: toml::Value = toml::from_str(&effective).unwrap();
    let web = &doc["services"][0];
    assert_eq!(
        web["status_config"]["url"].as_str(),
        Some("tcp://127.0.0.1:8080")
    );
    assert_eq!(web["status_config"]["interval"].as_str(), Some("1s"));
    assert_eq!(
        doc["alert_channels"][0]["url"].as_str(),
        Some("https://hooks.prod.example/x")
    );

    let (code, _, problems) = check(&[f, "-e", "broken"]);
    assert_eq!(code, 64);
    assert!(
        problems
            .contains("services[0] `web`: key `status_config.url`: `ftp://web` must use http://"),
        "{problems}"
    );
    let (code, _, problems) = check(&[f, "-e", "qa"]);
    assert_eq!(code, 64);
    assert!(
        problems.contains(
            "environment `qa` is not declared under `environments` (declared: broken, prod)"
        ),
        "{problems}"
    );
}
