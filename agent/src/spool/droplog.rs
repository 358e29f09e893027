//! The log of a full spool's drops: the first drop at once, then at most one
//! line per interval, each with the running total, so the log never
//! under-reports by more than one interval's drops; what is left is
//! reported at the first append after the interval, or when the spool closes.

use std::time::Duration;

use tokio::time::Instant;

/// Drops not reported yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropReport {
    /// Results dropped since the previous line.
    pub dropped: u64,
    /// Check times of the oldest and newest of them.
    pub oldest_ms: i64,
    pub newest_ms: i64,
}

#[derive(Debug)]
pub struct DropLog {
    every: Duration,
    last_line: Option<Instant>,
    pending: Option<DropReport>,
}

impl DropLog {
    pub fn new(every: Duration) -> DropLog {
        DropLog {
            every,
            last_line: None,
            pending: None,
        }
    }

    /// Notes `dropped` results checked between `oldest_ms` and `newest_ms`;
    /// returns what to log now, if anything.
    pub fn dropped(
        &mut self,
        now: Instant,
        dropped: u64,
        oldest_ms: i64,
        newest_ms: i64,
    ) -> Option<DropReport> {
        if dropped == 0 {
            return self.due(now);
        }
        let p = self.pending.get_or_insert(DropReport {
            dropped: 0,
            oldest_ms,
            newest_ms,
        });
        p.dropped += dropped;
        p.oldest_ms = p.oldest_ms.min(oldest_ms);
        p.newest_ms = p.newest_ms.max(newest_ms);
        self.due(now)
    }

    /// What to log now: pending drops once the interval since the last line passed.
    pub fn due(&mut self, now: Instant) -> Option<DropReport> {
        self.pending?;
        if self.last_line.is_some_and(|t| now - t < self.every) {
            return None;
        }
        self.last_line = Some(now);
        self.pending.take()
    }

    /// Everything not reported yet, whatever the time (the spool is closing).
    pub fn rest(&mut self) -> Option<DropReport> {
        self.pending.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(dropped: u64, oldest_ms: i64, newest_ms: i64) -> Option<DropReport> {
        Some(DropReport {
            dropped,
            oldest_ms,
            newest_ms,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_drop_is_logged_at_once_then_one_line_per_interval_with_everything_since() {
        let mut log = DropLog::new(Duration::from_secs(10));
        assert_eq!(
            log.dropped(Instant::now(), 5, 100, 200),
            report(5, 100, 200)
        );
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(log.dropped(Instant::now(), 7, 300, 400), None);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(log.dropped(Instant::now(), 1, 50, 450), None, "9 s in");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            log.dropped(Instant::now(), 2, 500, 600),
            report(10, 50, 600),
            "10 s after the first line: all 10 since it, oldest to newest"
        );
        assert_eq!(log.dropped(Instant::now(), 0, 0, 0), None);
    }

    #[tokio::test(start_paused = true)]
    async fn drops_left_over_are_logged_once_the_interval_passes_even_without_new_drops() {
        let mut log = DropLog::new(Duration::from_secs(10));
        assert!(log.dropped(Instant::now(), 1, 1, 1).is_some());
        assert_eq!(log.dropped(Instant::now(), 4, 2, 3), None);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(log.due(Instant::now()), None);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(log.due(Instant::now()), report(4, 2, 3));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(log.due(Instant::now()), None, "nothing pending: no line");
    }

    #[tokio::test(start_paused = true)]
    async fn closing_reports_the_rest_at_once() {
        let mut log = DropLog::new(Duration::from_secs(10));
        assert!(log.dropped(Instant::now(), 1, 1, 1).is_some());
        assert_eq!(log.dropped(Instant::now(), 3, 5, 9), None);
        assert_eq!(log.rest(), report(3, 5, 9));
        assert_eq!(log.rest(), None);
    }
}
