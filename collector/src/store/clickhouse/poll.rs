//! Reads what other collectors sharing the database wrote: latest statuses
//! (handed to the writer, which passes on those newer than its own view) and
//! status events (passed on once each).

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::debug;

use super::query::{self, Ch, EventRow};
use super::writer::Op;
use crate::Result;
use crate::store::Inserted;

/// Events may be stored out of id order by this much (clock skew between
/// collectors plus insert delay); the poller re-reads that far back.
const LATE_MS: i64 = 30_000;

pub(super) struct Poller {
    pub ch: Ch,
    pub replica: u64,
    pub interval: Duration,
    pub writer: mpsc::Sender<Op>,
    pub observed: mpsc::Sender<Inserted>,
    /// Newest event id seen from others.
    pub cursor: i64,
    /// Newest event id when this collector started: older events are history,
    /// not news, and are not passed on.
    pub since: i64,
}

pub(super) async fn run(mut p: Poller) {
    let mut seen: HashSet<(i64, u64)> = HashSet::new();
    let mut tick = tokio::time::interval(p.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if p.writer.is_closed() {
            return;
        }
        if let Err(e) = p.once(&mut seen).await {
            debug!(error = %e, "cannot read other collectors' updates");
        }
    }
}

impl Poller {
    async fn once(&mut self, seen: &mut HashSet<(i64, u64)>) -> Result<()> {
        let latest = query::latest(&self.ch).await?;
        // A full queue means the writer is busy; the next poll repeats this.
        let _ = self.writer.try_send(Op::Observed(latest));
        let from = self.cursor - (LATE_MS << 20);
        let rows: Vec<EventRow> = self
            .ch
            .call(
                "poll events",
                self.ch
                    .client
                    .query(&format!(
                        "SELECT ?fields FROM {} WHERE id > ? AND replica != ? ORDER BY id LIMIT 10000",
                        self.ch.t("status_events")
                    ))
                    .bind(from)
                    .bind(self.replica)
                    .fetch_all(),
            )
            .await?;
        let mut events = Vec::new();
        for row in rows {
            if seen.insert((row.id, row.replica)) {
                self.cursor = self.cursor.max(row.id);
                if row.id > self.since {
                    events.push(row.event());
                }
            }
        }
        let keep_from = self.cursor - (LATE_MS << 20);
        seen.retain(|(id, _)| *id > keep_from);
        if !events.is_empty() {
            let _ = self
                .observed
                .send(Inserted {
                    events,
                    ..Inserted::default()
                })
                .await;
        }
        Ok(())
    }
}
