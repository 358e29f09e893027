//! How much one caller may ask: a token bucket per caller (token or user)
//! and per client address, one for sign-in attempts per address, and a
//! count of the live streams each caller holds. Over a limit: 429 with
//! `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::Error;
use crate::auth::{Identity, IdentityKind};
use crate::config::LimitsConfig;

/// Buckets idle this long are forgotten (they would be full again anyway).
const FORGET_MS: i64 = 10 * 60_000;

struct Bucket {
    tokens: f64,
    at_ms: i64,
}

/// Token buckets by key: `rate` per second, at most `burst` saved up.
struct Buckets {
    rate: f64,
    burst: f64,
    all: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    fn new(rate: f64, burst: f64) -> Buckets {
        Buckets {
            rate,
            burst,
            all: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says in how many seconds there is one.
    fn take(&self, key: &str, now_ms: i64) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        if all.len() > 10_000 {
            all.retain(|_, b| now_ms - b.at_ms < FORGET_MS);
        }
        let b = all.entry(key.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at_ms: now_ms,
        });
        let elapsed = (now_ms - b.at_ms).max(0) as f64 / 1000.0;
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        b.at_ms = now_ms;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

pub struct Limits {
    requests: Buckets,
    logins: Buckets,
    streams_per_caller: u32,
    streams: Arc<Mutex<HashMap<String, u32>>>,
}

/// One open stream; the count drops when it is dropped.
pub struct StreamSlot {
    key: String,
    streams: Arc<Mutex<HashMap<String, u32>>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut all = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = all.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                all.remove(&self.key);
            }
        }
    }
}

/// Whose limits a request counts against: the signed-in caller, or (with
/// sign-in off, when everyone is the same anonymous admin) the client address.
pub fn caller_key(who: &Identity, ip: Option<&str>) -> String {
    match who.kind {
        IdentityKind::Anonymous => format!("ip:{}", ip.unwrap_or("unknown")),
        _ => who.actor().name,
    }
}

fn too_many(what: &str, retry_after_secs: u64) -> Error {
    Error::TooManyRequests {
        message: format!("too many {what}; try again in {retry_after_secs}s"),
        retry_after_secs,
    }
}

impl Limits {
    pub fn new(c: &LimitsConfig) -> Limits {
        Limits {
            requests: Buckets::new(f64::from(c.requests_per_second), f64::from(c.burst)),
            logins: Buckets::new(
                f64::from(c.logins_per_minute) / 60.0,
                f64::from(c.logins_per_minute),
            ),
            streams_per_caller: c.streams_per_caller,
            streams: Arc::default(),
        }
    }

    /// One request by `caller` (None: nobody signed in) from `ip`.
    pub fn request(
        &self,
        caller: Option<&str>,
        ip: Option<&str>,
        now_ms: i64,
    ) -> Result<(), Error> {
        let ip = ip.map(|ip| format!("ip:{ip}"));
        // With sign-in off the caller is its address: one bucket, not two.
        let caller = caller.filter(|c| Some(*c) != ip.as_deref());
        for key in [caller, ip.as_deref()].into_iter().flatten() {
            self.requests
                .take(key, now_ms)
                .map_err(|secs| too_many("requests", secs))?;
        }
        Ok(())
    }

    /// One sign-in attempt from `ip`.
    pub fn login(&self, ip: Option<&str>, now_ms: i64) -> Result<(), Error> {
        self.logins
            .take(ip.unwrap_or("unknown"), now_ms)
            .map_err(|secs| too_many("sign-in attempts", secs))
    }

    /// A slot for one more live stream of `key`, if it holds fewer than the limit.
    pub fn stream(&self, key: &str) -> Result<StreamSlot, Error> {
        let mut all = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let n = all.entry(key.to_string()).or_insert(0);
        if self.streams_per_caller > 0 && *n >= self.streams_per_caller {
            return Err(too_many(
                &format!("live streams (at most {} at once)", self.streams_per_caller),
                5,
            ));
        }
        *n += 1;
        Ok(StreamSlot {
            key: key.to_string(),
            streams: self.streams.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let b = Buckets::new(2.0, 3.0);
        for _ in 0..3 {
            assert!(b.take("a", 0).is_ok());
        }
        assert_eq!(
            b.take("a", 0),
            Err(1),
            "empty: one token comes in half a second"
        );
        assert!(b.take("b", 0).is_ok(), "another caller has its own bucket");
        assert!(b.take("a", 500).is_ok());
        assert!(b.take("a", 500).is_err());
        assert!(b.take("a", 10_000).is_ok(), "refilled, up to the burst");
        let slow = Buckets::new(10.0 / 60.0, 10.0);
        for _ in 0..10 {
            assert!(slow.take("ip", 0).is_ok());
        }
        assert_eq!(slow.take("ip", 0), Err(6), "one attempt every six seconds");
    }

    #[test]
    fn streams_are_counted_until_dropped() {
        let limits = Limits::new(&LimitsConfig {
            streams_per_caller: 2,
            ..LimitsConfig::default()
        });
        let a = limits.stream("user:alice").unwrap();
        let _b = limits.stream("user:alice").unwrap();
        let e = limits.stream("user:alice").err().unwrap();
        assert_eq!(e.code(), crate::ErrorCode::TooManyRequests);
        assert!(limits.stream("user:bob").is_ok());
        drop(a);
        assert!(limits.stream("user:alice").is_ok());
    }
}
