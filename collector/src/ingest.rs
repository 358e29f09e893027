//! gRPC ingest: `Register` and the `Report` stream.
//!
//! Ack protocol: batches on one stream are handed to the store in arrival
//! order and committed in that order; after each commit the collector sends
//! `Ack { acked_seq = last seq of that batch }`, so an ack always covers a
//! contiguous prefix of what the agent sent on this stream. A failed commit
//! ends the stream with UNAVAILABLE and nothing after the last ack is
//! considered stored; the agent resends it on its next stream.
//!
//! Gap markers (results with `gap` set) are not results: what they describe
//! is stored with `Store::record_gaps`, before the batch is acked.
//!
//! Identity: the agent is whoever its verified client certificate names. A
//! `Report` stream says which of the certificate's names it reports as in the
//! `lightbulb-agent-id` metadata (default: the first name); a request, stream
//! or batch claiming a name the certificate does not hold is refused
//! (PERMISSION_DENIED), and every batch on a stream must carry its agent id.

use std::sync::Arc;
use std::time::Instant;

use lightbulb_proto::v1::{self, ingest_server::Ingest};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{info, warn};

use crate::state::{AppState, LateCheck, SpoolStats};
use crate::store::{AgentRecord, BoxFuture, DroppedResults, Inserted, LocalCheck, Sequenced};

/// Request metadata with the agent id a `Report` stream reports as.
pub const AGENT_ID_HEADER: &str = "lightbulb-agent-id";

/// Batches waiting for their commit per stream (pipelining depth).
const PIPELINE: usize = 16;

mod identity;

use self::identity::{DenyList, authorize, peer};

pub struct IngestService {
    state: Arc<AppState>,
    gate: Arc<DenyList>,
}

impl IngestService {
    pub fn new(state: Arc<AppState>) -> IngestService {
        let gate = Arc::new(DenyList::new(state.config.grpc.deny_agents_file.clone()));
        IngestService { state, gate }
    }
}

#[tonic::async_trait]
impl Ingest for IngestService {
    async fn register(
        &self,
        request: Request<v1::RegisterRequest>,
    ) -> Result<Response<v1::RegisterResponse>, Status> {
        let peer = peer(&request)?;
        let hello = request.into_inner();
        self.gate.admit(&peer, &hello.agent_id, "registration")?;
        let record = AgentRecord {
            agent_id: hello.agent_id.clone(),
            hostname: hello.hostname,
            version: hello.version,
            labels: hello.labels.into_iter().collect(),
            local_checks: local_checks(hello.local_checks, hello.local_check_cadence),
            last_seen_ms: lightbulb_common::time::now_ms(),
        };
        // A store that is down must not keep agents from streaming: their
        // batches then wait, unacked, until it is back. The record is kept in
        // memory and written again when the stream ends.
        if let Err(e) = self.state.store.upsert_agent(record.clone()).await {
            warn!(agent_id = %hello.agent_id, error = %e, "cannot store the agent's registration; accepting it anyway");
        }
        self.state.agent_registered(record);
        info!(agent_id = %hello.agent_id, "agent registered");
        let local: Vec<(String, String, String)> = hello
            .local_services
            .into_iter()
            .map(|(id, s)| (id, s.service_type, s.label))
            .collect();
        crate::catalog::discovery::sync_local(&self.state.catalog, &hello.agent_id, local).await;
        Ok(Response::new(v1::RegisterResponse {
            collector_version: env!("CARGO_PKG_VERSION").into(),
            heartbeat_interval_ms: self.state.config.agents.heartbeat.as_millis() as u32,
            assigned_checks: Vec::new(),
        }))
    }

    async fn discover(
        &self,
        request: Request<v1::DiscoverRequest>,
    ) -> Result<Response<v1::DiscoverResponse>, Status> {
        let peer = peer(&request)?;
        let found = request.into_inner();
        self.gate.admit(&peer, &found.agent_id, "discovery")?;
        let answer =
            crate::catalog::discovery::sync(&self.state.catalog, &found.agent_id, found.services)
                .await;
        Ok(Response::new(answer))
    }

    type ReportStream = ReceiverStream<Result<v1::CollectorMessage, Status>>;
    type WatchChecksStream = ReceiverStream<Result<v1::CheckAssignment, Status>>;

