//! Runs a check on its own interval (with jitter) under a per-check
//! timeout, at most `max_concurrency` at a time across checks. Each check is
//! its own task, so a slow check only ever delays itself; `fleet.rs` decides
//! which checks run. `Lateness` tells which checks missed their schedule, so
//! heartbeats can say "alive but not checking".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lightbulb_common::CheckResult;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::checks::{self, Check, Outcome};
use crate::plan::PlannedCheck;
use crate::secrets::{Secrets, WithSecrets};

mod starts;
pub use starts::Starts;

/// How soon a check started with `start_soon` first runs, at the latest.
const SOON: Duration = Duration::from_secs(1);

/// Where finished results go (the spool, or a channel in tests).
pub type Sink = Arc<dyn Fn(CheckResult) + Send + Sync>;

/// Runs checks, each as its own task, sharing the run slots.
pub struct Scheduler {
    permits: Arc<Semaphore>,
    secrets: Arc<Secrets>,
    sink: Sink,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    /// Where each check stands against its schedule (read by heartbeats).
    pub lateness: Lateness,
}

impl Scheduler {
    pub fn new(
        max_concurrency: usize,
        secrets: Arc<Secrets>,
        sink: Sink,
        shutdown: CancellationToken,
    ) -> Scheduler {
        Scheduler {
            permits: Arc::new(Semaphore::new(max_concurrency)),
            secrets,
            sink,
            shutdown,
            tasks: JoinSet::new(),
            lateness: Lateness::default(),
        }
    }

    /// A token that stops one check, and is stopped with every check at shutdown.
    pub fn stopper(&self) -> CancellationToken {
        self.shutdown.child_token()
    }

    /// Runs `plan`'s check until `stop`, its first run at a random point of
    /// one interval: checks starting together (at agent start) do not all
    /// fire at once.
    pub fn start(&mut self, plan: PlannedCheck, stop: CancellationToken) {
        let first = jitter(plan.interval);
        self.start_after(plan, stop, first);
    }

    /// The same, its first run within a second: a check just assigned or
    /// changed, which its user is waiting to see.
    pub fn start_soon(&mut self, plan: PlannedCheck, stop: CancellationToken) {
        let first = jitter(plan.interval.min(SOON));
        self.start_after(plan, stop, first);
    }

    fn start_after(&mut self, plan: PlannedCheck, stop: CancellationToken, first: Duration) {
        let check: Box<dyn Check> = match &plan.secret_config {
            Some(config) => Box::new(WithSecrets::new(
                plan.service_type,
                config.clone(),
                self.secrets.clone(),
            )),
            None => checks::build(&plan.spec),
        };
        self.run(plan, check, stop, first);
    }

    fn run(
        &mut self,
        plan: PlannedCheck,
        check: Box<dyn Check>,
        stop: CancellationToken,
        first: Duration,
    ) {
        info!(service_id = %plan.service_id, service_type = %plan.service_type, interval = ?plan.interval, first_run_in = ?first, "check scheduled");
        self.tasks.spawn(run_check(
            plan,
            first,
            check,
            self.permits.clone(),
            self.sink.clone(),
            self.lateness.clone(),
            stop,
        ));
    }

    /// Waits for every check task to end (after shutdown).
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Where each running check stands against its schedule, and how late
/// runs started so far.
#[derive(Clone, Default)]
pub struct Lateness(Arc<Mutex<HashMap<String, Track>>>, pub Arc<Starts>);

#[derive(Clone, Copy)]
struct Track {
    /// When the next run is due (or the current one was).
    due: Instant,
    /// When the current run got its slot; `None` between runs.
    running_since: Option<Instant>,
    interval: Duration,
    timeout: Duration,
}

/// A check behind its schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Late {
    pub service_id: String,
    pub late: Duration,
    /// `waiting`: overdue by more than one interval without a run slot;
    /// `hung`: a run has lasted beyond its timeout.
    pub reason: &'static str,
}

/// A run may end a little after its timeout fires before it counts as hung.
const HUNG_SLACK: Duration = Duration::from_secs(1);

impl Lateness {
    fn update(&self, id: &str, f: impl FnOnce(&mut Track)) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = all.get_mut(id) {
            f(t);
        }
    }

    /// Every check behind its schedule at `now`, by service id.
    pub fn late(&self, now: Instant) -> Vec<Late> {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Late> = all
            .iter()
            .filter_map(|(id, t)| {
                let (late, reason) = match t.running_since {
                    // Past its timeout (and the slack): hung, by the excess.
                    Some(since) => {
                        let over = now.saturating_duration_since(since);
                        (over > t.timeout + HUNG_SLACK)
                            .then(|| (over - t.timeout - HUNG_SLACK, "hung"))?
                    }
                    // Overdue by more than an interval: waiting, by how overdue.
                    None => {
                        let overdue = now.saturating_duration_since(t.due);
                        (overdue > t.interval).then_some((overdue, "waiting"))?
                    }
                };
                Some(Late {
                    service_id: id.clone(),
                    late,
                    reason,
                })
            })
            .collect();
        out.sort_by(|a, b| a.service_id.cmp(&b.service_id));
        out
    }
}

