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

use crate::catalog::model::{Catalog, Service};
use crate::state::AppState;
use crate::store::{LatestStatus, Sequenced};
use crate::store::{OWN_AGENT_ID, own_seq};

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
    if s.agent_id == OWN_AGENT_ID || s.service_type == ServiceType::Application {
        return None;
    }
    if catalog
        .services
        .get(&s.service_id)
        .is_some_and(|d| !d.enabled)
    {
        return None;
    }
    Some(cadence(state, catalog, &s.agent_id, &s.service_id).1)
}

/// A service's interval and grace (ms), as its agent runs it, else as the
/// catalog says, else the defaults.
pub fn cadence(
    state: &AppState,
    catalog: &Catalog,
    agent_id: &str,
    service_id: &str,
) -> (u64, u64) {
    let (interval, grace) = state
        .local_cadence(agent_id, service_id)
        .or_else(|| {
            let def = catalog.services.get(service_id)?;
            let schedule = crate::catalog::schedule::schedule(&def.status_config).ok()?;
            let ms = |d: Duration| d.as_millis() as u64;
            Some((ms(schedule.interval), schedule.grace.map_or(0, ms)))
        })
        .unwrap_or((
            crate::catalog::schedule::DEFAULT_INTERVAL.as_millis() as u64,
            0,
        ));
    let heartbeat = state.config.agents.heartbeat.as_millis() as u64;
    let grace = grace_for(
        interval,
        grace,
        heartbeat,
        state.config.status.grace_intervals,
    );
    (interval, grace)
}

