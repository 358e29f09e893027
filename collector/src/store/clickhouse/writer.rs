//! The ClickHouse writer task: gathers inserts until `flush_rows` results
//! wait or the oldest has waited `flush_interval`, drops results already
//! stored (looked up in `result_keys`), inserts the rest and their status
//! events, and only then answers the callers (who ack their agents).
//!
//! While ClickHouse is down or slow the flush is retried with backoff and
//! nothing is answered: agents stop getting acks and keep their results
//! spooled; once the queue is full new batches are refused. The store reports
//! not ready until a flush succeeds again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lightbulb_common::backoff::Backoff;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{info, warn};

use super::dedup::{self, Resend, Stored};
use super::query::{Ch, EventRow, ResultRow};
use crate::Result;
use crate::store::{Advance, Heads, Inserted, LatestStatus, Sequenced};

pub(super) enum Op {
    Insert {
        agent_id: String,
        results: Vec<Sequenced>,
        reply: oneshot::Sender<Result<Inserted>>,
    },
    /// Latest statuses as stored, read by the poller: other collectors' rows.
    Observed(Vec<LatestStatus>),
    /// A service was removed at this time: the next result starts it anew.
    Forget(String, i64),
}

pub(super) struct Writer {
    pub ch: Ch,
    pub latest: Heads,
    pub ids: EventIds,
    pub replica: u64,
    pub healthy: Arc<AtomicBool>,
    pub flush_rows: usize,
    pub flush_interval: Duration,
    /// Statuses other collectors moved, for this collector's snapshot.
    pub observed: mpsc::Sender<Inserted>,
    /// The highest seq of each agent this writer has inserted.
    pub inserted: HashMap<String, u64>,
}

/// Event ids ordered across collectors: milliseconds, then a per-collector
/// tag, then a counter (`ms << 20 | tag << 10 | n`).
pub(super) struct EventIds {
    tag: i64,
    ms: i64,
    n: i64,
}

impl EventIds {
    pub fn new(tag: u16) -> EventIds {
        EventIds {
            tag: i64::from(tag & 0x3ff),
            ms: 0,
            n: 0,
        }
    }

    pub fn next(&mut self, now_ms: i64) -> i64 {
        if now_ms > self.ms {
            (self.ms, self.n) = (now_ms, 0);
        } else {
            self.n += 1;
            if self.n == 1024 {
                (self.ms, self.n) = (self.ms + 1, 0);
            }
        }
        self.ms << 20 | self.tag << 10 | self.n
    }
}

pub(super) async fn run(mut w: Writer, mut rx: mpsc::Receiver<Op>) {
    while let Some(first) = rx.recv().await {
        let deadline = Instant::now() + w.flush_interval;
        let mut batch = Vec::new();
        let mut rows = 0;
        let mut next = Some(first);
        while let Some(op) = next.take() {
            match op {
                Op::Observed(list) => w.observe(list),
                Op::Forget(service_id, at_ms) => w.latest.forget(&service_id, at_ms),
                Op::Insert {
                    agent_id,
                    results,
                    reply,
                } => {
                    rows += results.len();
                    batch.push((agent_id, results, reply));
                }
            }
            if rows >= w.flush_rows || batch.is_empty() {
                break;
            }
            next = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .ok()
                .flatten();
        }
        if !batch.is_empty() {
            w.flush(batch).await;
        }
    }
    info!("clickhouse writer stopped");
}

type Pending = (String, Vec<Sequenced>, oneshot::Sender<Result<Inserted>>);

impl Writer {
    fn observe(&mut self, list: Vec<LatestStatus>) {
        let moved: Vec<LatestStatus> = list
            .into_iter()
            .filter(|s| self.latest.is_newer(s))
            .collect();
        if moved.is_empty() {
            return;
        }
        let update = Inserted {
            latest: moved.clone(),
            ..Inserted::default()
        };
        // Never wait on the reader: if it is behind, leave our view as it is
        // so the next poll offers these statuses again.
        if let Err(mpsc::error::TrySendError::Full(_)) = self.observed.try_send(update) {
            return;
        }
        for s in &moved {
            self.latest.observe(s);
        }
    }

