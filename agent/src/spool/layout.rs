//! The spool's files: segments (in memory: where each starts and what it
//! holds) and `meta` (the watermarks and the drop count).

use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::segment::{self, Reader};
use super::{INDEX_EVERY, Spool, State};
use crate::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Meta {
    /// Highest acknowledged seq.
    pub(super) acked: u64,
    /// Highest seq read for shipping.
    #[serde(default)]
    pub(super) sent: u64,
    /// Results dropped from a full spool, over the spool's whole life.
    #[serde(default)]
    pub(super) dropped_total: u64,
    /// When results were last dropped, ms since the epoch (0: never).
    #[serde(default)]
    pub(super) last_drop_ms: i64,
    /// Segments (by first seq) counted as dropped whose file may remain.
    #[serde(default)]
    pub(super) doomed: Vec<u64>,
}

/// A position in a segment: the frame with `seq` starts at `offset`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mark {
    pub(super) seq: u64,
    pub(super) offset: u64,
    /// Check time of the newest result at or before this frame (0: none).
    pub(super) timestamp_ms: i64,
}

#[derive(Debug)]
pub(super) struct Segment {
    pub(super) first: u64,
    /// `first - 1` while empty.
    pub(super) last: u64,
    pub(super) bytes: u64,
    pub(super) index: Vec<Mark>,
    /// Seqs of the gap markers it holds.
    pub(super) markers: Vec<u64>,
    pub(super) newest_ms: i64,
}

impl Segment {
    pub(super) fn new(first: u64) -> Segment {
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
    pub(super) fn note(&mut self, seq: u64, size: u64, timestamp_ms: Option<i64>) {
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
    pub(super) fn mark_before(&self, seq: u64) -> Mark {
        let i = self.index.partition_point(|m| m.seq <= seq);
        self.index.get(i.wrapping_sub(1)).copied().unwrap_or(Mark {
            seq: self.first,
            offset: 0,
            timestamp_ms: 0,
        })
    }
}

impl Spool {
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

    /// Replaces `meta`; with `sync`, durably.
    pub(super) fn write_meta(&self, st: &mut State, sync: bool) -> Result<()> {
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
            st.drops_unsynced = false;
        }
        Ok(())
    }

    /// Everything written so far, onto the disk.
    pub(super) fn sync(&self, st: &mut State) -> Result<()> {
        if let Some(w) = st.writer.as_mut() {
            w.flush().map_err(self.io(&self.segments_dir))?;
            w.get_ref()
                .sync_data()
                .map_err(self.io(&self.segments_dir))?;
        }
        if std::mem::take(&mut st.dir_unsynced) {
            sync_dir(&self.segments_dir)?;
        }
        if st.drops_unsynced {
            self.write_meta(st, true)?;
        }
        Ok(())
    }
}

pub(super) fn read_meta(dir: &Path) -> Result<Meta> {
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

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::SpoolIo {
            path: dir.into(),
            source,
        })
}
