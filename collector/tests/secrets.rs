//! Check credentials from `secret://` references, end to end with real
//! parts: a real OpenBao dev server holds an API key (KV version 2, read
//! with AppRole), a real HTTP server (Python's http.server) answers 200
//! only to requests carrying it, and the real collector and agent binaries
//! run the checks: one from `agent.toml`, one defined through the admin API
//! and pushed to the agent. Both turn OK while the same check without the
//! key fails; then every log line, API answer, export and both stores are
//! searched for the key, which must appear nowhere.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lightbulb_testkit::openbao::OpenBao;
use serde_json::{Value, json};
use support::{
    Collector, Proc, StoreSpec, agent_bin, agent_config, certs, eventually, get_text, http,
};

const REF: &str = "secret://vault/secret/web#api_key";

/// Answers 200 only to requests whose `X-Api-Key` is `key`.
fn keyed_server(key: &str) -> (Proc, u16) {
    let mut cmd = Command::new("python3");
    cmd.env("EXPECTED_KEY", key);
    cmd.args(["-u", "-c", "import http.server, os\nKEY = os.environ['EXPECTED_KEY']\nclass H(http.server.BaseHTTPRequestHandler):\n    def log_message(self, *a): pass\n    def do_GET(self):\n        self.send_response(200 if self.headers.get('X-Api-Key') == KEY else 401)\n        self.send_header('Content-Length', '0'); self.end_headers()\ns = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\nprint('port', s.server_address[1], flush=True)\ns.serve_forever()"]);
    let p = Proc::spawn("keyed server", cmd);
    let line = p.wait_for_line("port ", Duration::from_secs(20));
    let port = line.trim().strip_prefix("port ").unwrap().parse().unwrap();
    (p, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_secret_authenticates_checks_and_is_found_nowhere() {
    let Some(bao) = OpenBao::server().await else {
        return;
    };
    let key = format!("lb-key-{:016x}", fastrand::u64(..));
    bao.put_secret("web", json!({"api_key": key})).await;
    bao.read_policy("web-read", "web").await;
    let (role_id, secret_id) = bao.approle("agent", "web-read").await;

    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path(), &["node-a", "node-b"]);
    let secret_id_file = dir.path().join("secret-id");
    std::fs::write(&secret_id_file, &secret_id).unwrap();
    let vault = format!(
        "[secrets]\ncache_ttl = \"1s\"\n[secrets.vault]\naddress = \"{}\"\nauth = \"approle\"\nrole_id = \"{role_id}\"\nsecret_id_file = \"{}\"\n",
        bao.url,
        secret_id_file.display()
    );

    let sqlite = dir.path().join("sqlite");
    std::fs::create_dir_all(&sqlite).unwrap();
    let mut seen = scenario(
        &sqlite,
        &certs,
        "node-a",
        StoreSpec::Sqlite(sqlite.join("data/lightbulb.db")),
        &vault,
        &key,
    )
    .await;
    seen.push(("sqlite store".into(), files_text(&sqlite.join("data"))));

    let _clickhouse;
    if support::clickhouse::enabled() {
        let server = support::clickhouse::ClickHouse::start();
        let database = "secrets".to_string();
        let store = StoreSpec::ClickHouse {
            url: server.url.clone(),
            database: database.clone(),
        };
        let ch = dir.path().join("clickhouse");
        std::fs::create_dir_all(&ch).unwrap();
        seen.extend(scenario(&ch, &certs, "node-b", store, &vault, &key).await);
        let tables = support::clickhouse::query(
            &server.url,
            &database,
            &format!("SELECT name FROM system.tables WHERE database = '{database}' AND engine NOT LIKE '%View%'"),
        )
        .unwrap();
        let mut rows = String::new();
        for table in tables.lines() {
            rows += &support::clickhouse::query(
                &server.url,
                &database,
                &format!("SELECT * FROM `{table}` FORMAT TSV"),
            )
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        }
        assert!(
            rows.contains("keyed-central"),
            "the ClickHouse tables hold the run"
        );
        seen.push(("clickhouse store".into(), rows));
        _clickhouse = server;
    }

    for (what, text) in &seen {
        assert!(!text.contains(&key), "the secret value appears in {what}");
    }
    assert!(
        seen.iter().any(|(_, t)| t.contains(REF)),
        "the reference itself is shown where the value is not"
    );
}

/// Runs the checks against a collector with `store`; what the run showed,
/// by where it showed it.
async fn scenario(
    dir: &Path,
    certs: &Path,
    agent: &str,
    store: StoreSpec,
    vault: &str,
    key: &str,
) -> Vec<(String, String)> {
    let collector = Collector::start_with(dir, certs, store);
    let (server, port) = keyed_server(key);
    let check = |id: &str, headers: Value| {
        format!(
            "[[checks]]\nservice_id = \"{id}\"\nservice_type = \"api_endpoint\"\ninterval = \"1s\"\n[checks.status_config]\nurl = \"http://127.0.0.1:{port}/\"\nheaders = {{ {} }}\n",
            headers
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("\"{k}\" = {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let checks = [
        check("keyed-local", json!({"X-Api-Key": REF})),
        check("keyed-none", json!({})),
        check(
            "keyed-wrong",
            json!({"X-Api-Key": "secret://vault/secret/web#nope"}),
        ),
    ]
    .concat();
    let config = agent_config(
        dir,
        certs,
        agent,
        collector.grpc,
        &format!("[labels]\nrole = \"keyed\"\n{vault}{checks}"),
    );
    let mut cmd = Command::new(agent_bin());
    cmd.arg("--config").arg(&config);
    let agent_proc = Proc::spawn("agent", cmd);
    let client = http();

    let created = client
        .post(collector.url("/api/admin/services"))
        .json(&json!({"service_id": "keyed-central", "label": "keyed central", "service_type": "api_endpoint",
               "labels": {"role": "keyed"},
               "status_config": {"url": format!("http://127.0.0.1:{port}/"), "interval": "1s",
                                 "headers": {"X-Api-Key": REF}}}))
        .send()
        .await
        .unwrap();
    let code = created.status().as_u16();
    let body = created.text().await.unwrap();
    assert_eq!(code, 201, "{body}");

    let status = |id: &'static str| {
        let client = client.clone();
        let url = collector.url(&format!("/api/status/{id}"));
        async move { support::get_json(&client, &url).await.1 }
    };
    for id in ["keyed-local", "keyed-central"] {
        eventually(Duration::from_secs(30), &format!("{id} OK"), || async {
            (status(id).await["status"] == "OK").then_some(())
        })
        .await;
    }
    let none = eventually(Duration::from_secs(30), "keyed-none checked", || async {
        let s = status("keyed-none").await;
        (s["status"] != "UNKNOWN" && !s["status"].is_null()).then_some(s)
    })
    .await;
    assert_eq!(
        none["status"], "FAILED",
        "without the key the server refuses: {none}"
    );
    let wrong = eventually(Duration::from_secs(30), "keyed-wrong checked", || async {
        let s = status("keyed-wrong").await;
        (s["status"] == "FAILED").then_some(s)
    })
    .await;
    let message = wrong["message"].as_str().unwrap_or_default();
    assert!(message.contains("has no key `nope`"), "{message}");

    let mut seen = Vec::new();
    for path in [
        "/api/status",
        "/api/status/keyed-local",
        "/api/status/keyed-central",
        "/api/services/keyed-central/history?window=1h",
        "/api/admin/services",
        "/api/admin/export",
        "/api/admin/export/services.csv",
        "/api/audit",
        "/api/audit.csv",
        "/api/agents",
    ] {
        seen.push((
            format!("GET {path}"),
            get_text(&client, &collector.url(path)).await,
        ));
    }
    let print = Command::new(agent_bin())
        .arg("--config")
        .arg(&config)
        .arg("print-config")
        .output()
        .unwrap();
    assert!(print.status.success());
    seen.push((
        "agent print-config".into(),
        String::from_utf8_lossy(&print.stdout).into_owned(),
    ));
    drop(server);
    seen.push(("agent log".into(), agent_proc.lines().join("\n")));
    seen.push(("collector log".into(), collector.proc.lines().join("\n")));
    seen
}

/// Every file under `dir` (the SQLite database and its WAL), as text.
fn files_text(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            out += &String::from_utf8_lossy(&std::fs::read(&path).unwrap());
        }
    }
    assert!(
        out.contains("keyed-central"),
        "the SQLite files hold the run"
    );
    out
}
