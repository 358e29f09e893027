//! Silence is not health. A service whose newest result is older than its
//! grace becomes UNKNOWN, with a message naming the silent agent and what
//! it is doing ("disconnected at …", "connected but not reporting this
//! check"); a disabled catalog service is STOPPED.
//!
//! Grace: a check's own `grace` if it has one, else `status.grace_intervals`
//! times the larger of its interval and the agents' heartbeat. The interval
//! comes from the reporting agent's own configuration (sent at
//! registration and stored with the agent), else from the catalog entry,
//! else the default 30 s.
//!
//! Both transitions are stored as results of the collector's own (agent id
//! `lightbulb-collector`), so they are status events like any other: in the
//! history, on SSE, counted in uptime as not up. A newer result from the
//! agent restores the real status at once. The watch runs over the
//! snapshot rebuilt from the store, so after a restart (or on a second
//! collector) a service silent since before is UNKNOWN again at once.

use std::sync::Arc;
use std::time::Duration;

use lightbulb_common::time::{format_iso, format_ms, now_ms};
use lightbulb_common::{CheckResult, Metrics, ServiceType, Status};
use tracing::{info, warn};

use crate::applications::{AGENT_ID, next_seq};
use crate::state::AppState;
use crate::store::catalog::{Catalog, ServiceDef};
use crate::store::{LatestStatus, Sequenced};

/// Longest the watch sleeps between passes.
const MAX_NAP: Duration = Duration::from_secs(1);

/// The grace of a check with `interval_ms` and an explicit `grace_ms` (0:
/// none), given the agents' heartbeat and the configured factor.
pub fn grace_for(interval_ms: u64, grace_ms: u64, heartbeat_ms: u64, factor: u32) -> u64 {
    if grace_ms > 0 {
        grace_ms
    } else {
        u64::from(factor) * interval_ms.max(heartbeat_ms)
    }
}

/// How long `s` may stay the newest result of its service; `None` for
/// rows the collector writes itself (roll-ups, silence and STOPPED marks)
/// and for services not checked (disabled, applications).
pub fn grace_ms(state: &AppState, catalog: &Catalog, s: &LatestStatus) -> Option<u64> {
    if s.agent_id == AGENT_ID || s.service_type == ServiceType::Application.as_str() {
        return None;
    }
    let def = catalog.services.get(&s.service_id);
    if def.is_some_and(|d| !d.enabled) {
        return None;
    }
    let (interval, grace) = state
        .local_cadence(&s.agent_id, &s.service_id)
        .or_else(|| {
            let (_, schedule) = crate::fleet::split_schedule(&def?.status_config).ok()?;
            let ms = |d: Duration| d.as_millis() as u64;
            Some((ms(schedule.interval), schedule.grace.map_or(0, ms)))
        })
        .unwrap_or((crate::fleet::DEFAULT_INTERVAL.as_millis() as u64, 0));
    let heartbeat = state.config.agents.heartbeat.as_millis() as u64;
    Some(grace_for(
        interval,
        grace,
        heartbeat,
        state.config.status.grace_intervals,
    ))
}

/// Whether a stored status is the collector's mark of a silent service.
pub fn is_silence(s: &LatestStatus) -> bool {
    s.agent_id == AGENT_ID
        && s.service_type != ServiceType::Application.as_str()
        && s.status_code == Status::Unknown.code()
}

/// "disabled at …", naming the file or discovery that owns it.
pub fn disabled_message(def: &ServiceDef) -> String {
    let by = def
        .managed_by
        .as_deref()
        .map_or_else(|| "through the API".to_string(), |m| format!("by {m}"));
    format!("disabled {by} at {}", format_iso(def.updated_at_ms))
}

/// Marks silent services UNKNOWN until the collector stops.
pub async fn run(state: Arc<AppState>) {
    loop {
        let nap = match pass(&state, now_ms()).await {
            Ok(nap) => nap,
            Err(e) => {
                warn!(error = %e, "cannot store silence marks; will retry");
                MAX_NAP
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = state.shutdown.cancelled() => return,
        }
    }
}

/// One look at every service: stores an UNKNOWN mark for each whose grace
/// has passed, and says how long until the next one could.
pub async fn pass(state: &AppState, now: i64) -> crate::Result<Duration> {
    let statuses = state.statuses();
    let mut next = MAX_NAP;
    let mut rows = Vec::new();
    state.admin.read(|catalog| {
        for s in statuses.values() {
            let Some(grace) = grace_ms(state, catalog, s) else {
                continue;
            };
            let due = s.last_check_ms + grace as i64;
            if now <= due {
                let wait = Duration::from_millis((due - now + 1) as u64);
                next = next.min(wait);
                continue;
            }
            rows.push(mark(state, s, now, grace));
        }
    });
    if !rows.is_empty() {
        for r in &rows {
            info!(service_id = %r.result.service_id, message = %r.result.message, "service silent; now UNKNOWN");
        }
        let inserted = state.store.insert(AGENT_ID, rows).await?;
        state.apply(inserted);
    }
    Ok(next.max(Duration::from_millis(20)))
}

fn mark(state: &AppState, s: &LatestStatus, now: i64, grace: u64) -> Sequenced {
    let why = state.silence_reason(&s.agent_id, &s.service_id);
    let message = format!("no result for {}; {why}", format_ms(now - s.last_check_ms));
    Sequenced {
        seq: next_seq(),
        result: CheckResult {
            service_id: s.service_id.clone(),
            service_type: ServiceType::parse(&s.service_type).unwrap_or(ServiceType::ApiEndpoint),
            timestamp_ms: now,
            status: Status::Unknown,
            message,
            metrics: Metrics::default(),
            details: serde_json::json!({
                "silent": {
                    "agent_id": s.agent_id,
                    "last_result": format_iso(s.last_check_ms),
                    "last_status": s.status,
                    "grace_ms": grace,
                }
            }),
        },
    }
}

/// A STOPPED mark for a service just disabled.
pub fn stopped_mark(def: &ServiceDef, now: i64) -> Sequenced {
    Sequenced {
        seq: next_seq(),
        result: CheckResult {
            service_id: def.service_id.clone(),
            service_type: ServiceType::parse(&def.service_type).unwrap_or(ServiceType::ApiEndpoint),
            timestamp_ms: now,
            status: Status::Stopped,
            message: disabled_message(def),
            metrics: Metrics::default(),
            details: serde_json::Value::Null,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_is_a_few_intervals_or_heartbeats_whichever_is_longer() {
        // 1 s checks, 5 s heartbeats: three heartbeats.
        assert_eq!(grace_for(1_000, 0, 5_000, 3), 15_000);
        // 30 s checks: three intervals.
        assert_eq!(grace_for(30_000, 0, 5_000, 3), 90_000);
        // The factor is configurable.
        assert_eq!(grace_for(30_000, 0, 5_000, 5), 150_000);
        // A check's own grace wins, even a short one.
        assert_eq!(grace_for(30_000, 4_000, 5_000, 3), 4_000);
    }
}
