//! Mutual TLS: agents without a client certificate, with one from another CA,
//! or claiming another agent's id are refused; the rightful agent is accepted.

mod support;

use std::path::Path;
use std::time::Duration;

use lightbulb_proto::v1::{self, ingest_client::IngestClient};
use support::{InProcess, get_json, http};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

fn hello(agent_id: &str) -> v1::RegisterRequest {
    v1::RegisterRequest {
        agent_id: agent_id.into(),
        hostname: "h".into(),
        version: "test".into(),
        ..Default::default()
    }
}

fn pem(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

async fn client(
    server: &InProcess,
    identity: Option<(&Path, &Path)>,
) -> Result<IngestClient<tonic::transport::Channel>, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pem(&server.certs.join("ca.crt"))));
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(pem(cert), pem(key)));
    }
    let channel = Endpoint::from_shared(format!("https://{}", server.grpc))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(IngestClient::new(channel))
}

fn agent_files(certs: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    (
        certs.join(format!("agent-{name}.crt")),
        certs.join(format!("agent-{name}.key")),
    )
}

#[tokio::test]
async fn the_rightful_agent_is_accepted() {
    let server = InProcess::start(&["a"]).await;
    let (cert, key) = agent_files(&server.certs, "a");
    let mut c = client(&server, Some((&cert, &key))).await.unwrap();
    let reply = c
        .register(hello("a"))
        .await
        .expect("registration")
        .into_inner();
    assert!(reply.heartbeat_interval_ms > 0);
    let (_, agents) = get_json(&http(), &server.url("/api/agents")).await;
    assert_eq!(agents[0]["agent_id"], "a");
}

#[tokio::test]
async fn an_agent_without_a_client_certificate_is_refused() {
    let server = InProcess::start(&["a"]).await;
    let refused = match client(&server, None).await {
        Err(_) => true,
        Ok(mut c) => c.register(hello("a")).await.is_err(),
    };
    assert!(refused, "a client without a certificate was served");
    let (_, agents) = get_json(&http(), &server.url("/api/agents")).await;
    assert_eq!(agents, serde_json::json!([]));
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let server = InProcess::start(&["a"]).await;
    let other = tempfile::tempdir().unwrap();
    lightbulb_common::certs::init(other.path(), &["a".to_string()], &[]).unwrap();
    let (cert, key) = agent_files(other.path(), "a");
    let refused = match client(&server, Some((&cert, &key))).await {
        Err(_) => true,
        Ok(mut c) => c.register(hello("a")).await.is_err(),
    };
    assert!(refused, "a certificate signed by another CA was accepted");
    let (_, agents) = get_json(&http(), &server.url("/api/agents")).await;
    assert_eq!(agents, serde_json::json!([]));
}

/// One certificate for a DaemonSet's agents: `*.agents.lightbulb` speaks
/// for every `<node>.agents.lightbulb`, and for nothing else.
#[tokio::test]
async fn a_wildcard_certificate_speaks_for_the_ids_under_it() {
    let server = InProcess::start(&["*.agents.lightbulb"]).await;
    let (cert, key) = agent_files(&server.certs, "*.agents.lightbulb");
    let mut c = client(&server, Some((&cert, &key))).await.unwrap();
    for node in ["node-1.agents.lightbulb", "node-2.agents.lightbulb"] {
        c.register(hello(node)).await.expect("registration");
    }
    let err = c
        .register(hello("a"))
        .await
        .expect_err("an id outside the suffix");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let (_, agents) = get_json(&http(), &server.url("/api/agents")).await;
    let ids: Vec<&str> = agents
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["node-1.agents.lightbulb", "node-2.agents.lightbulb"]);
}

