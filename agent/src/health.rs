//! The agent's own health, on a small local HTTP listener (`[health]`,
//! default `127.0.0.1:9464`) for probes and Prometheus:
//! - `/healthz`: the process answers;
//! - `/readyz`: the spool takes writes and, once `ready_grace` has passed
//!   since start, the collector is connected or the spool is below 90 % of
//!   its budget (so an agent that cannot ship is unready only once it
//!   risks dropping results);
//! - `/metrics`: checks run by type and status, spool depth, bytes and
//!   drops, the oldest unshipped result's age, connection and reconnects.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lightbulb_common::time::serde_duration;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::spool::Spool;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// Serve `/healthz`, `/readyz` and `/metrics`. Default true.
    /// Env `LIGHTBULB_HEALTH__ENABLED`.
    pub enabled: bool,
    /// Address to listen on. Default `127.0.0.1:9464`. Env `LIGHTBULB_HEALTH__LISTEN`.
    pub listen: SocketAddr,
    /// After start, how long `/readyz` waits before it asks for the
    /// collector (or spool room). Default `30s`.
    #[serde(with = "serde_duration")]
    pub ready_grace: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            enabled: true,
            listen: "127.0.0.1:9464".parse().expect("address"),
            ready_grace: Duration::from_secs(30),
        }
    }
}

/// What the agent's parts report as they run.
#[derive(Default)]
pub struct Stats {
    pub connected: AtomicBool,
    pub reconnects: AtomicU64,
    /// Checks run, by service type and status.
    checks: Mutex<BTreeMap<(String, String), u64>>,
}

impl Stats {
    pub fn checked(&self, service_type: &str, status: &str) {
        let mut checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        *checks
            .entry((service_type.to_string(), status.to_string()))
            .or_default() += 1;
    }
}

#[derive(Clone)]
pub struct Health {
    pub stats: Arc<Stats>,
    /// How late checks start (the scheduler's).
    pub starts: Arc<crate::scheduler::Starts>,
    pub spool: Arc<Spool>,
    pub spool_dir: PathBuf,
    pub max_bytes: u64,
    pub grace: Duration,
    pub started: Instant,
}

/// Why the agent is not ready; empty when it is.
fn unready(h: &Health) -> Vec<String> {
    let mut why = Vec::new();
    // Creating a file is what the spool needs of its directory.
    let probe = h.spool_dir.join(".lightbulb-ready-probe");
    match std::fs::write(&probe, b"ok") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) => why.push(format!(
            "the spool directory {} does not take writes: {e}",
            h.spool_dir.display()
        )),
    }
    let connected = h.stats.connected.load(Ordering::Relaxed);
    let full = h.spool.bytes() >= h.max_bytes / 10 * 9;
    if h.started.elapsed() >= h.grace && !connected && full {
        why.push(format!(
            "the collector is unreachable and the spool holds {} of {} bytes",
            h.spool.bytes(),
            h.max_bytes
        ));
    }
    why
}

async fn readyz(State(h): State<Health>) -> Response {
    let why = tokio::task::spawn_blocking({
        let h = h.clone();
        move || unready(&h)
    })
    .await
    .unwrap_or_else(|e| vec![format!("readiness check failed: {e}")]);
    let body = serde_json::json!({
        "ready": why.is_empty(),
        "problems": why,
        "connected": h.stats.connected.load(Ordering::Relaxed),
        "spooled": h.spool.pending(),
        "spool_bytes": h.spool.bytes(),
    });
    let code = if why.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

fn metrics(h: &Health) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let checks: Vec<(String, f64)> = h
        .stats
        .checks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|((t, s), n)| {
            (
                format!("{{service_type=\"{t}\",status=\"{s}\"}}"),
                *n as f64,
            )
        })
        .collect();
    family(
        "lightbulb_agent_checks_total",
        "counter",
        "Checks run, by service type and status.",
        &checks,
    );
    let one = |v: f64| [(String::new(), v)];
    let lag = h.spool.oldest_ms().map_or(0.0, |oldest| {
        (lightbulb_common::time::now_ms() - oldest).max(0) as f64 / 1000.0
    });
    for (name, kind, help, v) in [
        (
            "lightbulb_agent_spool_results",
            "gauge",
            "Results spooled, not yet acknowledged by the collector.",
            h.spool.pending() as f64,
        ),
        (
            "lightbulb_agent_spool_bytes",
            "gauge",
            "Bytes the spool holds on disk.",
            h.spool.bytes() as f64,
        ),
        (
            "lightbulb_agent_spool_max_bytes",
            "gauge",
            "The spool's budget (spool.max_bytes).",
            h.max_bytes as f64,
        ),
        (
            "lightbulb_agent_spool_dropped_total",
            "counter",
            "Results dropped from a full spool.",
            h.spool.dropped() as f64,
        ),
        (
            "lightbulb_agent_spool_corrupt_total",
            "counter",
            "Spooled results found corrupt on disk and skipped.",
            h.spool.corrupt() as f64,
        ),
        (
            "lightbulb_agent_shipper_lag_seconds",
            "gauge",
            "Age of the oldest result not yet acknowledged (0 when none).",
            lag,
        ),
        (
            "lightbulb_agent_connected",
            "gauge",
            "1 while a stream to the collector is open.",
            f64::from(u8::from(h.stats.connected.load(Ordering::Relaxed))),
        ),
        (
            "lightbulb_agent_reconnects_total",
            "counter",
            "Sessions with the collector that ended or failed to open.",
            h.stats.reconnects.load(Ordering::Relaxed) as f64,
        ),
    ] {
        family(name, kind, help, &one(v));
    }
    family(
        "lightbulb_agent_check_runs_skipped_total",
        "counter",
        "Due runs skipped because the check's previous run overran its interval or waited for a slot.",
        &one(h.starts.skipped_total() as f64),
    );
    h.starts.render(&mut out);
    out
}

/// Serves until `shutdown`. A listener that cannot bind is logged and the
/// agent runs on without it: checks matter more than probes.
pub async fn serve(config: HealthConfig, health: Health, shutdown: CancellationToken) {
    if !config.enabled {
        return;
    }
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            error!(listen = %config.listen, error = %e, "cannot open the health listener (health.listen); running without /healthz, /readyz and /metrics");
            return;
        }
    };
    let addr = listener.local_addr().map_or(config.listen, |a| a);
    info!(%addr, "health listening: /healthz /readyz /metrics");
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|State(h): State<Health>| async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    metrics(&h),
                )
            }),
        )
        .with_state(health);
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    {
        error!(error = %e, "health listener stopped");
    }
}
