//! Runs a check on its own interval (with jitter) under a per-check
//! timeout, at most `max_concurrency` at a time across checks. Each check is
//! its own task, so a slow check only ever delays itself; `fleet.rs` starts
//! and stops them.

use std::sync::Arc;
use std::time::Duration;

use lightbulb_common::CheckResult;
use tokio::sync::Semaphore;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::checks::{Check, Outcome};
use crate::config::PlannedCheck;

/// Where finished results go (the spool, or a channel in tests).
pub type Sink = Arc<dyn Fn(CheckResult) + Send + Sync>;

pub(crate) async fn run_check(
    plan: PlannedCheck,
    mut check: Box<dyn Check>,
    permits: Arc<Semaphore>,
    sink: Sink,
    shutdown: CancellationToken,
) {
    // Spread the first runs over one interval so checks don't fire together.
    let mut next = Instant::now() + jitter(plan.interval);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
        }
        let started = Instant::now();
        let outcome = {
            let permit = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                p = permits.acquire() => p,
            };
            let Ok(_permit) = permit else { return };
            let timestamp_ms = lightbulb_common::time::now_ms();
            let run = tokio::time::timeout(plan.timeout, check.run());
            // Shutdown does not wait for a slow check to time out.
            let outcome = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                r = run => match r {
                    Ok(o) => o,
                    Err(_) => Outcome::failed(format!(
                        "check timed out after {}",
                        humantime::format_duration(plan.timeout)
                    )),
                },
            };
            (timestamp_ms, outcome)
        };
        let (timestamp_ms, o) = outcome;
        debug!(service_id = %plan.service_id, status = %o.status, elapsed = ?started.elapsed(), "check ran");
        sink(CheckResult {
            service_id: plan.service_id.clone(),
            service_type: plan.service_type,
            timestamp_ms,
            status: o.status,
            message: o.message,
            metrics: o.metrics,
            details: o.details,
        });
        // Fixed cadence from the previous start; a run that overran skips ahead.
        next += plan.interval;
        let now = Instant::now();
        if next < now {
            next = now + jitter(plan.interval) / 10;
        }
    }
}

/// A random delay in `[0, interval)`.
fn jitter(interval: Duration) -> Duration {
    interval.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use tokio::task::JoinSet;
    use tracing::info;

    use super::*;

    /// Starts every check with its own runner; the tasks end when `shutdown`
    /// is cancelled.
    fn spawn(
        checks: Vec<(PlannedCheck, Box<dyn Check>)>,
        max_concurrency: usize,
        sink: Sink,
        shutdown: CancellationToken,
    ) -> JoinSet<()> {
        let permits = Arc::new(Semaphore::new(max_concurrency));
        let mut set = JoinSet::new();
        for (plan, check) in checks {
            info!(service_id = %plan.service_id, service_type = %plan.service_type, interval = ?plan.interval, "check scheduled");
            set.spawn(run_check(
                plan,
                check,
                permits.clone(),
                sink.clone(),
                shutdown.clone(),
            ));
        }
        set
    }
    use crate::checks::{BoxFuture, CheckSpec};
    use lightbulb_common::{ServiceType, Status};
    use std::sync::Mutex;

    struct Fixed(Duration, Status);

    impl Check for Fixed {
        fn run(&mut self) -> BoxFuture<'_, Outcome> {
            let (d, s) = (self.0, self.1);
            Box::pin(async move {
                tokio::time::sleep(d).await;
                Outcome::new(s, "done")
            })
        }
    }

    fn plan(id: &str, interval: Duration, timeout: Duration) -> PlannedCheck {
        PlannedCheck {
            service_id: id.into(),
            service_type: ServiceType::ApiEndpoint,
            interval,
            timeout,
            spec: CheckSpec::Tcp(crate::checks::http::TcpSpec {
                addr: "x:1".into(),
                degraded_ms: None,
            }),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_check_times_out_and_never_delays_a_fast_one() {
        let seen = Arc::new(Mutex::new(Vec::<CheckResult>::new()));
        let sink_seen = seen.clone();
        let sink: Sink = Arc::new(move |r| sink_seen.lock().unwrap().push(r));
        let shutdown = CancellationToken::new();
        let checks: Vec<(PlannedCheck, Box<dyn Check>)> = vec![
            (
                plan("slow", Duration::from_secs(1), Duration::from_secs(3)),
                Box::new(Fixed(Duration::from_secs(3600), Status::Ok)),
            ),
            (
                plan("fast", Duration::from_secs(1), Duration::from_secs(1)),
                Box::new(Fixed(Duration::from_millis(10), Status::Ok)),
            ),
        ];
        // Two permits: the hanging check holds one at most until its timeout.
        let mut set = spawn(checks, 2, sink, shutdown.clone());
        tokio::time::sleep(Duration::from_secs(20)).await;
        shutdown.cancel();
        while set.join_next().await.is_some() {}
        let seen = seen.lock().unwrap();
        let fast = seen.iter().filter(|r| r.service_id == "fast").count();
        let slow: Vec<_> = seen.iter().filter(|r| r.service_id == "slow").collect();
        assert!((19..=21).contains(&fast), "fast ran {fast} times in 20 s");
        assert!(
            (5..=7).contains(&slow.len()),
            "slow ran {} times",
            slow.len()
        );
        assert!(
            slow.iter()
                .all(|r| r.status == Status::Failed && r.message.contains("timed out after 3s"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_bounded() {
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        struct Counting(
            Arc<std::sync::atomic::AtomicUsize>,
            Arc<std::sync::atomic::AtomicUsize>,
        );
        impl Check for Counting {
            fn run(&mut self) -> BoxFuture<'_, Outcome> {
                Box::pin(async move {
                    /// Counts a run as over even when shutdown drops it midway.
                    struct Running<'a>(&'a std::sync::atomic::AtomicUsize);
                    impl Drop for Running<'_> {
                        fn drop(&mut self) {
                            self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                    let now = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    let _running = Running(&self.0);
                    self.1.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    Outcome::new(Status::Ok, "ok")
                })
            }
        }
        let checks: Vec<(PlannedCheck, Box<dyn Check>)> = (0..10)
            .map(|i| {
                let c: Box<dyn Check> = Box::new(Counting(running.clone(), peak.clone()));
                (
                    plan(
                        &format!("c{i}"),
                        Duration::from_secs(1),
                        Duration::from_secs(1),
                    ),
                    c,
                )
            })
            .collect();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c2 = count.clone();
        let shutdown = CancellationToken::new();
        let mut set = spawn(
            checks,
            3,
            Arc::new(move |_| {
                c2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }),
            shutdown.clone(),
        );
        tokio::time::sleep(Duration::from_secs(10)).await;
        shutdown.cancel();
        while set.join_next().await.is_some() {}
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert!(count.load(std::sync::atomic::Ordering::SeqCst) >= 50);
    }
}
