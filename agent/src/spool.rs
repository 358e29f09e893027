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
//!   (written to `meta.tmp`, then renamed).
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
//! - A frame whose checksum does not match is skipped, counted in `corrupt`
//!   and logged; it never stops the agent. A frame cut short at the end of
//!   a segment (a torn write) is cut off on open.

mod droplog;
mod segment;

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lightbulb_common::time::format_iso;
use lightbulb_proto::v1;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use self::droplog::{DropLog, DropReport};
use self::segment::{End, Reader};
use crate::{Error, Result};

/// How often the drop log may speak.
const DROP_LOG_EVERY: Duration = Duration::from_secs(10);
/// Every this many frames a segment's index notes a position.
const INDEX_EVERY: u64 = 64;

/// The segment size for a budget: a sixteenth, so a drop frees a small part.
pub fn segment_bytes(max_bytes: u64) -> u64 {
    (max_bytes / 16).clamp(16 << 10, 16 << 20)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Meta {
    /// Highest acknowledged seq.
    acked: u64,
    /// Highest seq read for shipping.
    #[serde(default)]
    sent: u64,
    /// Results dropped from a full spool, over the spool's whole life.
    #[serde(default)]
    dropped_total: u64,
    /// When results were last dropped, ms since the epoch (0: never).
    #[serde(default)]
    last_drop_ms: i64,
    /// Segments (by first seq) counted as dropped whose file may remain.
    #[serde(default)]
    doomed: Vec<u64>,
}

/// A position in a segment: the frame with `seq` starts at `offset`.
#[derive(Debug, Clone, Copy)]
struct Mark {
    seq: u64,
    offset: u64,
    /// Check time of the newest result at or before this frame (0: none).
    timestamp_ms: i64,
}

#[derive(Debug)]
struct Segment {
    first: u64,
    /// `first - 1` while empty.
    last: u64,
    bytes: u64,
    index: Vec<Mark>,
    /// Seqs of the gap markers it holds.
    markers: Vec<u64>,
    newest_ms: i64,
}

impl Segment {
    fn new(first: u64) -> Segment {
        Segment {
            first,
            last: first - 1,
            bytes: 0,
            index: Vec::new(),
            markers: Vec::new(),
            newest_ms: 0,
        }
    }

    /// Notes a frame: a result checked at `timestamp_ms`, or a gap marker (`None`).
    fn note(&mut self, seq: u64, size: u64, timestamp_ms: Option<i64>) {
        match timestamp_ms {
            Some(ts) if ts > 0 => self.newest_ms = self.newest_ms.max(ts),
            Some(_) => {}
            None => self.markers.push(seq),
        }
        if (seq - self.first).is_multiple_of(INDEX_EVERY) {
            self.index.push(Mark {
                seq,
                offset: self.bytes,
                timestamp_ms: self.newest_ms,
            });
        }
        self.last = seq;
        self.bytes += size;
    }

    /// The indexed position at or before `seq`.
    fn mark_before(&self, seq: u64) -> Mark {
        let i = self.index.partition_point(|m| m.seq <= seq);
        self.index.get(i.wrapping_sub(1)).copied().unwrap_or(Mark {
            seq: self.first,
            offset: 0,
            timestamp_ms: 0,
        })
    }
}

struct State {
    segments: VecDeque<Segment>,
    /// The newest segment while it takes appends; `None` once full.
    writer: Option<BufWriter<File>>,
    dir_unsynced: bool,
    next_seq: u64,
    bytes: u64,
    meta: Meta,
    meta_unsynced: bool,
    drop_log: DropLog,
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
    /// Opens (or creates) the spool in `dir`, bounded to `max_bytes` on disk.
    /// Refuses when the filesystem could not hold `max_bytes`.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool> {
        let io = |source| Error::SpoolIo {
            path: dir.into(),
            source,
        };
        let segments_dir = dir.join("segments");
        std::fs::create_dir_all(&segments_dir).map_err(io)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))
            .map_err(io)?;
        if lock.try_lock().is_err() {
            return Err(Error::SpoolLocked(dir.into()));
        }
        let meta = read_meta(dir)?;
        let spool = Spool {
            dir: dir.into(),
            segments_dir,
            state: Mutex::new(State {
                segments: VecDeque::new(),
                writer: None,
                dir_unsynced: false,
                next_seq: 1,
                bytes: 0,
                meta,
                meta_unsynced: false,
                drop_log: DropLog::new(DROP_LOG_EVERY),
            }),
            max_bytes,
            segment_bytes: segment_bytes(max_bytes),
            durable: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
            notify: tokio::sync::Notify::new(),
            _lock: lock,
        };
        {
            let mut st = spool.lock();
            spool.load(&mut st)?;
            migrate_v1(&spool, &mut st)?;
            spool.finish_doomed(&mut st)?;
            let acked = st.meta.acked;
            spool.remove_acked(&mut st, acked)?;
            spool.sync(&mut st)?;
            spool.acked.store(acked, Ordering::Release);
            spool.durable.store(st.next_seq - 1, Ordering::Release);
            let pending = spool.pending_in(&st);
            if pending > 0 {
                info!(
                    spooled = pending,
                    bytes = st.bytes,
                    next_seq = st.next_seq,
                    "spool reopened with unacknowledged results"
                );
            }
        }
        spool.check_space()?;
        Ok(spool)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.to_path_buf();
        move |source| Error::SpoolIo { path, source }
    }

    /// Reads every segment: sizes, seqs, index; cuts torn tails off.
    fn load(&self, st: &mut State) -> Result<()> {
        let mut firsts = Vec::new();
        for entry in std::fs::read_dir(&self.segments_dir).map_err(self.io(&self.segments_dir))? {
            let entry = entry.map_err(self.io(&self.segments_dir))?;
            match entry.file_name().to_str().and_then(segment::parse_name) {
                Some(first) if first > 0 => firsts.push(first),
                _ => {}
            }
        }
        firsts.sort_unstable();
        for (i, &first) in firsts.iter().enumerate() {
            let path = segment::file_name(&self.segments_dir, first);
            let mut seg = Segment::new(first);
            let mut reader = Reader::open(&path, 0).map_err(self.io(&path))?;
            let mut seq = first;
            while let Some((frame, size)) = reader.next_frame().map_err(self.io(&path))? {
                let ts = match &frame {
                    Some(r) if r.seq == seq && r.gap.is_some() => None,
                    Some(r) if r.seq == seq => Some(r.timestamp_ms),
                    _ => Some(0),
                };
                seg.note(seq, size, ts);
                seq += 1;
            }
            if reader.end == Some(End::Torn) {
                let next = firsts.get(i + 1).copied();
                let lost = next.map_or(0, |n| n.saturating_sub(seg.last + 1));
                warn!(
                    segment = %path.display(),
                    at = reader.offset,
                    unreadable_results = lost,
                    "spool segment ends in a torn or damaged frame; cut off there"
                );
                if lost > 0 {
                    self.corrupt.fetch_add(lost, Ordering::Relaxed);
                }
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(self.io(&path))?;
                file.set_len(reader.offset).map_err(self.io(&path))?;
            }
            if seg.bytes == 0 {
                std::fs::remove_file(&path).map_err(self.io(&path))?;
                continue;
            }
            st.bytes += seg.bytes;
            st.segments.push_back(seg);
        }
        let last = st.segments.back().map_or(0, |s| s.last);
        st.next_seq = last.max(st.meta.acked).max(st.meta.sent) + 1;
        Ok(())
    }

    /// Drops the segments `meta.doomed` names that are still there (their
    /// results are counted already).
    fn finish_doomed(&self, st: &mut State) -> Result<()> {
        for first in st.meta.doomed.clone() {
            match st.segments.iter().position(|s| s.first == first) {
                Some(i) => self.drop_segment(st, i, false)?,
                None => st.meta.doomed.retain(|d| *d != first),
            }
        }
        self.write_meta(st, false)
    }

    /// Refuses a filesystem that could not hold the whole budget.
    fn check_space(&self) -> Result<()> {
        let stat = rustix::fs::statvfs(&self.dir).map_err(|e| Error::SpoolIo {
            path: self.dir.clone(),
            source: e.into(),
        })?;
        let free = stat.f_bavail.saturating_mul(stat.f_frsize);
        let used = self.bytes();
        if free.saturating_add(used) < self.max_bytes {
            return Err(Error::SpoolSpace {
                path: self.dir.clone(),
                free,
                used,
                max_bytes: self.max_bytes,
            });
        }
        Ok(())
    }

    /// Stores results under fresh sequence numbers and returns the last one.
    pub fn append(&self, results: &[v1::CheckResult]) -> Result<u64> {
        let mut st = self.lock();
        for r in results {
            let mut r = r.clone();
            r.seq = st.next_seq;
            // Making room may append a gap marker, which takes the next seq:
            // number the result after it (a seq's varint grows by at most 2).
            self.make_room(&mut st, segment::encode(&r).len() as u64 + 2)?;
            r.seq = st.next_seq;
            let frame = segment::encode(&r);
            self.write_frame(&mut st, &frame, r.seq, Some(r.timestamp_ms))?;
        }
        // Into the kernel before returning: what `append` took survives a
        // `kill -9` of the agent (not a power cut: that needs `make_durable`).
        if let Some(w) = st.writer.as_mut() {
            w.flush().map_err(self.io(&self.segments_dir))?;
        }
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
            let file = w
                .into_inner()
                .map_err(|e| self.io(&self.segments_dir)(e.into_error()))?;
            file.sync_data().map_err(self.io(&self.segments_dir))?;
        }
        Ok(())
    }

    /// Drops the oldest droppable segments until `incoming` more bytes fit.
    fn make_room(&self, st: &mut State, incoming: u64) -> Result<()> {
        while st.bytes + incoming > self.max_bytes {
            let protected = st.meta.sent.max(st.meta.acked);
            let newest = st.segments.len().saturating_sub(1);
            match st.segments.iter().position(|s| s.first > protected) {
                Some(i) if i < newest => self.drop_segment(st, i, true)?,
                _ => break,
            }
        }
        Ok(())
    }

    /// Drops segment `i`: counts its results (unless `count` is false: they
    /// were counted before a crash), appends a gap marker, deletes the file.
    fn drop_segment(&self, st: &mut State, i: usize, count: bool) -> Result<()> {
        let (first, last) = (st.segments[i].first, st.segments[i].last);
        let path = segment::file_name(&self.segments_dir, first);
        let mut services: BTreeMap<String, v1::ServiceGap> = BTreeMap::new();
        let mut carried: Vec<v1::DroppedSegment> = Vec::new();
        let mut reader = Reader::open(&path, 0).map_err(self.io(&path))?;
        let mut seq = first;
        let mut unreadable = 0u64;
        while let Some((frame, _)) = reader.next_frame().map_err(self.io(&path))? {
            match frame {
                Some(r) if r.seq == seq => match r.gap {
                    Some(gap) => carried.extend(gap.segments),
                    None => {
                        let g = services.entry(r.service_id.clone()).or_insert_with(|| {
                            v1::ServiceGap {
                                service_id: r.service_id.clone(),
                                dropped: 0,
                                first_ms: r.timestamp_ms,
                                last_ms: r.timestamp_ms,
                            }
                        });
                        g.dropped += 1;
                        g.first_ms = g.first_ms.min(r.timestamp_ms);
                        g.last_ms = g.last_ms.max(r.timestamp_ms);
                    }
                },
                _ => unreadable += 1,
            }
            seq += 1;
        }
        if unreadable > 0 {
            self.corrupt.fetch_add(unreadable, Ordering::Relaxed);
            warn!(
                segment = %path.display(),
                unreadable,
                "dropped spool segment held records that failed their checksum"
            );
        }
        let dropped: u64 = services.values().map(|g| g.dropped).sum();
        if count {
            st.meta.dropped_total += dropped;
            st.meta.last_drop_ms = lightbulb_common::time::now_ms();
            st.meta.doomed.push(first);
            self.write_meta(st, false)?;
        }
        // The marker reaches the disk before the segment leaves it.
        let oldest = services.values().map(|g| g.first_ms).min();
        let newest = services.values().map(|g| g.last_ms).max();
        // Carried markers merge into this one, per service, so a marker stays
        // one entry per service however many segments a long outage drops.
        let (mut from_seq, mut to_seq) = (first, last);
        for c in carried {
            if c.first_seq == first {
                continue; // this segment's own marker, written twice by a crash
            }
            from_seq = from_seq.min(c.first_seq);
            to_seq = to_seq.max(c.last_seq);
            for g in c.services {
                let m = services
                    .entry(g.service_id.clone())
                    .or_insert(v1::ServiceGap {
                        dropped: 0,
                        ..g.clone()
                    });
                m.dropped += g.dropped;
                m.first_ms = m.first_ms.min(g.first_ms);
                m.last_ms = m.last_ms.max(g.last_ms);
            }
        }
        // A segment of nothing but empty markers needs no marker.
        if !services.is_empty() {
            let marker = v1::CheckResult {
                seq: st.next_seq,
                timestamp_ms: lightbulb_common::time::now_ms(),
                gap: Some(v1::SpoolGap {
                    segments: vec![v1::DroppedSegment {
                        first_seq: from_seq,
                        last_seq: to_seq,
                        services: services.into_values().collect(),
                    }],
                }),
                ..Default::default()
            };
            let frame = segment::encode(&marker);
            self.write_frame(st, &frame, marker.seq, None)?;
            if let Some(w) = st.writer.as_mut() {
                w.flush().map_err(self.io(&path))?;
                w.get_ref().sync_data().map_err(self.io(&path))?;
            }
        }
        let gone = st.segments.remove(i).expect("segment index in range");
        st.bytes -= gone.bytes;
        std::fs::remove_file(&path).map_err(self.io(&path))?;
        st.dir_unsynced = true;
        st.meta.doomed.retain(|d| *d != first);
        self.write_meta(st, false)?;
        if count
            && let Some(report) = st.drop_log.dropped(
                tokio::time::Instant::now(),
                dropped,
                oldest.unwrap_or(0),
                newest.unwrap_or(0),
            )
        {
            self.log_drops(st, report);
        }
        Ok(())
    }

    fn log_drops(&self, st: &State, r: DropReport) {
        warn!(
            dropped = r.dropped,
            dropped_total = st.meta.dropped_total,
            oldest_dropped = %format_iso(r.oldest_ms),
            newest_dropped = %format_iso(r.newest_ms),
            max_bytes = self.max_bytes,
            "spool full: dropped the oldest results"
        );
    }

    /// Replaces `meta`; with `sync`, durably.
    fn write_meta(&self, st: &mut State, sync: bool) -> Result<()> {
        let tmp = self.dir.join("meta.tmp");
        let body = serde_json::to_vec(&st.meta).expect("meta serializes");
        let mut file = File::create(&tmp).map_err(self.io(&tmp))?;
        file.write_all(&body).map_err(self.io(&tmp))?;
        if sync {
            file.sync_data().map_err(self.io(&tmp))?;
        }
        let path = self.dir.join("meta");
        std::fs::rename(&tmp, &path).map_err(self.io(&path))?;
        if sync {
            sync_dir(&self.dir)?;
        }
        st.meta_unsynced = !sync;
        Ok(())
    }

    /// Everything written so far, onto the disk.
    fn sync(&self, st: &mut State) -> Result<()> {
        if let Some(w) = st.writer.as_mut() {
            w.flush().map_err(self.io(&self.segments_dir))?;
            w.get_ref()
                .sync_data()
                .map_err(self.io(&self.segments_dir))?;
        }
        if std::mem::take(&mut st.dir_unsynced) {
            sync_dir(&self.segments_dir)?;
        }
        if st.meta_unsynced {
            self.write_meta(st, true)?;
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
        if self.durable.load(Ordering::Acquire) < target || st.meta_unsynced {
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
            self.write_meta(&mut st, false)?;
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
        self.write_meta(&mut st, false)?;
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

    /// Flips the last byte of a stored record; for corruption tests only.
    #[doc(hidden)]
    pub fn corrupt_for_test(&self, seq: u64) -> Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let mut st = self.lock();
        self.sync(&mut st)?;
        let Some(seg) = st.segments.iter().find(|s| s.first <= seq && seq <= s.last) else {
            return Ok(());
        };
        let path = segment::file_name(&self.segments_dir, seg.first);
        let mut reader = Reader::open(&path, 0).map_err(self.io(&path))?;
        for _ in seg.first..seq {
            reader.next_frame().map_err(self.io(&path))?;
        }
        let start = reader.offset;
        let size = reader
            .next_frame()
            .map_err(self.io(&path))?
            .map_or(0, |(_, size)| size);
        if size == 0 {
            return Ok(());
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(self.io(&path))?;
        let at = start + size - 1;
        let mut byte = [0u8];
        file.seek(SeekFrom::Start(at)).map_err(self.io(&path))?;
        file.read_exact(&mut byte).map_err(self.io(&path))?;
        file.seek(SeekFrom::Start(at)).map_err(self.io(&path))?;
        file.write_all(&[byte[0] ^ 0xff]).map_err(self.io(&path))?;
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let mut st = self.lock();
        if let Some(report) = st.drop_log.rest() {
            self.log_drops(&st, report);
        }
        if let Err(e) = self.sync(&mut st) {
            warn!(error = %e, "cannot flush the spool while closing it");
        }
    }
}

fn read_meta(dir: &Path) -> Result<Meta> {
    let path = dir.join("meta");
    match std::fs::read(&path) {
        Ok(body) => serde_json::from_slice(&body).map_err(|e| Error::SpoolMeta {
            path,
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Meta::default()),
        Err(source) => Err(Error::SpoolIo { path, source }),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::SpoolIo {
            path: dir.into(),
            source,
        })
}

/// Moves a version 1 (sled) spool's unacknowledged records into segments,
/// under their seqs, then removes it.
fn migrate_v1(spool: &Spool, st: &mut State) -> Result<()> {
    let path = spool.dir.join("db");
    if !path.exists() {
        return Ok(());
    }
    let db = sled::Config::new().path(&path).open()?;
    let records = db.open_tree("results")?;
    let meta = db.open_tree("meta")?;
    let decode_u64 = |b: &[u8]| b.try_into().map(u64::from_be_bytes).unwrap_or(0);
    let acked = meta.get(b"acked")?.map(|v| decode_u64(&v)).unwrap_or(0);
    st.meta.acked = st.meta.acked.max(acked);
    let (mut moved, mut bad) = (0u64, 0u64);
    for item in records.range((acked + 1).to_be_bytes()..) {
        let (k, v) = item?;
        let seq = decode_u64(&k);
        let r = v.split_at_checked(4).and_then(|(crc, payload)| {
            (crc32fast::hash(payload).to_be_bytes() == crc)
                .then(|| <v1::CheckResult as prost::Message>::decode(payload).ok())
                .flatten()
        });
        if seq < st.next_seq {
            continue; // moved by an earlier, interrupted migration
        }
        let Some(r) = r.filter(|r| r.seq == seq) else {
            bad += 1;
            continue;
        };
        // Seqs are consecutive within a segment: a gap starts a new one.
        if st.next_seq != seq {
            spool.seal(st)?;
        }
        let frame = segment::encode(&r);
        spool.write_frame(st, &frame, seq, Some(r.timestamp_ms))?;
        moved += 1;
    }
    st.next_seq = st.next_seq.max(acked + 1);
    spool.sync(st)?;
    spool.write_meta(st, true)?;
    drop((records, meta, db));
    std::fs::remove_dir_all(&path).map_err(spool.io(&path))?;
    if bad > 0 {
        spool.corrupt.fetch_add(bad, Ordering::Relaxed);
    }
    info!(
        moved,
        unreadable = bad,
        "spool moved from the version 1 layout (sled) to segments"
    );
    Ok(())
}

#[cfg(test)]
mod tests;
