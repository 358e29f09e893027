//! How late checks start against their schedule (for `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lightbulb_common::metrics::Histogram;

/// Upper bounds (seconds) of the start delay histogram.
const BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Each run's delay from its due time to getting its run slot, and the
/// due runs skipped because the previous run overran its interval.
#[derive(Default)]
pub struct Starts {
    delay: Histogram<{ BUCKETS.len() }>,
    skipped: AtomicU64,
}

impl Starts {
    pub(super) fn started(&self, late: Duration) {
        self.delay.observe(&BUCKETS, late.as_secs_f64());
    }

    pub(super) fn skipped(&self, runs: u64) {
        self.skipped.fetch_add(runs, Ordering::Relaxed);
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// The start delay histogram, in the text format.
    pub fn render(&self, out: &mut String) {
        self.delay.render(
            out,
            &BUCKETS,
            "lightbulb_agent_check_start_delay_seconds",
            "How long after its due time each check run got its run slot.",
        );
    }
}
