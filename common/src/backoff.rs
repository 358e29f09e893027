//! The one reconnect/retry delay helper: jittered exponential backoff.
//!
//! Delays start in `[min, 2·min)`, double per attempt and never exceed `max`;
//! jitter keeps many agents from reconnecting in lock step after an outage.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

#[derive(Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    inner: ExponentialBackoff,
    attempt: u32,
}

impl Backoff {
    /// `min` must be positive and at most `max`.
    pub fn new(min: Duration, max: Duration) -> Result<Backoff, String> {
        if min.is_zero() {
            return Err("backoff minimum must be positive".into());
        }
        if min > max {
            return Err(format!(
                "backoff minimum {min:?} is larger than its maximum {max:?}"
            ));
        }
        Ok(Backoff {
            min,
            max,
            inner: Self::build(min, max),
            attempt: 0,
        })
    }

    fn build(min: Duration, max: Duration) -> ExponentialBackoff {
        // Jitter adds up to 100% of the base delay, so the base is capped at
        // half the maximum to keep every delay within `max`.
        let base_max = (max / 2).max(min);
        ExponentialBuilder::default()
            .with_min_delay(min)
            .with_max_delay(base_max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        self.inner.next().unwrap_or(self.max).min(self.max)
    }

    /// Attempts since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Starts over from `min`, e.g. after a connection succeeded.
    pub fn reset(&mut self) {
        self.inner = Self::build(self.min, self.max);
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_invalid_bounds() {
        assert!(Backoff::new(Duration::ZERO, Duration::from_secs(1)).is_err());
        assert!(Backoff::new(Duration::from_secs(2), Duration::from_secs(1)).is_err());
    }

    #[test]
    fn grows_within_bounds_and_reaches_the_cap() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(5));
        let mut b = Backoff::new(min, max).unwrap();
        let delays: Vec<_> = (0..30).map(|_| b.next_delay()).collect();
        assert!(delays.iter().all(|d| *d >= min && *d <= max), "{delays:?}");
        assert!(delays[0] < min * 2, "{delays:?}");
        assert!(delays[29] >= max / 2, "cap not reached: {delays:?}");
        assert_eq!(b.attempt(), 30);
        b.reset();
        assert_eq!(b.attempt(), 0);
        assert!(b.next_delay() < min * 2);
    }
}
