//! lightbulb agent: runs checks on a schedule, spools every result on disk
//! and ships the spool to the collector over mutual-TLS gRPC.

pub mod bench;
pub mod checks;
pub mod config;
pub mod discovery;
pub mod error;
pub mod fleet;
pub mod health;
pub mod plan;
pub mod scheduler;
pub mod secrets;
pub mod shipper;
pub mod spool;

use std::sync::Arc;

pub use error::{Error, Result};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::config::AgentConfig;
use crate::shipper::{Hello, Shipper, endpoint};
use crate::spool::Spool;

/// Runs the agent until `shutdown` is cancelled, then flushes the spool.
pub async fn run(mut config: AgentConfig, shutdown: CancellationToken) -> Result<()> {
    // TLS files first: a wrong path fails before anything touches the disk.
    let endpoint = endpoint(&config)?;
    let spool = Arc::new(Spool::open(&config.spool_dir, config.spool.max_bytes)?);
    let (assignments, mut assigned) = tokio::sync::watch::channel(None);
    let (found, discovered) = tokio::sync::watch::channel(None);
    let kubernetes = config.discovery.kubernetes.clone();
    let discovering = kubernetes
        .enabled
        .then(|| tokio::spawn(discovery::run(kubernetes, found, shutdown.clone())));
    let stats = Arc::new(health::Stats::default());
    let sink_spool = spool.clone();
    let counted = stats.clone();
    let sink: scheduler::Sink = Arc::new(move |result| {
        counted.checked(result.service_type.as_str(), result.status.name());
        if let Err(e) = sink_spool.append(&[lightbulb_proto::v1::CheckResult::from(&result)]) {
            error!(service_id = %result.service_id, error = %e, "cannot spool result");
        }
    });
    let secrets = Arc::new(secrets::Secrets::new(&config.secrets).map_err(Error::Secrets)?);
    let mut checks = scheduler::Scheduler::new(
        config.scheduler.max_concurrency,
        secrets,
        sink,
        shutdown.clone(),
    );
    let mut fleet = fleet::Fleet::default();
    let shipper = Shipper {
        lateness: checks.lateness.clone(),
        config: config.shipper.clone(),
        hello: Hello::from_config(&config),
        endpoint,
        spool: spool.clone(),
        assignments: Some(assignments),
        discovered: discovering.is_some().then_some(discovered),
        stats: stats.clone(),
    };
    let probes = tokio::spawn(health::serve(
        config.health.clone(),
        health::Health {
            stats,
            starts: checks.lateness.1.clone(),
            spool: spool.clone(),
            spool_dir: config.spool_dir.clone(),
            max_bytes: config.spool.max_bytes,
            grace: config.health.ready_grace,
            started: std::time::Instant::now(),
        },
        shutdown.clone(),
    ));
    info!(
        agent_id = %config.agent_id,
        collector = %config.collector,
        checks = config.checks.len(),
        spool_dir = %config.spool_dir.display(),
        "agent starting"
    );
    let shipping = tokio::spawn(shipper.run(shutdown.clone()));
    fleet.local(&mut checks, config.planned_checks());
    // Planned and announced: the entries (with their `status_config`) are
    // not needed again, and at 10,000 checks they weigh megabytes.
    config.checks = Vec::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = assigned.changed() => {
                if changed.is_err() {
                    shutdown.cancelled().await;
                    break;
                }
                let defs = assigned.borrow_and_update().clone();
                if let Some(defs) = defs {
                    fleet.assign(&mut checks, defs);
                }
            }
        }
    }
    info!("shutting down: flushing the spool");
    checks.join().await;
    let _ = shipping.await;
    let _ = probes.await;
    if let Some(d) = discovering {
        let _ = d.await;
    }
    tokio::task::spawn_blocking(move || spool.make_durable())
        .await
        .expect("flush task")?;
    info!("agent stopped");
    Ok(())
}
