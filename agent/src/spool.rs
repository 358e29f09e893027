//! The on-disk spool: every result is stored here before anything else
//! happens to it and deleted only once the collector acknowledged it.
//!
//! Layout (frozen; change only with a migration): a sled database in
//! `<spool_dir>/db` with two trees.
//! - `results`: key = `seq` as 8 big-endian bytes, value = CRC-32 of the
//!   payload (4 bytes, big-endian) followed by the protobuf encoding of
//!   `lightbulb.v1.CheckResult` with `seq` set.
//! - `meta`: `acked` = highest acknowledged `seq` (8 bytes big-endian).
//!
//! Invariants:
//! - `seq` increases by one per append and is never reused: after a restart
//!   the next `seq` is past both the last stored record and `acked`, which is
//!   written before the acknowledged records are removed.
//! - Only records that were flushed to disk are shipped (`make_durable`), so a
//!   `seq` the collector has seen always survives a crash of the agent. The
//!   loss window on `kill -9` is the set of results appended since the last
//!   flush, which sled bounds at 500 ms; those were never shipped.
//! - When the spool grows past `max_bytes` the oldest records are dropped,
//!   counted in `dropped` and logged.
//! - A record whose checksum does not match is skipped, removed, counted in
//!   `corrupt` and logged; it never stops the agent.
//!
//! `<spool_dir>/LOCK` is held with an exclusive file lock while the spool is
//! open, so two agents cannot share a spool.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lightbulb_proto::v1;
use prost::Message;
use tracing::{info, warn};

use crate::{Error, Result};

const ACKED: &[u8] = b"acked";

pub struct Spool {
    db: sled::Db,
    records: sled::Tree,
    meta: sled::Tree,
    state: Mutex<State>,
    max_bytes: u64,
    durable: AtomicU64,
    acked: AtomicU64,
    dropped: AtomicU64,
    corrupt: AtomicU64,
    notify: tokio::sync::Notify,
    _lock: std::fs::File,
}

struct State {
    next_seq: u64,
    bytes: u64,
    count: u64,
    last_drop_log: Option<Instant>,
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, bounded to `max_bytes`.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool> {
        let io = |source| Error::SpoolIo {
            path: dir.into(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))
            .map_err(io)?;
        if lock.try_lock().is_err() {
            return Err(Error::SpoolLocked(dir.into()));
        }
        let db = open_db(&dir.join("db"))?;
        let records = db.open_tree("results")?;
        let meta = db.open_tree("meta")?;
        let acked = meta.get(ACKED)?.map(|v| decode_u64(&v)).unwrap_or(0);
        // A crash between writing `acked` and removing the acked records
        // leaves some behind: remove them now, acks only look past `acked`.
        let mut stale = sled::Batch::default();
        for item in records.range(..=acked.to_be_bytes()) {
            stale.remove(item?.0);
        }
        records.apply_batch(stale)?;
        let last = records.last()?.map(|(k, _)| decode_u64(&k)).unwrap_or(0);
        let (mut bytes, mut count) = (0, 0);
        for item in records.iter() {
            let (_, v) = item?;
            bytes += v.len() as u64;
            count += 1;
        }
        let next_seq = acked.max(last) + 1;
        if count > 0 {
            info!(
                spooled = count,
                bytes, next_seq, "spool reopened with unacknowledged results"
            );
        }
        Ok(Spool {
            db,
            records,
            meta,
            state: Mutex::new(State {
                next_seq,
                bytes,
                count,
                last_drop_log: None,
            }),
            max_bytes,
            durable: AtomicU64::new(next_seq - 1),
            acked: AtomicU64::new(acked),
            dropped: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
            notify: tokio::sync::Notify::new(),
            _lock: lock,
        })
    }

