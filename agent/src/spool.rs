//! The on-disk spool: every result is stored here before anything else
//! happens to it and deleted only once the collector acknowledged it, or
//! dropped, counted and marked when the spool is full.
//!
//! Layout, version 2 (frozen; change only with a migration), in the spool
//! directory:
//! - `segments/<first seq, 20 digits>.seg`: append-only files of frames
//!   `[payload length: u32 BE][CRC-32 of payload: u32 BE][payload]`, the
//!   payload being the protobuf `lightbulb.v1.CheckResult` with `seq` set.
//!   Seqs are consecutive within a segment and increase across segments. A
//!   frame is a result or a gap marker (`gap` set, see below).
//! - `meta`: JSON `{acked, sent, dropped_total, last_drop_ms, doomed}`, replaced whole
//!   (written to `meta.tmp`, then renamed). It is synced by `make_durable`
//!   only after a drop: a watermark lost to a power cut only causes a resend.
//! - `LOCK`: held with an exclusive file lock while the spool is open, so
//!   two agents cannot share a spool.
//! - `db/`: version 1 (sled). Opening moves its unacknowledged records into
//!   segments under their seqs and removes it.
//!
//! Invariants:
//! - `seq` increases by one per frame and is never reused: the next `seq` is
//!   past the newest frame, `acked` and `sent`; the newest segment is never
//!   deleted, so its name survives a lost `meta`.
//! - Only frames synced to disk are read for shipping (`make_durable`), so a
//!   `seq` the collector has seen survives a crash of the machine. Each
//!   `append` hands its frames to the kernel before it returns, so a
//!   `kill -9` of the agent loses nothing appended; a power cut loses what
//!   was appended since the last sync (the shipper syncs before every
//!   batch), which was never shipped.
//! - Disk budget: the segment files hold at most `max_bytes`. Before a frame
//!   would pass it, whole segments are dropped, oldest first. A segment
//!   holding a frame already sent (`seq <= sent`) is never dropped: the
//!   collector may have stored it, and counting it as dropped too would
//!   count it twice; nor is the newest segment. So the files can pass
//!   `max_bytes` by what is in flight, plus a segment.
//! - Every dropped result is counted in `dropped_total`, persisted before the
//!   segment is deleted, and described in a gap marker appended as a frame of
//!   its own: per service, how many results and the check times of the
//!   oldest and newest, under the seq range of the segments it covers. A
//!   marker in a segment that is dropped in turn is merged into the next
//!   marker, which then covers both ranges: a marker never grows past one
//!   entry per service. The collector keeps one copy per agent, service and
//!   first seq, so a marker sent twice counts once. `doomed` lists segments
//!   whose drop was counted but whose file may remain; opening finishes
//!   their drop.
//! - A result the disk does not take (full, failing) is counted in
//!   `dropped_total` too, without a gap marker (there is no room for one);
//!   see `unwritable`.
//! - A frame whose checksum does not match is skipped, counted in `corrupt`
//!   and logged; it never stops the agent. A frame cut short at the end of
//!   a segment (a torn write) is cut off on open.

mod droplog;
mod full;
mod layout;
mod open;
mod segment;
mod unwritable;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lightbulb_proto::v1;
use tracing::warn;

use self::droplog::DropLog;
use self::layout::{Meta, Segment};
use self::segment::Reader;
use self::unwritable::Unwritable;
use crate::{Error, Result};

/// How often the drop log may speak.
const DROP_LOG_EVERY: Duration = Duration::from_secs(10);
/// Every this many frames a segment's index notes a position.
const INDEX_EVERY: u64 = 64;

/// The segment size for a budget: a sixteenth, so a drop frees a small part.
pub fn segment_bytes(max_bytes: u64) -> u64 {
    (max_bytes / 16).clamp(16 << 10, 16 << 20)
}

struct State {
    segments: VecDeque<Segment>,
    /// The newest segment while it takes appends; `None` once full.
    writer: Option<BufWriter<File>>,
    dir_unsynced: bool,
    next_seq: u64,
    bytes: u64,
    meta: Meta,
    /// `meta` holds drops not yet synced (the watermarks need no sync: a
    /// lost one only causes a resend).
    drops_unsynced: bool,
    drop_log: DropLog,
    unwritable: Unwritable,
}