/// "disabled at …", naming the file or discovery that owns it.
pub fn disabled_message(def: &Service) -> String {
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
    state.catalog.read(|catalog| {
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
        let inserted = state.store.insert(OWN_AGENT_ID, rows).await?;
        state.apply(inserted);
    }
    Ok(next.max(Duration::from_millis(20)))
}

fn mark(state: &AppState, s: &LatestStatus, now: i64, grace: u64) -> Sequenced {
    let why = state.silence_reason(&s.agent_id, &s.service_id);
    let message = format!("no result for {}; {why}", format_ms(now - s.last_check_ms));
    let details = serde_json::json!({
        "silent": {
            "agent_id": s.agent_id,
            "last_result": format_iso(s.last_check_ms),
            "last_status": s.status.name(),
            "grace_ms": grace,
        }
    });
    own_result(
        &s.service_id,
        s.service_type,
        now,
        Status::Unknown,
        message,
        details,
    )
}

/// A STOPPED mark for a service just disabled.
pub fn stopped_mark(def: &Service, now: i64) -> Sequenced {
    let message = disabled_message(def);
    own_result(
        &def.service_id,
        def.service_type,
        now,
        Status::Stopped,
        message,
        serde_json::Value::Null,
    )
}

/// A result of the collector's own for a service.
fn own_result(
    service_id: &str,
    service_type: ServiceType,
    now: i64,
    status: Status,
    message: String,
    details: serde_json::Value,
) -> Sequenced {
    Sequenced {
        seq: own_seq(),
        result: CheckResult {
            service_id: service_id.to_string(),
            service_type,
            timestamp_ms: now,
            status,
            message,
            metrics: Metrics::default(),
            details,
        },
    }
}

/// Every service's latest status as it counts: STOPPED while its catalog
/// entry is disabled. What roll-ups and the map judge by.
pub fn effective_statuses(state: &AppState) -> std::collections::BTreeMap<String, LatestStatus> {
    let mut all = state.statuses();
    state.catalog.read(|c| {
        for (id, s) in all.iter_mut() {
            stop_if_disabled(s, c.services.get(id));
        }
    });
    all
}

/// Shows `s` as STOPPED when its catalog entry `def` is disabled, whatever
/// was last stored for it (a local check may still report it).
pub fn stop_if_disabled(s: &mut LatestStatus, def: Option<&Service>) {
    if let Some(def) = def.filter(|d| !d.enabled)
        && s.status != Status::Stopped
    {
        s.status = Status::Stopped;
        s.message = disabled_message(def);
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

    async fn state_with(heartbeat: Duration) -> (Arc<AppState>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::config::CollectorConfig::default();
        config.agents.heartbeat = heartbeat;
        let retention = crate::store::Retention::from_config(&config.store);
        let store =
            crate::store::sqlite::SqliteStore::open(&dir.path().join("lb.db"), retention).unwrap();
        let state = AppState::new(config, Arc::new(store), Default::default())
            .await
            .unwrap();
        (state, dir)
    }

    async fn report(state: &AppState, seq: u64, ts: i64) {
        let result = CheckResult {
            service_id: "web".into(),
            service_type: ServiceType::ApiEndpoint,
            timestamp_ms: ts,
            status: Status::Ok,
            message: "ok".into(),
            metrics: Metrics::default(),
            details: serde_json::Value::Null,
        };
        let inserted = state
            .store
            .insert("node-a", vec![Sequenced { seq, result }])
            .await
            .unwrap();
        state.apply(inserted);
    }

    fn status(state: &AppState) -> (&'static str, String) {
        let s = crate::api::view::service(state, "web").unwrap();
        (s.status, s.message)
    }

    #[tokio::test]
    async fn a_result_goes_stale_after_its_grace_and_a_new_one_restores_it() {
        let (state, _dir) = state_with(Duration::from_secs(5)).await;
        let t0 = now_ms() - 200_000;
        report(&state, 1, t0).await;
        // Unknown cadence: the default 30 s interval, so 90 s.
        // One ms before it goes stale the watch naps as little as it may.
        assert_eq!(
            pass(&state, t0 + 90_000).await.unwrap(),
            Duration::from_millis(20)
        );
        assert_eq!(status(&state).0, "OK");
        pass(&state, t0 + 90_001).await.unwrap();
        let (code, message) = status(&state);
        assert_eq!(code, "UNKNOWN");
        assert!(
            message.starts_with("no result for 1m 30s; agent node-a"),
            "{message}"
        );
        // Marked once: the mark itself never goes stale.
        pass(&state, t0 + 500_000).await.unwrap();
        let history = state
            .store
            .history(crate::store::HistoryQuery {
                service_id: "web".into(),
                from_ms: 0,
                to_ms: now_ms(),
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(history.total, 2);
        report(&state, 2, now_ms()).await;
        assert_eq!(status(&state).0, "OK");
    }

    /// An enabled TCP check of the catalog with `schedule` in its config.
    fn checked(schedule: serde_json::Value) -> Service {
        let mut def = Service::new("web", ServiceType::ApiEndpoint, 0);
        def.status_config = serde_json::json!({"url": "tcp://127.0.0.1:1"});
        for (k, v) in schedule.as_object().unwrap() {
            def.status_config[k] = v.clone();
        }
        def
    }

    async fn put(state: &AppState, def: Service) {
        let change = crate::catalog::model::CatalogChange::PutService(def);
        state
            .catalog
            .commit(&crate::catalog::Actor::anonymous(), "test", |_| {
                Ok((vec![change], ()))
            })
            .await
            .unwrap();
    }

    fn grace(state: &AppState) -> Option<u64> {
        let s = state.statuses().remove("web").unwrap();
        state.catalog.read(|c| grace_ms(state, c, &s))
    }

    #[tokio::test]
    async fn the_grace_follows_the_catalog_interval_and_the_heartbeat() {
        let (state, _dir) = state_with(Duration::from_secs(1)).await;
        let t0 = now_ms() - 200_000;
        report(&state, 1, t0).await;
        assert_eq!(grace(&state), Some(90_000));
        put(&state, checked(serde_json::json!({"interval": "2s"}))).await;
        // Three 2 s intervals (the 1 s heartbeat is shorter).
        assert_eq!(grace(&state), Some(6_000));
        put(
            &state,
            checked(serde_json::json!({"interval": "2s", "grace": "45s"})),
        )
        .await;
        assert_eq!(grace(&state), Some(45_000));
        // Disabled: not judged at all.
        let mut off = checked(serde_json::json!({"interval": "2s"}));
        off.enabled = false;
        put(&state, off).await;
        assert_eq!(grace(&state), None);
        // A slower heartbeat than the interval: three heartbeats.
        let (slow, _dir) = state_with(Duration::from_secs(5)).await;
        report(&slow, 1, t0).await;
        put(&slow, checked(serde_json::json!({"interval": "1s"}))).await;
        assert_eq!(grace(&slow), Some(15_000));
    }
}
