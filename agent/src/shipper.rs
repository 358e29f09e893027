//! Streams spooled results to the collector over one long-lived mTLS gRPC
//! stream and deletes them from the spool when acknowledged.
//!
//! Protocol state: `cursor` is the highest `seq` sent on the current stream;
//! it restarts at the spool's acked watermark on every (re)connect, so after
//! a broken stream everything unacknowledged is sent again (the collector
//! drops what it already has). At most `max_in_flight` batches wait for an
//! ack. Reconnects follow the jittered exponential backoff.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use lightbulb_common::backoff::Backoff;
use lightbulb_common::time::millis_u32;
use lightbulb_proto::v1::{self, ingest_client::IngestClient};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use tracing::{info, warn};

use crate::config::{AgentConfig, ShipperConfig};
use crate::spool::Spool;
use crate::{Error, Result};

/// Who the agent says it is at registration.
#[derive(Debug, Clone)]
pub struct Hello {
    pub agent_id: String,
    pub hostname: String,
    pub labels: BTreeMap<String, String>,
    pub local_checks: Vec<String>,
    /// Interval and grace of each local check, for the collector to judge silence by.
    pub cadence: BTreeMap<String, v1::CheckCadence>,
    /// Type and label of each local check, for the collector's catalog.
    pub services: BTreeMap<String, v1::LocalService>,
}