pub struct Spool {
    dir: PathBuf,
    segments_dir: PathBuf,
    state: Mutex<State>,
    max_bytes: u64,
    segment_bytes: u64,
    durable: AtomicU64,
    acked: AtomicU64,
    corrupt: AtomicU64,
    notify: tokio::sync::Notify,
    _lock: File,
}

impl Spool {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.to_path_buf();
        move |source| Error::SpoolIo { path, source }
    }

    /// Stores results under fresh sequence numbers and returns the last one.
    /// A result the disk does not take is counted as dropped.
    pub fn append(&self, results: &[v1::CheckResult]) -> Result<u64> {
        let mut st = self.lock();
        for r in results {
            self.append_one(&mut st, r);
        }
        // Into the kernel before returning: what `append` took survives a
        // `kill -9` of the agent (not a power cut: that needs `make_durable`).
        self.flush_appended(&mut st);
        let last = st.next_seq - 1;
        if let Some(report) = st.drop_log.due(tokio::time::Instant::now()) {
            self.log_drops(&st, report);
        }
        drop(st);
        self.notify.notify_one();
        Ok(last)
    }

    fn write_frame(&self, st: &mut State, frame: &[u8], seq: u64, ts: Option<i64>) -> Result<()> {
        let newest_full = st
            .segments
            .back()
            .is_some_and(|s| s.bytes >= self.segment_bytes);
        if newest_full {
            self.seal(st)?;
        }
        if st.writer.is_none() {
            let path = segment::file_name(&self.segments_dir, seq);
            let file = std::fs::OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)
                .map_err(self.io(&path))?;
            st.writer = Some(BufWriter::with_capacity(256 << 10, file));
            st.segments.push_back(Segment::new(seq));
            st.dir_unsynced = true;
        }
        let w = st.writer.as_mut().expect("writer opened above");
        w.write_all(frame).map_err(self.io(&self.segments_dir))?;
        st.segments
            .back_mut()
            .expect("the writer's segment")
            .note(seq, frame.len() as u64, ts);
        st.bytes += frame.len() as u64;
        st.next_seq = seq + 1;
        Ok(())
    }

    /// Ends appends to the newest segment: the next frame starts another.
    /// Synced now, so no file stays open: a spool that fills for days
    /// without a collector would run out of file descriptors.
    fn seal(&self, st: &mut State) -> Result<()> {
        if let Some(w) = st.writer.take() {
            // A writer that cannot flush keeps its frames, to write later.
            let file = w.into_inner().map_err(|e| {
                let (error, w) = e.into_parts();
                st.writer = Some(w);
                self.io(&self.segments_dir)(error)
            })?;
            file.sync_data().map_err(self.io(&self.segments_dir))?;
        }
        Ok(())
    }

    /// The highest `seq` handed out so far (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// Flushes everything appended so far to disk and returns the highest
    /// `seq` that is now durable. Blocking: call from a blocking thread.
    pub fn make_durable(&self) -> Result<u64> {
        let mut st = self.lock();
        let target = st.next_seq - 1;
        if self.durable.load(Ordering::Acquire) < target || st.drops_unsynced {
            self.sync(&mut st)?;
            self.durable.fetch_max(target, Ordering::AcqRel);
        }
        Ok(self.durable.load(Ordering::Acquire))
    }

    /// The highest `seq` known to be on disk.
    pub fn durable_seq(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Up to `max` durable records (results and gap markers) with
    /// `seq > after`, in `seq` order. What it returns counts as sent: it is
    /// never dropped, only acknowledged.
    pub fn read_after(&self, after: u64, max: usize) -> Result<Vec<v1::CheckResult>> {
        let mut st = self.lock();
        let upto = self.durable_seq();
        let mut out = Vec::with_capacity(max.min(4096));
        let start = after + 1;
        let from = st.segments.partition_point(|s| s.last < start);
        for seg in st.segments.iter().skip(from) {
            if seg.first > upto || out.len() >= max {
                break;
            }
            let mark = seg.mark_before(start.max(seg.first));
            let path = segment::file_name(&self.segments_dir, seg.first);
            let mut reader = Reader::open(&path, mark.offset).map_err(self.io(&path))?;
            let mut seq = mark.seq;
            while seq <= upto && seq <= seg.last && out.len() < max {
                let Some((frame, _)) = reader.next_frame().map_err(self.io(&path))? else {
                    break;
                };
                if seq >= start {
                    match frame {
                        Some(r) if r.seq == seq => out.push(r),
                        _ => {
                            let total = self.corrupt.fetch_add(1, Ordering::Relaxed) + 1;
                            warn!(
                                seq,
                                corrupt_total = total,
                                "spool record failed its checksum; skipped"
                            );
                        }
                    }
                }
                seq += 1;
            }
        }
        if let Some(last) = out.last().map(|r| r.seq)
            && last > st.meta.sent
        {
            st.meta.sent = last;
            self.save_watermarks(&mut st);
        }
        Ok(out)
    }

    /// Deletes every record with `seq <= seq`: the collector stored them.
    pub fn ack(&self, seq: u64) -> Result<()> {
        if seq <= self.acked.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut st = self.lock();
        // The watermark goes first, so a crash between the two steps can only
        // cause a resend (deduplicated by the collector), never a reused seq.
        st.meta.acked = st.meta.acked.max(seq);
        self.save_watermarks(&mut st);
        self.remove_acked(&mut st, seq)?;
        self.acked.fetch_max(seq, Ordering::AcqRel);
        if let Some(report) = st.drop_log.due(tokio::time::Instant::now()) {
            self.log_drops(&st, report);
        }
        Ok(())
    }

    /// Deletes the segments wholly acknowledged, but never the newest.
    fn remove_acked(&self, st: &mut State, acked: u64) -> Result<()> {
        while st.segments.len() > 1 && st.segments[0].last <= acked {
            let gone = st.segments.pop_front().expect("checked above");
            let path = segment::file_name(&self.segments_dir, gone.first);
            std::fs::remove_file(&path).map_err(self.io(&path))?;
            st.bytes -= gone.bytes;
            st.dir_unsynced = true;
        }
        Ok(())
    }

    /// The highest acknowledged `seq`.
    pub fn acked_seq(&self) -> u64 {
        self.acked.load(Ordering::Acquire)
    }

    /// Results and gap markers waiting for acknowledgement.
    fn waiting_in(st: &State) -> (u64, u64) {
        let acked = st.meta.acked;
        st.segments
            .iter()
            .filter(|s| s.last > acked)
            .map(|s| {
                let frames = s.last - acked.max(s.first - 1);
                let markers = s.markers.iter().filter(|m| **m > acked).count() as u64;
                (frames - markers, markers)
            })
            .fold((0, 0), |(r, m), (a, b)| (r + a, m + b))
    }

    fn pending_in(&self, st: &State) -> u64 {
        Self::waiting_in(st).0
    }

    /// Records of either kind (results and gap markers) waiting for acknowledgement.
    pub fn waiting(&self) -> u64 {
        let (results, markers) = Self::waiting_in(&self.lock());
        results + markers
    }

    /// Results waiting for acknowledgement (gap markers not counted).
    pub fn pending(&self) -> u64 {
        self.pending_in(&self.lock())
    }

    /// Bytes the spool's segment files hold on disk.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// The disk budget it was opened with.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Check time of the oldest result waiting (to the index's precision of
    /// a few records); `None` when nothing waits.
    pub fn oldest_ms(&self) -> Option<i64> {
        let st = self.lock();
        let acked = st.meta.acked;
        st.segments.iter().filter(|s| s.last > acked).find_map(|s| {
            let m = s.mark_before(acked + 1);
            let ts = if m.timestamp_ms > 0 {
                m.timestamp_ms
            } else {
                s.newest_ms
            };
            (ts > 0).then_some(ts)
        })
    }

    /// Results dropped because the spool was full, over its whole life.
    pub fn dropped(&self) -> u64 {
        self.lock().meta.dropped_total
    }

    /// When results were last dropped, ms since the epoch (`None`: never).
    pub fn last_drop_ms(&self) -> Option<i64> {
        Some(self.lock().meta.last_drop_ms).filter(|ms| *ms > 0)
    }

    /// Records skipped for a bad checksum, since open.
    pub fn corrupt(&self) -> u64 {
        self.corrupt.load(Ordering::Relaxed)
    }

    /// Resolves after the next append.
    pub async fn appended(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let mut st = self.lock();
        if let Some(report) = st.drop_log.rest() {
            self.log_drops(&st, report);
        }
        self.unwritable_rest(&mut st);
        if let Err(e) = self.sync(&mut st) {
            warn!(error = %e, "cannot flush the spool while closing it");
        }
    }
}

#[cfg(test)]
mod tests;
