//! Fan-out: 1,000 SSE clients and 1,000 WebSocket clients on one collector,
//! a release build that `scripts/bench.sh` starts: its address in
//! `LIGHTBULB_BENCH_URL`, its pid in `LIGHTBULB_BENCH_PID`, and an agent's
//! configuration in `LIGHTBULB_BENCH_AGENT`. Each round, one result that
//! changes a status is handed to an agent; measured is the time until each
//! client has the change (from the hand-over: ingest and fan-out; and from
//! the first client to have it: fan-out alone), as p50, p99 and max over
//! all clients, and the collector's RSS without and with the clients.
//!
//! `LIGHTBULB_BENCH_CLIENTS` sets the clients of each kind (default 1000).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const ROUNDS: usize = 10;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set (scripts/bench.sh sets it)"))
}

fn rss_mib(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024.0
}

/// When each client got each round's change.
struct Arrivals {
    at: Mutex<Vec<Vec<Instant>>>,
    counts: Vec<AtomicUsize>,
}

impl Arrivals {
    async fn got(&self, round: usize) {
        self.at.lock().await[round].push(Instant::now());
        self.counts[round].fetch_add(1, Ordering::Release);
    }
}

/// This run's services are `fanout<run>-<round>-0`: new ones, so their
/// first result is a change whatever earlier runs left.
static NEEDLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn round_of(text: &str) -> Option<usize> {
    let needle = NEEDLE.get()?;
    let rest = &text[text.find(needle.as_str())? + needle.len()..];
    rest[..rest.find('-')?].parse().ok()
}

async fn websocket_client(addr: String, arrivals: Arc<Arrivals>, ready: Arc<AtomicUsize>) {
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let url = format!("ws://{addr}/api/status/websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    ws.send(Message::Text(r#"{"type":"subscribe","all":true}"#.into()))
        .await
        .unwrap();
    let mut seen = [false; ROUNDS];
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            if t.contains("\"subscribed\"") {
                ready.fetch_add(1, Ordering::Release);
            } else if let Some(r) = round_of(&t).filter(|r| *r < ROUNDS && !seen[*r]) {
                seen[r] = true;
                arrivals.got(r).await;
            }
        }
    }
}

async fn sse_client(
    http: reqwest::Client,
    url: String,
    arrivals: Arc<Arrivals>,
    ready: Arc<AtomicUsize>,
) {
    let mut response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    ready.fetch_add(1, Ordering::Release);
    let mut seen = [false; ROUNDS];
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some(r) = round_of(&event).filter(|r| *r < ROUNDS && !seen[*r]) {
                seen[r] = true;
                arrivals.got(r).await;
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    lightbulb_common::tls::install_crypto_provider();
    let run = lightbulb_common::time::now_ms();
    NEEDLE
        .set(format!("\"service_id\":\"fanout{run}-"))
        .unwrap();
    let url = env("LIGHTBULB_BENCH_URL");
    let pid = env("LIGHTBULB_BENCH_PID");
    let agent_file = env("LIGHTBULB_BENCH_AGENT");
    let agent = lightbulb_agent::config::AgentConfig::load(Some(std::path::Path::new(&agent_file)))
        .unwrap();
    let per_kind: usize = std::env::var("LIGHTBULB_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let before = rss_mib(&pid);
    let arrivals = Arc::new(Arrivals {
        at: Mutex::new(vec![Vec::new(); ROUNDS]),
        counts: (0..ROUNDS).map(|_| AtomicUsize::new(0)).collect(),
    });
    let ready = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let started = Instant::now();
    for i in 0..per_kind * 2 {
        if i % 2 == 0 {
            tokio::spawn(websocket_client(
                addr.clone(),
                arrivals.clone(),
                ready.clone(),
            ));
        } else {
            tokio::spawn(sse_client(
                http.clone(),
                format!("{url}/api/status/stream"),
                arrivals.clone(),
                ready.clone(),
            ));
        }
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    while ready.load(Ordering::Acquire) < per_kind * 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {} clients connected",
            ready.load(Ordering::Acquire)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "fanout: {per_kind} SSE + {per_kind} WebSocket clients connected in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let with = rss_mib(&pid);
    let mut end_to_end = Vec::new();
    let mut spread = Vec::new();
    for round in 0..ROUNDS {
        let handed = Instant::now();
        lightbulb_agent::bench::run(
            &agent,
            1,
            1,
            &format!("fanout{run}-{round}"),
            CancellationToken::new(),
        )
        .await
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while arrivals.counts[round].load(Ordering::Acquire) < per_kind * 2 {
            assert!(
                Instant::now() < deadline,
                "round {round}: only {} clients got the change",
                arrivals.counts[round].load(Ordering::Acquire)
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let at = arrivals.at.lock().await[round].clone();
        let first = *at.iter().min().unwrap();
        end_to_end.extend(
            at.iter()
                .map(|t| t.duration_since(handed).as_secs_f64() * 1000.0),
        );
        spread.extend(
            at.iter()
                .map(|t| t.duration_since(first).as_secs_f64() * 1000.0),
        );
    }
    for v in [&mut end_to_end, &mut spread] {
        v.sort_by(f64::total_cmp);
    }
    let line = |name: &str, v: &[f64]| {
        println!(
            "fanout: {name}: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} deliveries)",
            percentile(v, 0.5),
            percentile(v, 0.99),
            v[v.len() - 1],
            v.len()
        )
    };
    line(
        "from the result handed to the agent to each client",
        &end_to_end,
    );
    line("from the first client to each client", &spread);
    println!("fanout: collector RSS {before:.0} MiB without clients, {with:.0} MiB with them");
}
