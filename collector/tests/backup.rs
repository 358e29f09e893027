//! Backup and restore with the real binaries: a backup of a SQLite store
//! taken while an agent's results are being ingested, restored into a fresh
//! collector, holds the same catalog and every result committed before it
//! (per agent, an unbroken run of its sequence numbers: nothing missing,
//! nothing half-written), all of them found in the source store, and the
//! restored collector serves them. A catalog-only backup restores into an
//! empty store; a restore never replaces a store without `--force`.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rusqlite::Connection;
use serde_json::{Value, json};
use support::{
    Collector, Proc, StoreSpec, agent_bin, agent_config, certs, collector_bin, get_json, http, send,
};

fn run(config: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(collector_bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("collector binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// (agent, seq) of every stored result, sorted.
fn results(db: &Path) -> Vec<(String, i64)> {
    let conn = Connection::open(db).unwrap();
    let mut q = conn
        .prepare("SELECT agent_id, seq FROM results ORDER BY agent_id, seq")
        .unwrap();
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn export(v: Value) -> Value {
    let mut v = v;
    for r in v["relations"].as_array_mut().into_iter().flatten() {
        r.as_object_mut().unwrap().remove("relation_id");
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_ingest_restores_the_catalog_and_every_committed_result() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certs(dir.path(), &["node-a"]);
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let source_db = dir.path().join("data/lightbulb.db");
    let source = Collector::start_on(
        dir.path(),
        &certs,
        any,
        any,
        StoreSpec::Sqlite(source_db.clone()),
        "",
    );
    let client = http();
    for (id, port) in [("web", source.http.port()), ("api", source.grpc.port())] {
        let (code, body) = send(
            &client,
            reqwest::Method::POST,
            source.url("/api/admin/services"),
            json!({"service_id": id, "label": id, "service_type": "api_endpoint",
                   "status_config": {"url": format!("tcp://127.0.0.1:{port}")}}),
        )
        .await;
        assert_eq!(code, 201, "{body}");
    }
    let (code, body) = send(
        &client,
        reqwest::Method::POST,
        source.url("/api/admin/relations"),
        json!({"source_service_id": "web", "target_service_id": "api", "relation_type": "dependency"}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let checks: String = (0..8)
        .map(|i| {
            format!(
                "[[checks]]\nservice_id = \"busy-{i}\"\nservice_type = \"api_endpoint\"\ninterval = \"100ms\"\n\
                 [checks.status_config]\nurl = \"tcp://127.0.0.1:{}\"\n",
                source.http.port()
            )
        })
        .collect();
    let config = agent_config(dir.path(), &certs, "node-a", source.grpc, &checks);
    let mut cmd = Command::new(agent_bin());
    cmd.arg("--config").arg(&config);
    let mut agent = Proc::spawn("agent", cmd);
    support::eventually(Duration::from_secs(20), "results flowing", || async {
        (results(&source_db).len() > 100).then_some(())
    })
    .await;

    // Taken while the agent keeps sending.
    let backup = dir.path().join("backup.db");
    let (code, said) = run(
        &source.config,
        &["backup", "--out", backup.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{said}");
    assert!(
        // Two made through the API, eight the agent's own checks.
        said.starts_with("backed up 10 services, 1 relations, "),
        "{said}"
    );
    let (code, said) = run(
        &source.config,
        &["backup", "--out", backup.to_str().unwrap()],
    );
    assert_eq!(code, 64, "never overwrites: {said}");
    support::eventually(
        Duration::from_secs(20),
        "more results after the backup",
        || async { (results(&source_db).len() > results(&backup).len() + 50).then_some(()) },
    )
    .await;
    agent.terminate(Duration::from_secs(20));
    let source_export = export(get_json(&client, &source.url("/api/admin/export")).await.1);
    drop(source);

    // Every result in the backup is in the source, and they are an unbroken
    // run of the agent's sequence numbers from its first.
    let saved = results(&backup);
    let all = results(&source_db);
    assert!(saved.len() > 100, "{} results in the backup", saved.len());
    assert!(saved.iter().all(|r| all.binary_search(r).is_ok()));
    let own: Vec<i64> = saved
        .iter()
        .filter(|(a, _)| a == "node-a")
        .map(|(_, s)| *s)
        .collect();
    let first = all.iter().find(|(a, _)| a == "node-a").unwrap().1;
    assert_eq!(own[0], first, "from the agent's first result");
    assert!(own.windows(2).all(|w| w[1] > w[0]), "ordered");
    let in_source: Vec<i64> = all
        .iter()
        .filter(|(a, s)| a == "node-a" && *s <= *own.last().unwrap())
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(
        own, in_source,
        "every result committed before the backup is in it"
    );

    // Restored into a fresh collector: the same catalog, and the results served.
    let fresh = tempfile::tempdir().unwrap();
    let fresh_db = fresh.path().join("data/lightbulb.db");
    let fresh_config = Collector::write_config(
        fresh.path(),
        &certs,
        any,
        any,
        &StoreSpec::Sqlite(fresh_db.clone()),
        "",
    );
    let (code, said) = run(
        &fresh_config,
        &["restore", "--from", backup.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{said}");
    assert_eq!(results(&fresh_db), saved);
    let (code, said) = run(
        &fresh_config,
        &["restore", "--from", backup.to_str().unwrap()],
    );
    assert_eq!(
        code, 64,
        "an existing store is replaced only with --force: {said}"
    );
    assert!(said.contains("--force"), "{said}");
    let restored = Collector::start_on(
        fresh.path(),
        &certs,
        any,
        any,
        StoreSpec::Sqlite(fresh_db),
        "",
    );
    assert_eq!(
        export(
            get_json(&client, &restored.url("/api/admin/export"))
                .await
                .1
        ),
        source_export
    );
    let busy: i64 = Connection::open(&backup)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM results WHERE service_id = 'busy-0'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let (_, history) = get_json(&client, &restored.url("/api/services/busy-0/history")).await;
    assert!(busy > 0);
    assert_eq!(
        history["total"], busy,
        "every result of busy-0 in the backup is served"
    );

    // The catalog alone, into an empty store.
    let catalog = dir.path().join("catalog.json");
    let (code, said) = run(
        &fresh_config,
        &[
            "backup",
            "--catalog-only",
            "--out",
            catalog.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{said}");
    drop(restored);
    let empty = tempfile::tempdir().unwrap();
    let empty_config = Collector::write_config(
        empty.path(),
        &certs,
        any,
        any,
        &StoreSpec::Sqlite(empty.path().join("data/lightbulb.db")),
        "",
    );
    let (code, said) = run(
        &empty_config,
        &["restore", "--from", catalog.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("catalog restored: 11 created"), "{said}");
    let again = Collector::start_on(
        empty.path(),
        &certs,
        any,
        any,
        StoreSpec::Sqlite(empty.path().join("data/lightbulb.db")),
        "",
    );
    assert_eq!(
        export(get_json(&client, &again.url("/api/admin/export")).await.1),
        source_export
    );
}
