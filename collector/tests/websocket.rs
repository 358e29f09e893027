//! `GET /api/status/websocket` as a client meets it, against the real
//! collector fed by a real agent's spool: what a subscription lets through,
//! resuming after a drop, a client too slow to read, and shutdown.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{InProcess, eventually, http, send};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{WebSocketStream, client_async};
use tokio_util::sync::CancellationToken;

type Ws = WebSocketStream<TcpStream>;

/// A client on `server`; `rcvbuf` shrinks its receive buffer (a slow reader).
async fn connect(server: &InProcess, query: &str, rcvbuf: Option<u32>) -> Ws {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(size) = rcvbuf {
        socket.set_recv_buffer_size(size).unwrap();
    }
    let stream = socket.connect(server.http).await.unwrap();
    let url = format!("ws://{}/api/status/websocket{query}", server.http);
    let (ws, answer) = client_async(url, stream).await.expect("upgraded");
    assert_eq!(answer.status(), 101);
    ws
}

async fn say(ws: &mut Ws, message: Value) -> Value {
    ws.send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
    next(ws, Duration::from_secs(5)).await.expect("an answer")
}

/// The next JSON message, or `None` if none comes within `wait`.
async fn next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Some(
                    json!({"type": "close", "code": frame.as_ref().map(|f| u16::from(f.code)), "reason": frame.map(|f| f.reason.to_string())}),
                );
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => panic!("the connection failed: {e}"),
            _ => return None,
        }
    }
}

/// Status updates until none comes for half a second.
async fn updates(ws: &mut Ws) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(m) = next(ws, Duration::from_millis(500)).await {
        assert_eq!(m["type"], "status_update", "{m}");
        out.push(m);
    }
    out
}

fn services(updates: &[Value]) -> std::collections::BTreeSet<String> {
    updates
        .iter()
        .map(|u| u["service_id"].as_str().unwrap().to_string())
        .collect()
}

async fn feed(server: &InProcess, spool: &std::path::Path, results: u64) {
    let config = server.agent_config("node-a", spool);
    lightbulb_agent::bench::run(&config, results, 10, "bench", CancellationToken::new())
        .await
        .unwrap()
        .expect("bench finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_choose_what_arrives_and_a_dropped_client_resumes() {
    let server = InProcess::start(&["node-a"]).await;
    let client = http();
    for i in 0..3 {
        let (code, body) = send(
            &client,
            reqwest::Method::POST,
            server.url("/api/admin/services"),
            json!({"service_id": format!("bench-{i}"), "label": format!("Bench {i}"), "service_type": "api_endpoint",
                   "labels": {"team": "pay"}, "status_config": {"url": "tcp://127.0.0.1:9"}}),
        )
        .await;
        assert_eq!(code, 201, "{body}");
    }
    let mut one = connect(&server, "", None).await;
    let ack = say(
        &mut one,
        json!({"type": "subscribe", "service_ids": ["bench-7", "bench-8"]}),
    )
    .await;
    assert_eq!(
        ack,
        json!({"type": "subscribed", "all": false, "service_ids": ["bench-7", "bench-8"], "labels": []})
    );
    let ack = say(
        &mut one,
        json!({"type": "unsubscribe", "service_ids": ["bench-8"]}),
    )
    .await;
    assert_eq!(ack["service_ids"], json!(["bench-7"]));
    let mut team = connect(&server, "", None).await;
    say(
        &mut team,
        json!({"type": "subscribe", "labels": ["team=pay"]}),
    )
    .await;
    let mut all = connect(&server, "", None).await;
    say(&mut all, json!({"type": "subscribe", "all": true})).await;
    // Nothing is sent before a subscription, and nothing since connecting is lost.
    let mut late = connect(&server, "", None).await;
    // Bad messages are answered, naming the field; the connection stays.
    let e = say(
        &mut late,
        json!({"type": "subscribe", "service_ids": ["Bad!"]}),
    )
    .await;
    assert_eq!(
        (&e["type"], &e["field"]),
        (&json!("error"), &json!("service_ids")),
        "{e}"
    );
    let e = say(&mut late, json!({"type": "hello"})).await;
    assert_eq!(
        (&e["type"], &e["field"]),
        (&json!("error"), &json!("type")),
        "{e}"
    );

    let spool = tempfile::tempdir().unwrap();
    feed(&server, spool.path(), 2000).await;
    let everything = updates(&mut all).await;
    assert_eq!(services(&everything).len(), 10, "every service");
    let ids: Vec<i64> = everything
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    for u in &everything {
        for field in [
            "id",
            "service_id",
            "status",
            "status_code",
            "message",
            "last_check",
            "agent_id",
        ] {
            assert!(
                u.get(field).is_some(),
                "`{field}` as in the SSE events: {u}"
            );
        }
    }
    let only = |id: &str| -> Vec<Value> {
        everything
            .iter()
            .filter(|u| u["service_id"] == id)
            .cloned()
            .collect()
    };
    assert_eq!(updates(&mut one).await, only("bench-7"));
    let paying = updates(&mut team).await;
    assert_eq!(
        services(&paying),
        ["bench-0", "bench-1", "bench-2"].map(String::from).into(),
    );
    assert!(
        next(&mut late, Duration::from_millis(500)).await.is_none(),
        "nothing before a subscription"
    );
    say(&mut late, json!({"type": "subscribe", "all": true})).await;
    assert_eq!(
        updates(&mut late).await,
        everything,
        "everything since it connected"
    );

    // A client that dropped resumes after the last event it got.
    drop(all);
    let mut again = connect(&server, &format!("?last_event_id={}", ids[4]), None).await;
    say(&mut again, json!({"type": "subscribe", "all": true})).await;
    assert_eq!(updates(&mut again).await, everything[5..].to_vec());
    let metrics = support::get_text(&client, &server.url("/metrics")).await;
    assert!(
        metrics.contains("lightbulb_websocket_clients 4\n"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_is_closed_as_too_slow_and_the_collector_stopping_closes_the_rest()
 {
    let server = InProcess::start(&["node-a"]).await;
    let mut slow = connect(&server, "", Some(4096)).await;
    say(&mut slow, json!({"type": "subscribe", "all": true})).await;
    let mut idle = connect(&server, "", None).await;
    say(
        &mut idle,
        json!({"type": "subscribe", "service_ids": ["nothing-here"]}),
    )
    .await;
    let spool = tempfile::tempdir().unwrap();
    // Far more changes than the queue and the sockets' buffers hold.
    feed(&server, spool.path(), 100_000).await;
    let client = http();
    eventually(
        Duration::from_secs(30),
        "the slow client given up",
        || async {
            let metrics = support::get_text(&client, &server.url("/metrics")).await;
            metrics
                .contains("lightbulb_websocket_too_slow_total 1\n")
                .then_some(())
        },
    )
    .await;
    let mut got = 0;
    let close = loop {
        let m = next(&mut slow, Duration::from_secs(40))
            .await
            .expect("a message or the close");
        if m["type"] == "close" {
            break m;
        }
        got += 1;
    };
    assert_eq!(close["code"], 1008, "{close}");
    assert!(
        close["reason"].as_str().unwrap().starts_with("too slow"),
        "{close}"
    );
    assert!(got > 0, "it got what was sent before it fell behind");

    drop(server);
    let close = next(&mut idle, Duration::from_secs(10))
        .await
        .expect("closed");
    assert_eq!(
        (&close["type"], &close["code"]),
        (&json!("close"), &json!(1001)),
        "{close}"
    );
    assert_eq!(close["reason"], "collector shutting down");
}