impl Hello {
    pub fn from_config(config: &AgentConfig) -> Hello {
        Hello {
            agent_id: config.agent_id.clone(),
            hostname: config.hostname.clone(),
            labels: config.labels.clone(),
            local_checks: config.checks.iter().map(|c| c.service_id.clone()).collect(),
            cadence: config
                .checks
                .iter()
                .map(|c| {
                    let cadence = v1::CheckCadence {
                        interval_ms: millis_u32(c.interval),
                        grace_ms: c.grace.map_or(0, millis_u32),
                    };
                    (c.service_id.clone(), cadence)
                })
                .collect(),
            services: config
                .checks
                .iter()
                .map(|c| {
                    let service = v1::LocalService {
                        service_type: c.service_type.clone(),
                        label: c.label.clone().unwrap_or_default(),
                    };
                    (c.service_id.clone(), service)
                })
                .collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ShipError {
    #[error("cannot connect: {0}")]
    Connect(#[source] tonic::transport::Error),
    #[error("collector refused: {}: {}", .0.code(), .0.message())]
    Rpc(tonic::Status),
    #[error("collector closed the stream")]
    Closed,
    #[error(transparent)]
    Spool(#[from] Error),
}

impl From<tonic::Status> for ShipError {
    fn from(s: tonic::Status) -> Self {
        ShipError::Rpc(s)
    }
}

/// The gRPC endpoint of the collector, with the agent's client certificate.
pub fn endpoint(config: &AgentConfig) -> Result<Endpoint> {
    use lightbulb_common::tls::{read_certs_pem, read_key_pem};
    let tls_file = |key: &'static str| move |source| Error::TlsFile { key, source };
    let ca = Certificate::from_pem(read_certs_pem(&config.tls.ca).map_err(tls_file("tls.ca"))?);
    let identity = Identity::from_pem(
        read_certs_pem(&config.tls.cert).map_err(tls_file("tls.cert"))?,
        read_key_pem(&config.tls.key).map_err(tls_file("tls.key"))?,
    );
    let url_error = |reason: String| Error::CollectorUrl {
        url: config.collector.clone(),
        reason,
    };
    let tls = ClientTlsConfig::new().ca_certificate(ca).identity(identity);
    Ok(Endpoint::from_shared(config.collector.clone())
        .map_err(|e| url_error(e.to_string()))?
        .tls_config(tls)
        .map_err(|e| url_error(e.to_string()))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(10)))
}

pub struct Shipper {
    pub config: ShipperConfig,
    pub hello: Hello,
    pub endpoint: Endpoint,
    pub spool: Arc<Spool>,
    /// Where the checks the collector assigns go (`None`: not asked for).
    pub assignments: Option<tokio::sync::watch::Sender<Option<Vec<v1::CheckDefinition>>>>,
    /// Services this agent discovered, sent whenever they change (`None`: no discovery).
    pub discovered: Option<tokio::sync::watch::Receiver<Option<Vec<v1::DiscoveredService>>>>,
    /// Checks behind their schedule, reported in heartbeats.
    pub lateness: crate::scheduler::Lateness,
    /// Connected or not, and reconnects, for `/metrics` and `/readyz`.
    pub stats: std::sync::Arc<crate::health::Stats>,
}

/// Sends the discovered set at the start of a session and on every change.
async fn send_discovered(
    mut client: IngestClient<tonic::transport::Channel>,
    agent_id: String,
    mut found: tokio::sync::watch::Receiver<Option<Vec<v1::DiscoveredService>>>,
) {
    loop {
        let services = found.borrow_and_update().clone();
        if let Some(services) = services {
            let request = v1::DiscoverRequest {
                agent_id: agent_id.clone(),
                services,
            };
            match client.discover(request).await {
                Ok(r) => {
                    let r = r.into_inner();
                    info!(
                        created = r.created,
                        updated = r.updated,
                        deleted = r.deleted,
                        "discovered services registered with the collector"
                    );
                    for problem in &r.problems {
                        warn!(%problem, "collector refused a discovered service");
                    }
                }
                Err(e) => {
                    warn!(error = %e.message(), code = ?e.code(), "collector did not take the discovered services; sent again on the next session");
                    return;
                }
            }
        }
        if found.changed().await.is_err() {
            return;
        }
    }
}

/// Follows the collector's check assignments for this agent for as long as
/// the session lasts; a collector without them is no error.
async fn watch_checks(
    mut client: IngestClient<tonic::transport::Channel>,
    hello: (String, BTreeMap<String, String>),
    out: tokio::sync::watch::Sender<Option<Vec<v1::CheckDefinition>>>,
) {
    let (agent_id, labels) = hello;
    let request = v1::WatchChecksRequest {
        agent_id,
        labels: labels.into_iter().collect(),
    };
    let mut stream = match client.watch_checks(request).await {
        Ok(r) => r.into_inner(),
        Err(e) => {
            warn!(error = %e.message(), code = ?e.code(), "collector does not assign checks; running agent.toml checks only");
            return;
        }
    };
    loop {
        match stream.message().await {
            Ok(Some(a)) => {
                let ids: Vec<&str> = a.checks.iter().map(|c| c.service_id.as_str()).collect();
                info!(checks = ?ids, "checks assigned by the collector");
                out.send_replace(Some(a.checks));
            }
            // The session ends too; the next one watches again.
            Ok(None) | Err(_) => return,
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Shipper {
    /// Ships until `shutdown`; never gives up on an unreachable collector.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Backoff::new(self.config.backoff_min, self.config.backoff_max)
            .expect("backoff bounds are validated with the config");
        loop {
            let result = tokio::select! {
                r = self.session(&mut backoff) => r,
                _ = shutdown.cancelled() => return,
            };
            self.stats.connected.store(false, Ordering::Relaxed);
            self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
            let e = match result {
                Ok(()) => continue,
                Err(e) => e,
            };
            let delay = backoff.next_delay();
            warn!(
                collector = %self.endpoint.uri(),
                error = %e,
                attempt = backoff.attempt(),
                retry_in = %humantime::format_duration(Duration::from_millis(delay.as_millis() as u64)),
                spooled = self.spool.pending(),
                "collector unreachable; results stay in the spool, retrying"
            );
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    async fn session(&self, backoff: &mut Backoff) -> Result<(), ShipError> {
        let channel = self.endpoint.connect().await.map_err(ShipError::Connect)?;
        let mut client = IngestClient::new(channel).max_decoding_message_size(16 << 20);
        let hello = &self.hello;
        let registered = client
            .register(v1::RegisterRequest {
                agent_id: hello.agent_id.clone(),
                hostname: hello.hostname.clone(),
                version: env!("CARGO_PKG_VERSION").into(),
                labels: hello.labels.clone().into_iter().collect(),
                local_checks: hello.local_checks.clone(),
                local_check_cadence: hello.cadence.clone().into_iter().collect(),
                local_services: hello.services.clone().into_iter().collect(),
            })
            .await?
            .into_inner();
        let _watch = self.assignments.clone().map(|out| {
            AbortOnDrop(tokio::spawn(watch_checks(
                client.clone(),
                (hello.agent_id.clone(), hello.labels.clone()),
                out,
            )))
        });
        let _discover = self.discovered.clone().map(|found| {
            AbortOnDrop(tokio::spawn(send_discovered(
                client.clone(),
                hello.agent_id.clone(),
                found,
            )))
        });
        let (tx, rx) = mpsc::channel(self.config.max_in_flight + 2);
        let mut report = tonic::Request::new(ReceiverStream::new(rx));
        let id =
            tonic::metadata::MetadataValue::try_from(hello.agent_id.as_str()).map_err(|_| {
                ShipError::Rpc(tonic::Status::invalid_argument(
                    "agent_id is not valid metadata",
                ))
            })?;
        report.metadata_mut().insert("lightbulb-agent-id", id);
        let mut inbound = client.report(report).await?.into_inner();
        info!(
            collector = %self.endpoint.uri(),
            collector_version = %registered.collector_version,
            spooled = self.spool.pending(),
            "connected to collector"
        );
        backoff.reset();
        self.stats.connected.store(true, Ordering::Relaxed);
        let heartbeat_every = match registered.heartbeat_interval_ms {
            0 => self.config.heartbeat,
            ms => Duration::from_millis(u64::from(ms)),
        };
        // The first heartbeat goes at once: the collector learns the spool's
        // state (and any drops) before the backlog is through.
        tx.send(self.heartbeat())
            .await
            .map_err(|_| ShipError::Closed)?;
        let mut heartbeat =
            tokio::time::interval_at(Instant::now() + heartbeat_every, heartbeat_every);
        let mut cursor = self.spool.acked_seq();
        let mut in_flight: VecDeque<u64> = VecDeque::new();
        let mut partial_since: Option<Instant> = None;
        loop {
            // Fill the window with full batches, or a partial one that waited long enough.
            while in_flight.len() < self.config.max_in_flight {
                let available = self.spool.last_seq().saturating_sub(cursor);
                if available == 0 {
                    partial_since = None;
                    break;
                }
                if available < self.config.batch_size as u64 {
                    let since = *partial_since.get_or_insert_with(Instant::now);
                    if since.elapsed() < self.config.batch_latency {
                        break;
                    }
                }
                let batch = self.read_batch(cursor).await?;
                let Some(last) = batch.last().map(|r| r.seq) else {
                    // Everything after the cursor was dropped from a full spool.
                    cursor = cursor.max(self.spool.durable_seq());
                    break;
                };
                cursor = last;
                in_flight.push_back(last);
                partial_since = None;
                let message = v1::AgentMessage {
                    msg: Some(v1::agent_message::Msg::Batch(v1::ResultBatch {
                        agent_id: hello.agent_id.clone(),
                        results: batch,
                    })),
                };
                tx.send(message).await.map_err(|_| ShipError::Closed)?;
            }
            let window_open = in_flight.len() < self.config.max_in_flight;
            let wait_partial = partial_since.map(|s| s + self.config.batch_latency);
            tokio::select! {
                message = inbound.message() => {
                    let Some(message) = message? else { return Err(ShipError::Closed) };
                    if let Some(v1::collector_message::Msg::Ack(ack)) = message.msg {
                        let spool = self.spool.clone();
                        tokio::task::spawn_blocking(move || spool.ack(ack.acked_seq))
                            .await
                            .map_err(|_| ShipError::Closed)??;
                        in_flight.retain(|s| *s > ack.acked_seq);
                    }
                }
                _ = self.spool.appended(), if window_open && partial_since.is_none() => {}
                _ = tokio::time::sleep_until(wait_partial.unwrap_or_else(Instant::now)), if window_open && wait_partial.is_some() => {}
                _ = heartbeat.tick() => {
                    tx.send(self.heartbeat()).await.map_err(|_| ShipError::Closed)?;
                }
            }
        }
    }

    /// A heartbeat with the spool's state and the checks behind schedule.
    fn heartbeat(&self) -> v1::AgentMessage {
        let late_checks = self
            .lateness
            .late(Instant::now())
            .into_iter()
            .map(|l| v1::LateCheck {
                service_id: l.service_id,
                late_ms: l.late.as_millis() as u64,
                reason: l.reason.into(),
            })
            .collect();
        v1::AgentMessage {
            msg: Some(v1::agent_message::Msg::Heartbeat(v1::Heartbeat {
                timestamp_ms: lightbulb_common::time::now_ms(),
                spooled: self.spool.pending(),
                dropped: self.spool.dropped(),
                late_checks,
                spool_bytes: self.spool.bytes(),
                spool_oldest_ms: self.spool.oldest_ms().unwrap_or(0),
                spool_last_drop_ms: self.spool.last_drop_ms().unwrap_or(0),
                spool_max_bytes: self.spool.max_bytes(),
            })),
        }
    }

    /// Flushes the spool if needed and reads the next batch after `cursor`.
    async fn read_batch(&self, cursor: u64) -> Result<Vec<v1::CheckResult>, ShipError> {
        let spool = self.spool.clone();
        let max = self.config.batch_size;
        let batch = tokio::task::spawn_blocking(move || {
            if spool.durable_seq() < spool.last_seq().min(cursor + max as u64) {
                spool.make_durable()?;
            }
            spool.read_after(cursor, max)
        })
        .await
        .map_err(|_| ShipError::Closed)??;
        Ok(batch)
    }
}
