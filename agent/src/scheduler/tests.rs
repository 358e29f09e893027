//! The scheduler's timing, concurrency and lateness, on tokio's paused clock.

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
use lightbulb_common::Status;
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
