//! Statuses of `application` services. Whenever a status or the catalog
//! changes, each enabled application is rolled up from its dependencies
//! (`admin::derive`); a changed status is stored as a result of the
//! collector's own (agent id `lightbulb-collector`), so it has history,
//! events and SSE like any checked service.

use std::sync::Arc;

use lightbulb_common::{CheckResult, Metrics, ServiceType};
use tracing::warn;

use crate::Result;
use crate::admin::derive;
use crate::state::AppState;
use crate::store::Sequenced;

/// The agent id application statuses are stored under.
pub const AGENT_ID: &str = "lightbulb-collector";

/// A seq for a row of the collector's own: from the clock, so seqs keep
/// growing across restarts, with a random tag per process so collectors
/// sharing a store never take one another's (`ms << 20 | tag << 10 | n`).
pub fn next_seq() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    static TAG: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let tag = *TAG.get_or_init(|| fastrand::u64(..1024));
    let now = (lightbulb_common::time::now_ms().max(0) as u64) << 20 | tag << 10;
    let step = |last: u64| Some((last + 1).max(now));
    let last = LAST
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, step)
        .unwrap_or(now);
    (last + 1).max(now)
}

pub async fn run(state: Arc<AppState>) {
    loop {
        // Listen before looking, so a change made meanwhile wakes us again.
        let statuses = state.statuses_changed.notified();
        let catalog = state.admin.changed.notified();
        tokio::pin!(statuses, catalog);
        statuses.as_mut().enable();
        catalog.as_mut().enable();
        if let Err(e) = update(&state).await {
            warn!(error = %e, "cannot store application statuses; will retry on the next change");
        }
        tokio::select! {
            _ = statuses => {}
            _ = catalog => {}
            _ = state.shutdown.cancelled() => return,
        }
    }
}

async fn update(state: &AppState) -> Result<()> {
    let statuses = state.effective_statuses();
    let derived = state.admin.read(|c| derive::applications(c, &statuses));
    let now = lightbulb_common::time::now_ms();
    let mut rows = Vec::new();
    for (service_id, (status, message)) in derived {
        let unchanged = statuses
            .get(&service_id)
            .is_some_and(|l| l.status_code == status.code() && l.message == message);
        if unchanged {
            continue;
        }
        rows.push(Sequenced {
            seq: next_seq(),
            result: CheckResult {
                service_id,
                service_type: ServiceType::Application,
                timestamp_ms: now,
                status,
                message,
                metrics: Metrics::default(),
                details: serde_json::Value::Null,
            },
        });
    }
    if !rows.is_empty() {
        let inserted = state.store.insert(AGENT_ID, rows).await?;
        state.apply(inserted);
    }
    Ok(())
}