#[tokio::test]
async fn agent_a_cannot_report_as_b() {
    let server = InProcess::start(&["a", "b"]).await;
    let (cert, key) = agent_files(&server.certs, "a");
    let mut c = client(&server, Some((&cert, &key))).await.unwrap();
    let err = c.register(hello("b")).await.expect_err("register as b");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    assert!(err.message().contains("not agent `b`"), "{}", err.message());

    let batch = v1::AgentMessage {
        msg: Some(v1::agent_message::Msg::Batch(v1::ResultBatch {
            agent_id: "b".into(),
            results: vec![v1::CheckResult {
                seq: 1,
                service_id: "web".into(),
                service_type: "api_endpoint".into(),
                timestamp_ms: 1,
                ..Default::default()
            }],
        })),
    };
    let mut replies = c
        .report(tokio_stream::iter(vec![batch]))
        .await
        .unwrap()
        .into_inner();
    let err = match replies.message().await {
        Ok(Some(_)) => panic!("a batch claiming to be `b` was acknowledged"),
        Ok(None) => panic!("stream ended without refusing the batch"),
        Err(e) => e,
    };
    assert_eq!(err.code(), tonic::Code::PermissionDenied);

    // Naming `b` for the whole stream is refused before any batch.
    let mut request = tonic::Request::new(tokio_stream::iter(Vec::<v1::AgentMessage>::new()));
    request
        .metadata_mut()
        .insert("lightbulb-agent-id", "b".parse().unwrap());
    let err = c.report(request).await.expect_err("a stream as b");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let (code, _) = get_json(&http(), &server.url("/api/status/web")).await;
    assert_eq!(code, 404, "the refused result must not be stored");
}

#[tokio::test]
async fn invalid_results_are_refused_counted_and_still_acknowledged() {
    let server = InProcess::start(&["a"]).await;
    let (cert, key) = agent_files(&server.certs, "a");
    let mut c = client(&server, Some((&cert, &key))).await.unwrap();
    let result = |seq: u64, service_id: &str, status_code: u32| v1::CheckResult {
        seq,
        service_id: service_id.into(),
        service_type: "api_endpoint".into(),
        timestamp_ms: 1_700_000_000_000,
        status_code,
        ..Default::default()
    };
    let batch = v1::AgentMessage {
        msg: Some(v1::agent_message::Msg::Batch(v1::ResultBatch {
            agent_id: "a".into(),
            results: vec![
                result(1, "Bad_Name", 0),
                result(2, "web", 9),
                result(3, "web", 0),
            ],
        })),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(batch).await.unwrap();
    let mut replies = c
        .report(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    // The batch is acknowledged: an invalid result can never become valid, so
    // the agent must not resend it forever.
    let ack = replies.message().await.unwrap().expect("an ack");
    assert_eq!(
        ack.msg,
        Some(v1::collector_message::Msg::Ack(v1::Ack { acked_seq: 3 }))
    );
    let client = http();
    let (_, all) = get_json(&client, &server.url("/api/status")).await;
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["web"], "only the valid result is stored");
    let metrics = support::get_text(&client, &server.url("/metrics")).await;
    assert!(
        metrics.contains("lightbulb_results_rejected_total 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lightbulb_results_ingested_total 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_agent_that_stops_sending_heartbeats_is_shown_disconnected() {
    let server =
        InProcess::start_with(&["a"], |c| c.agents.heartbeat = Duration::from_millis(200)).await;
    let (cert, key) = agent_files(&server.certs, "a");
    let mut c = client(&server, Some((&cert, &key))).await.unwrap();
    c.register(hello("a")).await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<v1::AgentMessage>(1);
    let beat = || v1::AgentMessage {
        msg: Some(v1::agent_message::Msg::Heartbeat(v1::Heartbeat::default())),
    };
    tx.send(beat()).await.unwrap();
    let _replies = c
        .report(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap();
    let client = http();
    let connected = || {
        let client = client.clone();
        let url = server.url("/api/agents");
        async move { get_json(&client, &url).await.1[0]["connected"].as_bool() }
    };
    support::eventually(Duration::from_secs(5), "agent connected", || async {
        (connected().await == Some(true)).then_some(())
    })
    .await;
    // The stream stays open but goes silent.
    support::eventually(
        Duration::from_secs(5),
        "silent agent shown disconnected",
        || async { (connected().await == Some(false)).then_some(()) },
    )
    .await;
    // One heartbeat brings it back.
    tx.send(beat()).await.unwrap();
    support::eventually(Duration::from_secs(5), "agent connected again", || async {
        (connected().await == Some(true)).then_some(())
    })
    .await;
}
