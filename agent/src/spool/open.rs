//! Opening a spool: reading its segments back, finishing a drop a crash
//! interrupted, moving a version 1 (sled) spool over, and the free-space check.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use lightbulb_proto::v1;
use tracing::{info, warn};

use super::droplog::DropLog;
use super::layout::{Segment, read_meta};
use super::segment::{self, End, Reader};
use super::{DROP_LOG_EVERY, Spool, State, segment_bytes};
use crate::{Error, Result};

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
                drops_unsynced: false,
                drop_log: DropLog::new(DROP_LOG_EVERY),
                unwritable: Default::default(),
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
}

/// Moves a version 1 (sled) spool's unacknowledged records into segments,
/// under their seqs, then removes it.
fn migrate_v1(spool: &Spool, st: &mut State) -> Result<()> {
    let path = spool.dir.join("db");
    if !path.exists() {
        return Ok(());
    }
    let db = open_sled(&path)?;
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

/// Opens the version 1 database. Holding `LOCK` means no other agent uses
/// the directory, so failing to take sled's own lock can only be a handle of
/// this process still closing (its flusher thread): wait for it briefly.
fn open_sled(path: &Path) -> Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match sled::Config::new().path(path).open() {
            Err(sled::Error::Io(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return Ok(other?),
        }
    }
}
