//! A full spool: dropping the oldest segments, counting what they held,
//! and the gap marker that tells the collector.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::Ordering;

use lightbulb_common::time::format_iso;
use lightbulb_proto::v1;
use tracing::warn;

use super::droplog::DropReport;
use super::segment::{self, Reader};
use super::{Spool, State};
use crate::Result;

impl Spool {
    /// Drops the oldest droppable segments until `incoming` more bytes fit.
    pub(super) fn make_room(&self, st: &mut State, incoming: u64) -> Result<()> {
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
    pub(super) fn drop_segment(&self, st: &mut State, i: usize, count: bool) -> Result<()> {
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
        // A drop that failed halfway (a disk refusing writes) was counted.
        let count = count && !st.meta.doomed.contains(&first);
        if count {
            let before = (st.meta.dropped_total, st.meta.last_drop_ms);
            st.meta.dropped_total += dropped;
            st.meta.last_drop_ms = lightbulb_common::time::now_ms();
            st.meta.doomed.push(first);
            if let Err(e) = self.write_meta(st, false) {
                (st.meta.dropped_total, st.meta.last_drop_ms) = before;
                st.meta.doomed.pop();
                return Err(e);
            }
            st.drops_unsynced = true;
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

    pub(super) fn log_drops(&self, st: &State, r: DropReport) {
        warn!(
            dropped = r.dropped,
            dropped_total = st.meta.dropped_total,
            oldest_dropped = %format_iso(r.oldest_ms),
            newest_dropped = %format_iso(r.newest_ms),
            max_bytes = self.max_bytes,
            "spool full: dropped the oldest results"
        );
    }
}
