//! A disk that refuses writes (full, or failing). A result that cannot be
//! written is counted as dropped, like one a full budget drops, never lost
//! silently; bytes written but not yet flushed wait in memory (at most the
//! writer's buffer) and go to disk once it takes them. Watermarks that
//! cannot be saved are kept in memory and saved with the next write, so
//! the shipper goes on sending and acknowledging what is on disk, and
//! acknowledged segments are removed, which frees room.

use std::io::Write;
use std::time::Duration;

use lightbulb_proto::v1;
use tokio::time::Instant;
use tracing::{info, warn};

use super::droplog::{DropLog, DropReport};
use super::{Spool, State};
use crate::Result;

/// How often a disk that refuses writes is logged.
const EVERY: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(super) struct Unwritable {
    drops: DropLog,
    /// The latest write error, while writes fail.
    error: Option<String>,
    logged: Option<Instant>,
}

impl Default for Unwritable {
    fn default() -> Self {
        Unwritable {
            drops: DropLog::new(EVERY),
            error: None,
            logged: None,
        }
    }
}

impl Spool {
    /// Appends one result; one the disk does not take is counted as dropped.
    pub(super) fn append_one(&self, st: &mut State, r: &v1::CheckResult) {
        let Err(e) = self.try_append(st, r) else {
            return;
        };
        st.meta.dropped_total += 1;
        st.meta.last_drop_ms = lightbulb_common::time::now_ms();
        st.drops_unsynced = true;
        st.unwritable.error = Some(e.to_string());
        let now = Instant::now();
        if let Some(report) = st
            .unwritable
            .drops
            .dropped(now, 1, r.timestamp_ms, r.timestamp_ms)
        {
            self.log_unwritable(st, report);
        }
    }

    fn try_append(&self, st: &mut State, r: &v1::CheckResult) -> Result<()> {
        let mut r = r.clone();
        r.seq = st.next_seq;
        let mut frame = super::segment::encode(&r);
        // Making room may append a gap marker, which takes the next seq:
        // then the result is numbered after it (a seq's varint grows by
        // at most 2 bytes, hence the margin).
        self.make_room(st, frame.len() as u64 + 2)?;
        if st.next_seq != r.seq {
            r.seq = st.next_seq;
            frame = super::segment::encode(&r);
        }
        self.write_frame(st, &frame, r.seq, Some(r.timestamp_ms))
    }

    /// Hands what `append` wrote to the kernel, so a `kill -9` of the agent
    /// loses none of it. When the disk refuses, it stays in the writer's
    /// buffer, bounded: the next frame that does not fit is dropped.
    pub(super) fn flush_appended(&self, st: &mut State) {
        let Some(w) = st.writer.as_mut() else {
            return;
        };
        match w.flush() {
            Ok(()) => self.writes_again(st),
            Err(e) => {
                let waiting = w.buffer().len();
                self.trouble(st, &e.to_string(), waiting);
            }
        }
        if let Some(report) = st.unwritable.drops.due(Instant::now()) {
            self.log_unwritable(st, report);
        }
    }

    /// Saves the watermarks; on failure keeps them in memory for the next
    /// save: a lost watermark only causes a resend.
    pub(super) fn save_watermarks(&self, st: &mut State) {
        match self.write_meta(st, false) {
            Ok(()) => self.writes_again(st),
            Err(e) => self.trouble(st, &e.to_string(), 0),
        }
    }

    fn trouble(&self, st: &mut State, error: &str, waiting_bytes: usize) {
        let now = Instant::now();
        let first = st.unwritable.error.is_none();
        st.unwritable.error = Some(error.to_string());
        if first || st.unwritable.logged.is_none_or(|t| now - t >= EVERY) {
            st.unwritable.logged = Some(now);
            warn!(
                error,
                waiting_bytes,
                dir = %self.dir.display(),
                "spool cannot write to disk; retrying with the next write"
            );
        }
    }

    fn writes_again(&self, st: &mut State) {
        if st.unwritable.error.take().is_some() {
            st.unwritable.logged = None;
            info!(dir = %self.dir.display(), "spool writes to disk again");
        }
    }

    pub(super) fn log_unwritable(&self, st: &State, r: DropReport) {
        warn!(
            dropped = r.dropped,
            dropped_total = st.meta.dropped_total,
            oldest_dropped = %lightbulb_common::time::format_iso(r.oldest_ms),
            newest_dropped = %lightbulb_common::time::format_iso(r.newest_ms),
            error = st.unwritable.error.as_deref().unwrap_or(""),
            "spool cannot write to disk: dropped new results"
        );
    }

    /// Drops not logged yet, for the spool's close.
    pub(super) fn unwritable_rest(&self, st: &mut State) {
        if let Some(report) = st.unwritable.drops.rest() {
            self.log_unwritable(st, report);
        }
    }
}