    /// Retries `f` with backoff until it succeeds, marking the store
    /// unhealthy meanwhile.
    async fn retry<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut backoff = backoff();
        loop {
            match f().await {
                Ok(v) => {
                    self.recovered(what, &backoff);
                    return v;
                }
                Err(e) => self.failed(what, &mut backoff, e).await,
            }
        }
    }

    fn recovered(&self, what: &str, backoff: &Backoff) {
        if backoff.attempt() > 0 {
            info!(
                what,
                attempts = backoff.attempt() + 1,
                "clickhouse write succeeded again"
            );
        }
        self.healthy.store(true, Ordering::Release);
    }

    async fn failed(&self, what: &str, backoff: &mut Backoff, e: crate::Error) {
        self.healthy.store(false, Ordering::Release);
        let delay = backoff.next_delay();
        warn!(what, error = %e, attempt = backoff.attempt(), retry_in = ?delay,
            "clickhouse write failed; holding acks and retrying");
        tokio::time::sleep(delay).await;
    }

    /// What of the batch `results` holds already. An agent new to this
    /// writer, or whose seqs skip past what it inserted, may bring rows
    /// that a collector (one that died, or another) is still inserting:
    /// running inserts are waited for first.
    async fn lookup(&self, keys: &BTreeMap<&str, (u64, u64)>) -> Stored {
        let careful = keys
            .iter()
            .any(|(agent, (lo, _))| self.inserted.get(*agent).is_none_or(|last| *lo > last + 1));
        self.retry("dedup lookup", || async {
            if careful {
                dedup::settle(&self.ch).await?;
            }
            dedup::keys(&self.ch, keys).await
        })
        .await
    }

    /// Inserts `rows` until it succeeds. After a failed attempt, which may
    /// still be running on the server or have stored some rows, that
    /// attempt is ended and only the rows the table lacks are sent again.
    async fn insert_once<T: Resend>(&self, mut rows: Vec<T>) {
        let what = format!("insert into {}", T::TABLE);
        let mut backoff = backoff();
        let mut failed = None;
        while let Err(e) = self.try_insert(&mut rows, &mut failed).await {
            self.failed(&what, &mut backoff, e).await;
        }
        self.recovered(&what, &backoff);
    }

    /// One attempt; `failed` is the query id of the last attempt that may
    /// have reached the server.
    async fn try_insert<T: Resend>(
        &self,
        rows: &mut Vec<T>,
        failed: &mut Option<String>,
    ) -> Result<()> {
        if let Some(old) = failed.as_deref() {
            dedup::end(&self.ch, old).await?;
            T::drop_stored(&self.ch, rows).await?;
        }
        let id = dedup::query_id(&self.ch, T::TABLE);
        // From here the attempt may run on the server whatever it answers.
        *failed = Some(id.clone());
        self.ch.insert_as(T::TABLE, rows, Some(&id)).await?;
        *failed = None;
        Ok(())
    }

    async fn flush(&mut self, batch: Vec<Pending>) {
        let mut keys: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for (agent, results, _) in &batch {
            for s in results {
                let e = keys.entry(agent.as_str()).or_insert((s.seq, s.seq));
                *e = (e.0.min(s.seq), e.1.max(s.seq));
            }
        }
        let stored = self.lookup(&keys).await;
        // Decide once what is new, and the events it causes.
        let mut seen: HashSet<(&str, u64)> = HashSet::with_capacity(keys.len());
        let mut rows = Vec::new();
        let mut events = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        let now = lightbulb_common::time::now_ms();
        for (agent, results, _) in &batch {
            let mut out = Inserted::default();
            let mut moved: BTreeMap<&str, &Sequenced> = BTreeMap::new();
            for s in results {
                if stored.has(agent, s.seq) || !seen.insert((agent, s.seq)) {
                    out.duplicates += 1;
                    continue;
                }
                out.inserted += 1;
                let r = &s.result;
                rows.push(result_row(agent, s));
                let Advance::Moved { previous, changed } = self.latest.advance(s.seq, r) else {
                    continue;
                };
                let code = r.status.code();
                if changed {
                    let row = EventRow {
                        id: self.ids.next(now),
                        replica: self.replica,
                        service_id: r.service_id.clone(),
                        ts: r.timestamp_ms,
                        status: code,
                        previous_status: previous,
                        message: r.message.clone(),
                        response_time_ms: r.metrics.response_time_ms,
                        agent_id: agent.clone(),
                    };
                    out.events.push(row.event());
                    events.push(row);
                }
                moved.insert(&r.service_id, s);
            }
            out.latest = moved
                .values()
                .map(|s| LatestStatus::from_result(agent, s.seq, &s.result))
                .collect();
            outcomes.push(out);
        }
        self.insert_once(rows).await;
        self.insert_once(events).await;
        for (agent, (_, hi)) in keys {
            let last = self.inserted.entry(agent.to_string()).or_default();
            *last = (*last).max(hi);
        }
        for ((_, _, reply), out) in batch.into_iter().zip(outcomes) {
            let _ = reply.send(Ok(out));
        }
    }
}

fn result_row(agent: &str, s: &Sequenced) -> ResultRow {
    let r = &s.result;
    ResultRow {
        service_id: r.service_id.clone(),
        ts: r.timestamp_ms,
        agent_id: agent.to_string(),
        seq: s.seq,
        service_type: r.service_type.as_str().to_string(),
        status: r.status.code(),
        message: r.message.clone(),
        response_time_ms: r.metrics.response_time_ms,
        cpu_usage: r.metrics.cpu_usage,
        memory_usage: r.metrics.memory_usage,
        metrics: if r.metrics.extra.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&r.metrics.extra).unwrap_or_default()
        },
        details: if r.details.is_null() {
            String::new()
        } else {
            r.details.to_string()
        },
    }
}

fn backoff() -> Backoff {
    Backoff::new(Duration::from_millis(200), Duration::from_secs(10)).expect("valid backoff bounds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_grow_and_carry_the_tag() {
        let mut ids = EventIds::new(5);
        let a = ids.next(1_000);
        let b = ids.next(1_000);
        let c = ids.next(999); // a clock step back still moves forward
        let d = ids.next(1_001);
        assert!(a < b && b < c && c < d, "{a} {b} {c} {d}");
        assert_eq!(a, 1_000 << 20 | 5 << 10);
        assert_eq!((d >> 10) & 0x3ff, 5);
        let mut many = EventIds::new(1);
        let mut last = 0;
        for _ in 0..3000 {
            let id = many.next(7);
            assert!(id > last);
            last = id;
        }
    }
}
