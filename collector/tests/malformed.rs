//! A valid agent (its own certificate and id) sending malformed batches
//! never crashes the collector: seqs of 0, the largest and out of order,
//! service ids and types that are no such thing, status codes out of
//! range, timestamps at both ends of time, NaN and infinite metrics,
//! details that are not JSON or nest past any parser's depth, control
//! characters and NUL in every string, and gap markers with impossible
//! ranges and counts. A property test on stable Rust: the batches come
//! from a seeded generator (`LIGHTBULB_FUZZ_SEED`, `LIGHTBULB_FUZZ_CASES`
//! batches to explore further; a failing seed becomes a case here). Each batch is
//! acknowledged or refused with a gRPC status, no task panics, and
//! afterwards a good result is stored and served.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lightbulb_proto::v1::{self, ingest_client::IngestClient};
use support::rng::Rng;
use support::{InProcess, get_json, http};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Malformed wire values, from the shared seeded generator.
trait Malformed {
    fn text(&mut self) -> String;
    fn seq(&mut self) -> u64;
    fn id(&mut self) -> String;
    fn number(&mut self) -> f64;
    fn details(&mut self) -> String;
    fn result(&mut self) -> v1::CheckResult;
}

impl Malformed for Rng {
    fn text(&mut self) -> String {
        let len = self.pick(&[0usize, 1, 3, 63, 64, 200, 5000]);
        let pool = [
            'a', 'z', '-', '0', ' ', '"', '\'', '\\', '\n', '\0', '\u{7f}', '\u{85}', 'é', '€',
            '\u{202e}', '😀', '{', '}', '[', ']', ':', ',', '%', ';',
        ];
        (0..len).map(|_| self.pick(&pool)).collect()
    }

    fn seq(&mut self) -> u64 {
        let any = self.next();
        self.pick(&[0, 1, 2, u64::MAX, i64::MAX as u64 + 1, any])
    }

    fn id(&mut self) -> String {
        let any = self.text();
        self.pick(&["web", "db-1", &any]).to_string()
    }

    fn number(&mut self) -> f64 {
        let n = self.next();
        self.pick(&[
            0.0,
            -0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::from_bits(n),
        ])
    }

    fn details(&mut self) -> String {
        match self.below(6) {
            0 => String::new(),
            1 => "{\"a\":".into(),
            2 => "[".repeat(10_000),
            3 => format!("{{\"log\":{}}}", serde_json::Value::String(self.text())),
            4 => "null".into(),
            _ => self.text(),
        }
    }

    fn result(&mut self) -> v1::CheckResult {
        let now = lightbulb_common::time::now_ms();
        let gap = (self.below(5) == 0).then(|| v1::SpoolGap {
            segments: (0..self.below(3))
                .map(|_| v1::DroppedSegment {
                    first_seq: self.seq(),
                    last_seq: self.seq(),
                    services: (0..self.below(3))
                        .map(|_| v1::ServiceGap {
                            service_id: self.id(),
                            dropped: self.pick(&[0, 1, u64::MAX]),
                            first_ms: self.pick(&[i64::MIN, -1, 0, now, i64::MAX]),
                            last_ms: self.pick(&[i64::MIN, -1, 0, now, i64::MAX]),
                        })
                        .collect(),
                })
                .collect(),
        });
        v1::CheckResult {
            seq: self.seq(),
            service_id: self.id(),
            timestamp_ms: self.pick(&[i64::MIN, -1, 0, now, i64::MAX]),
            status_code: self.pick(&[0, 1, 2, 5, 6, u32::MAX]),
            message: self.text(),
            metrics: (self.below(2) == 0).then(|| v1::Metrics {
                response_time_ms: Some(self.number()),
                cpu_usage: Some(self.number()),
                memory_usage: Some(self.number()),
                extra: (0..self.below(4))
                    .map(|_| (self.text(), self.number()))
                    .collect(),
            }),
            details_json: self.details(),
            service_type: {
                let any = self.text();
                self.pick(&["api_endpoint", "python_process", "application", &any])
                    .to_string()
            },
            gap,
        }
    }
}

fn pem(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

async fn client(server: &InProcess) -> IngestClient<tonic::transport::Channel> {
    let c = &server.certs;
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pem(&c.join("ca.crt"))))
        .identity(Identity::from_pem(
            pem(&c.join("agent-a.crt")),
            pem(&c.join("agent-a.key")),
        ));
    let channel = Endpoint::from_shared(format!("https://{}", server.grpc))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    IngestClient::new(channel).max_decoding_message_size(64 << 20)
}

/// Sends one batch on a stream of its own; `Ok(acked seq)` or the status
/// it was refused with.
async fn send(
    c: &mut IngestClient<tonic::transport::Channel>,
    results: Vec<v1::CheckResult>,
) -> Result<u64, tonic::Status> {
    let batch = v1::AgentMessage {
        msg: Some(v1::agent_message::Msg::Batch(v1::ResultBatch {
            agent_id: "a".into(),
            results,
        })),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(batch).await.unwrap();
    let mut replies = c
        .report(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    let reply = tokio::time::timeout(Duration::from_secs(30), replies.message())
        .await
        .expect("the collector answers every batch")?;
    match reply.and_then(|m| m.msg) {
        Some(v1::collector_message::Msg::Ack(a)) => Ok(a.acked_seq),
        other => panic!("expected an ack, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_batches_from_a_valid_agent_never_crash_the_collector() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    let mut rng = Rng::from_env(0x5eed_1b0b);
    let seed = rng.0;
    let batches = Rng::cases(150);
    let server = InProcess::start(&["a"]).await;
    let mut c = client(&server).await;
    let (mut acked, mut refused) = (0, 0);
    for i in 0..batches {
        let results: Vec<v1::CheckResult> = (0..1 + rng.below(40)).map(|_| rng.result()).collect();
        match send(&mut c, results.clone()).await {
            Ok(_) => acked += 1,
            Err(status) => {
                assert!(
                    !matches!(status.code(), tonic::Code::Internal | tonic::Code::Unknown),
                    "batch {i} (seed {seed}): {status:?}\n{results:?}"
                );
                refused += 1;
            }
        }
        assert_eq!(
            PANICS.load(Ordering::SeqCst),
            0,
            "batch {i} (seed {seed}) panicked"
        );
    }
    println!("{batches} malformed batches: {acked} acknowledged, {refused} refused");

    // Still whole: a good result is stored and served.
    let good = v1::CheckResult {
        seq: 1 << 40,
        service_id: "after-the-storm".into(),
        service_type: "api_endpoint".into(),
        timestamp_ms: lightbulb_common::time::now_ms(),
        status_code: 0,
        message: "fine".into(),
        ..Default::default()
    };
    assert_eq!(send(&mut c, vec![good]).await.unwrap(), 1 << 40);
    let (code, body) = get_json(&http(), &server.url("/api/status/after-the-storm")).await;
    assert_eq!(
        (code, &body["status"]),
        (200, &serde_json::json!("OK")),
        "{body}"
    );
    let (code, _) = get_json(&http(), &server.url("/api/status")).await;
    assert_eq!(code, 200);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}