    async fn watch_checks(
        &self,
        request: Request<v1::WatchChecksRequest>,
    ) -> Result<Response<Self::WatchChecksStream>, Status> {
        let peer = peer(&request)?;
        let watch = request.into_inner();
        self.gate.admit(&peer, &watch.agent_id, "check watch")?;
        let (tx, rx) = mpsc::channel(2);
        tokio::spawn(send_assignments(
            self.state.clone(),
            watch.agent_id,
            watch.labels.into_iter().collect(),
            tx,
        ));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn report(
        &self,
        request: Request<Streaming<v1::AgentMessage>>,
    ) -> Result<Response<Self::ReportStream>, Status> {
        let peer = peer(&request)?;
        // The agent names itself in metadata; a certificate may carry several
        // names, and the stream's rows are stored under the one it chose.
        let agent_id = match request.metadata().get(AGENT_ID_HEADER) {
            Some(v) => v
                .to_str()
                .map_err(|_| Status::invalid_argument(format!("{AGENT_ID_HEADER} is not text")))?
                .to_string(),
            None => peer
                .names
                .first()
                .cloned()
                .ok_or_else(|| Status::unauthenticated("the client certificate names nobody"))?,
        };
        self.gate.admit(&peer, &agent_id, "stream")?;
        let inbound = request.into_inner();
        let (out_tx, out_rx) = mpsc::channel(PIPELINE + 2);
        let (commit_tx, commit_rx) = mpsc::channel(PIPELINE);
        let state = self.state.clone();
        tokio::spawn(acker(state.clone(), commit_rx, out_tx.clone()));
        let gate = (self.gate.clone(), peer.serial);
        tokio::spawn(reader(
            state, peer.names, gate, agent_id, inbound, commit_tx, out_tx,
        ));
        Ok(Response::new(ReceiverStream::new(out_rx)))
    }
}

/// An agent's local checks with their cadences (absent: not known).
fn local_checks(
    ids: Vec<String>,
    mut cadence: std::collections::HashMap<String, v1::CheckCadence>,
) -> Vec<LocalCheck> {
    ids.into_iter()
        .map(|service_id| {
            let c = cadence.remove(&service_id).unwrap_or_default();
            LocalCheck {
                service_id,
                interval_ms: u64::from(c.interval_ms),
                grace_ms: u64::from(c.grace_ms),
            }
        })
        .collect()
}

/// Sends an agent its checks now and again after every catalog change
/// that alters them, until the agent goes away or the collector stops.
async fn send_assignments(
    state: Arc<AppState>,
    agent_id: String,
    labels: std::collections::BTreeMap<String, String>,
    out: mpsc::Sender<Result<v1::CheckAssignment, Status>>,
) {
    let mut last: Option<Vec<v1::CheckDefinition>> = None;
    loop {
        let changed = state.catalog.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let checks = state
            .catalog
            .read(|c| crate::fleet::assignment(c, &agent_id, &labels));
        if last.as_ref() != Some(&checks) {
            let ids: Vec<String> = checks.iter().map(|c| c.service_id.clone()).collect();
            info!(%agent_id, checks = ?ids, "checks assigned");
            state.agent_assigned(&agent_id, ids);
            let message = v1::CheckAssignment {
                checks: checks.clone(),
            };
            if out.send(Ok(message)).await.is_err() {
                return;
            }
            last = Some(checks);
        }
        tokio::select! {
            _ = changed => {}
            _ = out.closed() => return,
            _ = state.shutdown.cancelled() => return,
        }
    }
}

struct Pending {
    last_seq: u64,
    received: Instant,
    /// Results in the batch, and the check time of its oldest.
    results: usize,
    oldest_ms: i64,
    commit: BoxFuture<'static, crate::Result<Inserted>>,
}

/// Reads the agent's messages and queues each batch's commit in order.
async fn reader(
    state: Arc<AppState>,
    names: Vec<String>,
    (gate, serial): (Arc<DenyList>, Option<String>),
    agent_id: String,
    mut inbound: Streaming<v1::AgentMessage>,
    commits: mpsc::Sender<Pending>,
    out: mpsc::Sender<Result<v1::CollectorMessage, Status>>,
) {
    let _connection = state.agent_connected(&agent_id);
    info!(%agent_id, "agent stream open");
    loop {
        let next = tokio::select! {
            m = inbound.message() => m,
            // Stop reading; commits already queued still finish and are acked.
            _ = state.shutdown.cancelled() => break,
        };
        let message = match next {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(e) => {
                info!(%agent_id, error = %e.message(), "agent stream broke");
                break;
            }
        };
        if let Err(e) = gate.still_admitted(&agent_id, serial.as_deref()) {
            warn!(%agent_id, why = %e.message(), "agent stream cut");
            let _ = out.send(Err(e)).await;
            break;
        }
        state.agent_seen(&agent_id);
        let Some(msg) = message.msg else { continue };
        let batch = match msg {
            v1::agent_message::Msg::Heartbeat(h) => {
                let late = h
                    .late_checks
                    .into_iter()
                    .map(|l| LateCheck {
                        service_id: l.service_id,
                        late_ms: l.late_ms,
                        reason: l.reason,
                    })
                    .collect();
                let spool = SpoolStats {
                    depth: h.spooled,
                    bytes: h.spool_bytes,
                    dropped_total: h.dropped,
                    oldest_ms: h.spool_oldest_ms,
                    last_drop_ms: h.spool_last_drop_ms,
                    max_bytes: h.spool_max_bytes,
                };
                if let Some(sample) = state.agent_heartbeat(&agent_id, late, spool) {
                    let (store, id) = (state.store.clone(), agent_id.clone());
                    tokio::spawn(async move {
                        if let Err(e) = store.put_spool_sample(id, sample).await {
                            warn!(error = %e, "cannot keep the agent's spool sample");
                        }
                    });
                }
                continue;
            }
            v1::agent_message::Msg::Batch(b) => b,
        };
        if batch.agent_id != agent_id {
            warn!(%agent_id, claimed = %batch.agent_id, "batch refused: agent id does not match the stream's");
            let e = authorize(&names, &batch.agent_id).err().unwrap_or_else(|| {
                Status::invalid_argument(format!(
                    "this stream reports as `{agent_id}`, the batch claims `{}`",
                    batch.agent_id
                ))
            });
            let _ = out.send(Err(e)).await;
            break;
        }
        let Some(last_seq) = batch.results.last().map(|r| r.seq) else {
            continue;
        };
        let received = Instant::now();
        let mut rows = Vec::with_capacity(batch.results.len());
        let mut gaps = Vec::new();
        for r in &batch.results {
            if let Some(gap) = &r.gap {
                gaps.extend(DroppedResults::from_marker(&agent_id, gap));
                continue;
            }
            match lightbulb_common::CheckResult::try_from(r) {
                Ok(result) => rows.push(Sequenced { seq: r.seq, result }),
                Err(reason) => {
                    state.metrics.rejected(1);
                    warn!(%agent_id, seq = r.seq, service_id = %r.service_id, %reason, "result refused");
                }
            }
        }
        let results = rows.len();
        let oldest_ms = rows
            .iter()
            .map(|r| r.result.timestamp_ms)
            .min()
            .unwrap_or_else(lightbulb_common::time::now_ms);
        let rules = state.alerting.rules();
        state.catalog.read(|c| {
            state
                .windows
                .judge(rows.iter_mut().map(|r| &mut r.result), c, &rules)
        });
        // Both are queued now, in order; the ack waits for both.
        let record_gaps = (!gaps.is_empty()).then(|| state.store.record_gaps(gaps));
        let insert = state.store.insert(&agent_id, rows);
        let commit = match record_gaps {
            None => insert,
            Some(record_gaps) => Box::pin(async move {
                record_gaps.await?;
                insert.await
            }),
        };
        if commits
            .send(Pending {
                last_seq,
                received,
                results,
                oldest_ms,
                commit,
            })
            .await
            .is_err()
        {
            break;
        }
    }
    info!(%agent_id, "agent stream closed");
}

/// Awaits commits in order and acknowledges each.
async fn acker(
    state: Arc<AppState>,
    mut commits: mpsc::Receiver<Pending>,
    out: mpsc::Sender<Result<v1::CollectorMessage, Status>>,
) {
    while let Some(p) = commits.recv().await {
        match p.commit.await {
            Ok(inserted) => {
                let age = lightbulb_common::time::now_ms() - p.oldest_ms;
                let age = std::time::Duration::from_millis(age.max(0) as u64);
                state.metrics.batch(p.received.elapsed(), p.results, age);
                state.apply(inserted);
                let ack = v1::CollectorMessage {
                    msg: Some(v1::collector_message::Msg::Ack(v1::Ack {
                        acked_seq: p.last_seq,
                    })),
                };
                if out.send(Ok(ack)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                state.metrics.store_error();
                warn!(error = %e, "store refused a batch; ending the stream so the agent resends");
                let _ = out.send(Err(e.into())).await;
                return;
            }
        }
    }
}
