//! `lightbulb-agent bench`: synthetic results through the real spool and
//! shipper, for benchmarks and delivery tests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lightbulb_proto::v1;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::Result;
use crate::config::AgentConfig;
use crate::shipper::{Hello, Shipper, endpoint};
use crate::spool::Spool;

/// What a bench run did. Every result produced or drained was either
/// acknowledged by the collector, dropped by the spool or found corrupt.
#[derive(Debug)]
pub struct BenchReport {
    /// New synthetic results.
    pub results: u64,
    /// Records already in the spool from an earlier run.
    pub drained: u64,
    /// Results the spool dropped during this run (full, or a disk that
    /// refused writes).
    pub dropped: u64,
    /// Records skipped for a bad checksum.
    pub corrupt: u64,
    pub elapsed: Duration,
    /// False for `--spool-only`: nothing was sent.
    pub shipped: bool,
}

impl BenchReport {
    /// Results the collector acknowledged.
    pub fn acknowledged(&self) -> u64 {
        if !self.shipped {
            return 0;
        }
        (self.results + self.drained).saturating_sub(self.dropped + self.corrupt)
    }

    /// Acknowledged results per second.
    pub fn rate(&self) -> f64 {
        self.acknowledged() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.shipped {
            return write!(
                f,
                "bench: {} produced and spooled, not shipped, {} dropped by the spool in {:.2}s",
                self.results,
                self.dropped,
                self.elapsed.as_secs_f64()
            );
        }
        write!(
            f,
            "bench: {} produced, {} acknowledged, {} dropped by the spool, {} corrupt",
            self.results,
            self.acknowledged(),
            self.dropped,
            self.corrupt
        )?;
        if self.drained > 0 {
            write!(f, " ({} were left from an earlier run)", self.drained)?;
        }
        write!(
            f,
            " in {:.2}s: {:.0} acknowledged results/s",
            self.elapsed.as_secs_f64(),
            self.rate()
        )
    }
}

/// Appends `results` synthetic results for services `{prefix}-0`…`{prefix}-{services-1}`
/// after whatever the spool already holds, and returns once all are acked.
pub async fn run(
    config: &AgentConfig,
    results: u64,
    services: u64,
    prefix: &str,
    shutdown: CancellationToken,
) -> Result<Option<BenchReport>> {
    run_paced(config, results, services, prefix, 0, 0, true, shutdown).await
}

/// `run` producing at most `rate` results per second (0: as fast as the
/// spool takes them), as checks would, while the shipper ships. Without
/// `ship` the results are only spooled, for a later run to ship as a
/// backlog. With `history_ms` the results are checked over that past
/// instead of now, evenly per service, all OK, with response times of a
/// daily shape (a history to look at, or to find unusual hours against).
#[allow(clippy::too_many_arguments)]
pub async fn run_paced(
    config: &AgentConfig,
    results: u64,
    services: u64,
    prefix: &str,
    rate: u64,
    history_ms: i64,
    ship: bool,
    shutdown: CancellationToken,
) -> Result<Option<BenchReport>> {
    let endpoint = endpoint(config)?;
    let spool = Arc::new(Spool::open(&config.spool_dir, config.spool.max_bytes)?);
    let drained = spool.pending();
    let dropped_before = spool.dropped();
    let shipper = Shipper {
        config: config.shipper.clone(),
        hello: Hello::from_config(config),
        endpoint,
        spool: spool.clone(),
        assignments: None,
        discovered: None,
        lateness: Default::default(),
        stats: Default::default(),
    };
    let stop_shipper = shutdown.child_token();
    let shipping = ship.then(|| tokio::spawn(shipper.run(stop_shipper.clone())));
    let start = Instant::now();
    let services = services.max(1);
    let chunk = if rate == 0 {
        1000
    } else {
        (rate / 20).clamp(1, 1000)
    };
    info!(results, rate, drained, history_ms, "bench producing");
    let per_service = results.div_ceil(services).max(1);
    let history_start = lightbulb_common::time::now_ms() - history_ms;
    let mut made = 0u64;
    while made < results {
        if rate > 0 {
            let due = start + Duration::from_secs_f64(made as f64 / rate as f64);
            tokio::select! {
                _ = tokio::time::sleep_until(due.into()) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        let n = chunk.min(results - made);
        let batch: Vec<v1::CheckResult> = (made..made + n)
            .map(|i| {
                let mut r = synthetic(i, services, prefix);
                if history_ms > 0 {
                    let at =
                        history_start + (i / services) as i64 * history_ms / per_service as i64;
                    past(&mut r, at);
                }
                r
            })
            .collect();
        let s = spool.clone();
        tokio::task::spawn_blocking(move || s.append(&batch))
            .await
            .expect("append task")?;
        made += n;
        if shutdown.is_cancelled() {
            break;
        }
    }
    // Everything generated is on disk before anyone is told it was spooled,
    // unless the disk refuses: then the shipper flushes once it takes it.
    let s = spool.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || s.make_durable())
        .await
        .expect("flush task")
    {
        warn!(error = %e, "bench results not on disk yet; the shipper retries");
    }
    let target = spool.last_seq();
    info!(
        results,
        drained,
        target_seq = target,
        "bench results spooled; waiting for acks"
    );
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    while ship && spool.acked_seq() < target && spool.waiting() > 0 {
        tokio::select! {
            _ = poll.tick() => {}
            _ = shutdown.cancelled() => break,
        }
    }
    let elapsed = start.elapsed();
    stop_shipper.cancel();
    if let Some(shipping) = shipping {
        let _ = shipping.await;
    }
    let s = spool.clone();
    tokio::task::spawn_blocking(move || s.make_durable())
        .await
        .expect("flush task")?;
    if shutdown.is_cancelled() {
        return Ok(None);
    }
    Ok(Some(BenchReport {
        results,
        drained,
        dropped: spool.dropped() - dropped_before,
        corrupt: spool.corrupt(),
        elapsed,
        shipped: ship,
    }))
}

/// `r` as checked at `at_ms`: OK, its response time 100 ms at 06:00 UTC,
/// 150 ms at noon, 50 ms at midnight.
fn past(r: &mut v1::CheckResult, at_ms: i64) {
    let day = (at_ms.rem_euclid(86_400_000)) as f64 / 86_400_000.0;
    let rt = 100.0 * (1.0 + 0.5 * (std::f64::consts::TAU * (day - 0.25)).sin());
    r.timestamp_ms = at_ms;
    r.status_code = 0;
    r.metrics = Some(v1::Metrics {
        response_time_ms: Some(rt),
        ..Default::default()
    });
}

fn synthetic(i: u64, services: u64, prefix: &str) -> v1::CheckResult {
    let status = if i.is_multiple_of(97) {
        2
    } else if i.is_multiple_of(13) {
        1
    } else {
        0
    };
    v1::CheckResult {
        seq: 0,
        service_id: format!("{prefix}-{}", i % services),
        service_type: "api_endpoint".into(),
        timestamp_ms: lightbulb_common::time::now_ms(),
        status_code: status,
        message: format!("synthetic result {i}"),
        metrics: Some(v1::Metrics {
            response_time_ms: Some((i % 500) as f64),
            ..Default::default()
        }),
        details_json: String::new(),
        gap: None,
    }
}
