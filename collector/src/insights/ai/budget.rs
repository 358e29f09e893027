//! Tokens spent in the last hour. A request reserves what it may spend
//! at most (its prompt estimated, its answer's limit) before it is sent,
//! so concurrent requests cannot overrun the budget together; the
//! reservation becomes what the server reports it used.

use std::collections::VecDeque;
use std::sync::Mutex;

const HOUR_MS: i64 = 3_600_000;

pub struct Budget {
    per_hour: u64,
    /// (when, tokens), oldest first.
    spent: Mutex<VecDeque<(i64, u64)>>,
}

/// Tokens held for a request until it is settled.
#[derive(Debug)]
pub struct Reservation {
    at_ms: i64,
    tokens: u64,
}

impl Budget {
    pub fn new(per_hour: u64) -> Budget {
        Budget {
            per_hour,
            spent: Mutex::new(VecDeque::new()),
        }
    }

    /// Holds `tokens`, or says in how many seconds enough will be free.
    pub fn reserve(&self, tokens: u64, now_ms: i64) -> Result<Reservation, u64> {
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        while spent.front().is_some_and(|(at, _)| *at <= now_ms - HOUR_MS) {
            spent.pop_front();
        }
        let used: u64 = spent.iter().map(|(_, t)| t).sum();
        if used + tokens <= self.per_hour {
            spent.push_back((now_ms, tokens));
            return Ok(Reservation {
                at_ms: now_ms,
                tokens,
            });
        }
        // Free enough by letting the oldest entries age out.
        let mut freed = 0;
        for (at, t) in spent.iter() {
            freed += t;
            if used - freed + tokens <= self.per_hour {
                return Err(((at + HOUR_MS - now_ms).max(1000) as u64).div_ceil(1000));
            }
        }
        Err(3600)
    }

    /// Replaces a reservation by what was used (`None`: unknown, the
    /// reservation stands).
    pub fn settle(&self, reservation: Reservation, used: Option<u64>) {
        let Some(used) = used else { return };
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = spent
            .iter_mut()
            .find(|(at, t)| *at == reservation.at_ms && *t == reservation.tokens)
        {
            entry.1 = used;
        }
    }

    /// Tokens spent (or held) in the hour before `now_ms`.
    pub fn used(&self, now_ms: i64) -> u64 {
        let spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        spent
            .iter()
            .filter(|(at, _)| *at > now_ms - HOUR_MS)
            .map(|(_, t)| t)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_holds_within_an_hour_and_frees_after_it() {
        let b = Budget::new(1_000);
        let first = b.reserve(600, 0).unwrap();
        assert_eq!(b.reserve(600, 1_000).unwrap_err(), 3_599);
        b.settle(first, Some(300));
        let second = b.reserve(600, 2_000).unwrap();
        assert_eq!(b.used(2_000), 900);
        // 300 of the first are free again an hour after it.
        assert_eq!(b.reserve(400, 3_000).unwrap_err(), 3_597);
        assert!(b.reserve(400, HOUR_MS + 1).is_ok());
        b.settle(second, None);
        assert_eq!(b.used(HOUR_MS + 1), 1_000);
    }
}