    /// Stores results under fresh sequence numbers and returns the last one.
    pub fn append(&self, results: &[v1::CheckResult]) -> Result<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut seq = state.next_seq;
        let mut added = 0u64;
        // Plain inserts, not a sled::Batch: a batch costs a hash map and a
        // global lock per call, and atomicity buys nothing here because a
        // crash keeps a prefix of the inserts, which is a valid spool.
        for r in results {
            let mut r = r.clone();
            r.seq = seq;
            let value = encode(&r);
            added += value.len() as u64;
            self.records.insert(seq.to_be_bytes(), value)?;
            seq += 1;
        }
        state.next_seq = seq;
        state.bytes += added;
        state.count += results.len() as u64;
        self.enforce_bound(&mut state)?;
        drop(state);
        self.notify.notify_one();
        Ok(seq - 1)
    }

    fn enforce_bound(&self, state: &mut State) -> Result<()> {
        let mut dropped = 0u64;
        while state.bytes > self.max_bytes {
            let Some((_, v)) = self.records.pop_min()? else {
                break;
            };
            state.bytes = state.bytes.saturating_sub(v.len() as u64);
            state.count = state.count.saturating_sub(1);
            dropped += 1;
        }
        if dropped > 0 {
            let total = self.dropped.fetch_add(dropped, Ordering::Relaxed) + dropped;
            let now = Instant::now();
            if state
                .last_drop_log
                .is_none_or(|t| now - t > Duration::from_secs(10))
            {
                state.last_drop_log = Some(now);
                warn!(
                    dropped_total = total,
                    max_bytes = self.max_bytes,
                    "spool full: dropped the oldest results"
                );
            }
        }
        Ok(())
    }

    /// The highest `seq` handed out so far (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_seq
            - 1
    }

    /// Flushes everything appended so far to disk and returns the highest
    /// `seq` that is now durable. Blocking: call from a blocking thread.
    pub fn make_durable(&self) -> Result<u64> {
        let target = self.last_seq();
        if self.durable.load(Ordering::Acquire) < target {
            self.db.flush()?;
            self.durable.fetch_max(target, Ordering::AcqRel);
        }
        Ok(self.durable.load(Ordering::Acquire))
    }

    /// The highest `seq` known to be on disk.
    pub fn durable_seq(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Up to `max` durable records with `seq > after`, in `seq` order.
    pub fn read_after(&self, after: u64, max: usize) -> Result<Vec<v1::CheckResult>> {
        let upto = self.durable_seq();
        let mut out = Vec::with_capacity(max.min(4096));
        for item in self.records.range((after + 1).to_be_bytes()..) {
            let (k, v) = item?;
            let seq = decode_u64(&k);
            if seq > upto || out.len() >= max {
                break;
            }
            match decode(&v) {
                Some(r) if r.seq == seq => out.push(r),
                _ => self.discard_corrupt(seq, &k, v.len())?,
            }
        }
        Ok(out)
    }

    fn discard_corrupt(&self, seq: u64, key: &[u8], len: usize) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if self.records.remove(key)?.is_some() {
            state.bytes = state.bytes.saturating_sub(len as u64);
            state.count = state.count.saturating_sub(1);
        }
        let total = self.corrupt.fetch_add(1, Ordering::Relaxed) + 1;
        warn!(
            seq,
            corrupt_total = total,
            "spool record failed its checksum; skipped"
        );
        Ok(())
    }

    /// Deletes every record with `seq <= seq`: the collector stored them.
    pub fn ack(&self, seq: u64) -> Result<()> {
        let previous = self.acked.load(Ordering::Acquire);
        if seq <= previous {
            return Ok(());
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // The watermark goes first, so a crash between the two steps can only
        // cause a resend (deduplicated by the collector), never a reused seq.
        self.meta.insert(ACKED, &seq.to_be_bytes())?;
        // Records up to the previous watermark are gone already (open removes
        // stragglers), so each ack touches only what it removes.
        let (mut bytes, mut count) = (0u64, 0u64);
        let acked: Vec<sled::IVec> = self
            .records
            .range((previous + 1).to_be_bytes()..=seq.to_be_bytes())
            .keys()
            .collect::<Result<_, _>>()?;
        for key in acked {
            if let Some(v) = self.records.remove(key)? {
                bytes += v.len() as u64;
                count += 1;
            }
        }
        state.bytes = state.bytes.saturating_sub(bytes);
        state.count = state.count.saturating_sub(count);
        self.acked.fetch_max(seq, Ordering::AcqRel);
        Ok(())
    }

    /// The highest acknowledged `seq`.
    pub fn acked_seq(&self) -> u64 {
        self.acked.load(Ordering::Acquire)
    }

    /// Results waiting for acknowledgement.
    pub fn pending(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).count
    }

    /// Bytes held by waiting results.
    pub fn bytes(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }

    /// Results dropped because the spool was full, since open.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records skipped for a bad checksum, since open.
    pub fn corrupt(&self) -> u64 {
        self.corrupt.load(Ordering::Relaxed)
    }

    /// Resolves after the next append.
    pub async fn appended(&self) {
        self.notify.notified().await;
    }

    /// Overwrites a stored record's bytes; for corruption tests only.
    #[doc(hidden)]
    pub fn corrupt_for_test(&self, seq: u64) -> Result<()> {
        if let Some(v) = self.records.get(seq.to_be_bytes())? {
            let mut bytes = v.to_vec();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            self.records.insert(seq.to_be_bytes(), bytes)?;
        }
        Ok(())
    }
}

/// Opens sled. Holding `LOCK` means no other agent uses the directory, so a
/// failure to take sled's own lock can only be a handle of this process that
/// is still closing (a spool reopened in-process): wait for it briefly.
fn open_db(path: &Path) -> Result<sled::Db> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match sled::Config::new()
            .path(path)
            // sled's default page cache is 1 GiB; the spool is read sequentially.
            .cache_capacity(64 << 20)
            .flush_every_ms(Some(500))
            .open()
        {
            Err(sled::Error::Io(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}

fn encode(r: &v1::CheckResult) -> Vec<u8> {
    let payload = r.encode_to_vec();
    let mut value = Vec::with_capacity(payload.len() + 4);
    value.extend_from_slice(&crc32fast::hash(&payload).to_be_bytes());
    value.extend_from_slice(&payload);
    value
}

fn decode(value: &[u8]) -> Option<v1::CheckResult> {
    let (crc, payload) = value.split_at_checked(4)?;
    if crc32fast::hash(payload).to_be_bytes() != crc {
        return None;
    }
    v1::CheckResult::decode(payload).ok()
}

fn decode_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

#[cfg(test)]
mod tests;