/// Takes a check off `Lateness` when its task ends.
struct Tracked<'a>(&'a Lateness, &'a str);

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        let mut all = self.0.0.lock().unwrap_or_else(|e| e.into_inner());
        all.remove(self.1);
    }
}

async fn run_check(
    plan: PlannedCheck,
    first: Duration,
    mut check: Box<dyn Check>,
    permits: Arc<Semaphore>,
    sink: Sink,
    lateness: Lateness,
    shutdown: CancellationToken,
) {
    let mut next = Instant::now() + first;
    lateness.0.lock().unwrap_or_else(|e| e.into_inner()).insert(
        plan.service_id.clone(),
        Track {
            due: next,
            running_since: None,
            interval: plan.interval,
            timeout: plan.timeout,
        },
    );
    let _tracked = Tracked(&lateness, &plan.service_id);
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
            let now = Instant::now();
            lateness.1.started(now.saturating_duration_since(next));
            lateness.update(&plan.service_id, |t| t.running_since = Some(now));
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
            // Due times passed without a run: counted as skipped.
            let behind = (now - next).as_nanos() / plan.interval.as_nanos().max(1);
            lateness.1.skipped(behind as u64 + 1);
            next = now + jitter(plan.interval) / 10;
        }
        lateness.update(&plan.service_id, |t| {
            t.due = next;
            t.running_since = None;
        });
    }
}

/// A random delay in `[0, interval)`.
fn jitter(interval: Duration) -> Duration {
    interval.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts every check on a fresh scheduler; the tasks end when `shutdown`
    /// is cancelled.
    fn spawn(
        checks: Vec<(PlannedCheck, Box<dyn Check>)>,
        max_concurrency: usize,
        sink: Sink,
        shutdown: CancellationToken,
    ) -> Scheduler {
        let secrets = Arc::new(Secrets::new(&Default::default()).unwrap());
        let mut scheduler = Scheduler::new(max_concurrency, secrets, sink, shutdown);
        for (plan, check) in checks {
            let stop = scheduler.stopper();
            let first = jitter(plan.interval);
            scheduler.run(plan, check, stop, first);
        }
        scheduler
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
            secret_config: None,
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
        let scheduler = spawn(checks, 2, sink, shutdown.clone());
        tokio::time::sleep(Duration::from_secs(20)).await;
        shutdown.cancel();
        scheduler.join().await;
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
        let scheduler = spawn(
            checks,
            3,
            Arc::new(move |_| {
                c2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }),
            shutdown.clone(),
        );
        tokio::time::sleep(Duration::from_secs(10)).await;
        shutdown.cancel();
        scheduler.join().await;
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert!(count.load(std::sync::atomic::Ordering::SeqCst) >= 50);
    }

    #[tokio::test(start_paused = true)]
    async fn checks_without_a_run_slot_are_late_and_recover() {
        // One run slot held by a check that takes 5 s: the 1 s check waits.
        let checks: Vec<(PlannedCheck, Box<dyn Check>)> = vec![
            (
                plan("hog", Duration::from_secs(60), Duration::from_secs(10)),
                Box::new(Fixed(Duration::from_secs(5), Status::Ok)),
            ),
            (
                plan("starved", Duration::from_secs(1), Duration::from_secs(1)),
                Box::new(Fixed(Duration::from_millis(10), Status::Ok)),
            ),
        ];
        let shutdown = CancellationToken::new();
        let scheduler = spawn(checks, 1, Arc::new(|_| {}), shutdown.clone());
        let lateness = scheduler.lateness.clone();
        // Wait until the hog holds the slot (its first run starts within a
        // minute, at a random point of it) and the starved check is over a
        // second late.
        let deadline = Instant::now() + Duration::from_secs(70);
        let late = loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let late = lateness.late(Instant::now());
            if !late.is_empty() || Instant::now() > deadline {
                break late;
            }
        };
        assert_eq!(late.len(), 1, "{late:?}");
        assert_eq!(late[0].service_id, "starved");
        assert_eq!(late[0].reason, "waiting");
        assert!(late[0].late > Duration::from_secs(1));
        // Once the hog's run ends the starved check runs and is on time again.
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert_eq!(lateness.late(Instant::now()), Vec::new());
        shutdown.cancel();
        scheduler.join().await;
        assert!(
            lateness.0.lock().unwrap().is_empty(),
            "ended checks leave the table"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_past_its_timeout_is_hung() {
        let lateness = Lateness::default();
        let now = Instant::now();
        lateness.0.lock().unwrap().insert(
            "stuck".into(),
            Track {
                due: now,
                running_since: Some(now),
                interval: Duration::from_secs(5),
                timeout: Duration::from_secs(2),
            },
        );
        assert!(lateness.late(now + Duration::from_secs(3)).is_empty());
        let late = lateness.late(now + Duration::from_secs(10));
        assert_eq!(late[0].reason, "hung");
        assert_eq!(late[0].late, Duration::from_secs(7));
    }
}
