//! Runs a check on its own interval (with jitter) under a per-check
//! timeout, at most `max_concurrency` at a time across checks. Each check is
//! its own task, so a slow check only ever delays itself; `fleet.rs` decides
//! which checks run. `Lateness` tells which checks missed their schedule, so
//! heartbeats can say "alive but not checking".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lightbulb_common::{CheckResult, ServiceType};
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
        // The spec now lives in `check`; the task keeps only what it needs,
        // since an idle task's size is memory held per check.
        let schedule = Schedule {
            service_id: plan.service_id,
            service_type: plan.service_type,
            interval: plan.interval,
            timeout: plan.timeout,
        };
        self.tasks.spawn(run_check(
            Box::new(Shared {
                schedule,
                check,
                permits: self.permits.clone(),
                sink: self.sink.clone(),
                lateness: self.lateness.clone(),
                shutdown: stop,
            }),
            first,
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

/// What a check's task needs between runs.
struct Schedule {
    service_id: String,
    service_type: ServiceType,
    interval: Duration,
    timeout: Duration,
}

/// Everything a check's task holds, boxed so the task itself stays small.
struct Shared {
    schedule: Schedule,
    check: Box<dyn Check>,
    permits: Arc<Semaphore>,
    sink: Sink,
    lateness: Lateness,
    shutdown: CancellationToken,
}

async fn run_check(mut s: Box<Shared>, first: Duration) {
    let mut next = Instant::now() + first;
    let id = s.schedule.service_id.clone();
    s.lateness
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id.clone(),
            Track {
                due: next,
                running_since: None,
                interval: s.schedule.interval,
                timeout: s.schedule.timeout,
            },
        );
    let lateness = s.lateness.clone();
    let _tracked = Tracked(&lateness, &id);
    loop {
        tokio::select! {
            _ = s.shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
        }
        // Boxed: the run's futures (permit, timeout, the check) exist only
        // while it runs, not in every idle task.
        let Some((timestamp_ms, o)) = Box::pin(run_once(&mut s, next)).await else {
            return;
        };
        let sched = &s.schedule;
        (s.sink)(CheckResult {
            service_id: sched.service_id.clone(),
            service_type: sched.service_type,
            timestamp_ms,
            status: o.status,
            message: o.message,
            metrics: o.metrics,
            details: o.details,
        });
        // Fixed cadence from the previous start; a run that overran skips ahead.
        next += sched.interval;
        let now = Instant::now();
        if next < now {
            // Due times passed without a run: counted as skipped.
            let behind = (now - next).as_nanos() / sched.interval.as_nanos().max(1);
            s.lateness.1.skipped(behind as u64 + 1);
            next = now + jitter(sched.interval) / 10;
        }
        s.lateness.update(&sched.service_id, |t| {
            t.due = next;
            t.running_since = None;
        });
    }
}

/// One run due at `due`: waits for a run slot, then runs the check under
/// its timeout. `None` at shutdown.
async fn run_once(s: &mut Shared, due: Instant) -> Option<(i64, Outcome)> {
    let started = Instant::now();
    let permit = tokio::select! {
        biased;
        _ = s.shutdown.cancelled() => return None,
        p = s.permits.acquire() => p,
    };
    let _permit = permit.ok()?;
    let now = Instant::now();
    let sched = &s.schedule;
    s.lateness.1.started(now.saturating_duration_since(due));
    s.lateness
        .update(&sched.service_id, |t| t.running_since = Some(now));
    let timestamp_ms = lightbulb_common::time::now_ms();
    let run = tokio::time::timeout(sched.timeout, s.check.run());
    // Shutdown does not wait for a slow check to time out.
    let outcome = tokio::select! {
        biased;
        _ = s.shutdown.cancelled() => return None,
        r = run => match r {
            Ok(o) => o,
            Err(_) => Outcome::failed(format!(
                "check timed out after {}",
                humantime::format_duration(sched.timeout)
            )),
        },
    };
    debug!(service_id = %sched.service_id, status = %outcome.status, elapsed = ?started.elapsed(), "check ran");
    Some((timestamp_ms, outcome))
}

/// A random delay in `[0, interval)`.
fn jitter(interval: Duration) -> Duration {
    interval.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests;
