//! A result sent again while an earlier insert of it still runs on
//! ClickHouse (the insert of a collector that died, or of another one) is
//! stored once: the store waits for that insert to end before it looks up
//! what is stored. The earlier insert is made here over ClickHouse's HTTP
//! interface, its body held open, under the query id a collector gives its
//! inserts of results (`lightbulb-insert-DB.results-…`).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use lightbulb_collector::config::{StoreConfig, StoreKind};
use lightbulb_collector::store::Store;
use lightbulb_collector::store::clickhouse::ClickHouseStore;
use lightbulb_common::Status;
use support::clickhouse;
use support::stores::*;

/// An INSERT whose body is still being sent.
struct HeldInsert(TcpStream);

impl HeldInsert {
    /// Starts `INSERT INTO results` under `query_id` with `first` (TSV rows)
    /// sent; the rest of the body waits for `finish`.
    fn start(url: &str, database: &str, query_id: &str, first: &str) -> HeldInsert {
        let mut s = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let head = format!(
            "POST /?database={database}&query_id={query_id}&query=INSERT%20INTO%20results%20FORMAT%20TabSeparated HTTP/1.1\r\n\
             Host: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(format!("{:x}\r\n{first}\r\n", first.len()).as_bytes())
            .unwrap();
        HeldInsert(s)
    }

    /// Ends the body; panics unless ClickHouse stored the rows.
    fn finish(mut self) {
        self.0.write_all(b"0\r\n\r\n").unwrap();
        let mut answer = String::new();
        self.0.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

/// A result row in TSV; its message is long, as ClickHouse starts an
/// insert (and lists it) only once a megabyte of its body has come.
fn row(seq: u64, ts: i64) -> String {
    let message = "x".repeat(400_000);
    format!("web\t{ts}\ta\t{seq}\tapi_endpoint\t0\t{message}\t\\N\t\\N\t\\N\t\t\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_waits_for_an_insert_of_it_still_running() {
    let Some(server) = clickhouse::shared() else {
        return;
    };
    let database = clickhouse::fresh_database("inflight");
    let config = StoreConfig {
        kind: StoreKind::Clickhouse,
        url: server.url.clone(),
        database: database.clone(),
        flush_interval: Duration::from_millis(10),
        ..StoreConfig::default()
    };
    let store = Arc::new(ClickHouseStore::open(&config, RETENTION).await.unwrap());
    let t = now() - DAY_MS / 24;
    let query_id = format!("lightbulb-insert-{database}.results-deadcollector");
    let rows: String = (1..=3).map(|s| row(s, t + s as i64)).collect();
    let held = HeldInsert::start(&server.url, &database, &query_id, &rows);
    let url = server.url.clone();
    let running = format!("SELECT count() FROM system.processes WHERE query_id = '{query_id}'");
    support::eventually(Duration::from_secs(10), "the held insert running", || {
        let n = clickhouse::query_i64(&url, "default", &running);
        async move { (n == 1).then_some(()) }
    })
    .await;

    // The agent, now at this collector, sends the same three results.
    let resend = {
        let store = store.clone();
        let results = (1..=3)
            .map(|s| seq(s, result("web", t + s as i64, Status::Ok, None)))
            .collect();
        tokio::spawn(async move { store.insert("a", results).await })
    };
    let mut resend = std::pin::pin!(resend);
    assert!(
        tokio::time::timeout(Duration::from_secs(2), &mut resend)
            .await
            .is_err(),
        "the resend was stored while an insert of it still ran"
    );
    held.finish();
    let got = resend.await.unwrap().unwrap();
    assert_eq!((got.inserted, got.duplicates), (0, 3));
    let stored = clickhouse::query_i64(
        &server.url,
        &database,
        "SELECT count() FROM results WHERE agent_id = 'a'",
    );
    assert_eq!(stored, 3, "each result stored once");
}
