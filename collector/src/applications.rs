//! Statuses of `application` services. Whenever a status or the catalog
//! changes, each enabled application is rolled up from its dependencies
//! (`admin::derive`); a changed status is stored as a result of the
//! collector's own (agent id `lightbulb-collector`), so it has history,
//! events and SSE like any checked service.

use std::sync::Arc;

use lightbulb_common::{CheckResult, Metrics, ServiceType, Status};
use tracing::warn;

use crate::Result;
use crate::catalog::derive;
use crate::state::AppState;
use crate::store::{OWN_AGENT_ID, Sequenced, own_seq};

pub async fn run(state: Arc<AppState>) {
    loop {
        // Listen before looking, so a change made meanwhile wakes us again.
        let statuses = state.statuses_changed.notified();
        let catalog = state.catalog.changed.notified();
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
    let statuses = crate::staleness::effective_statuses(state);
    let status_of = |id: &str| statuses.get(id).map_or(Status::Unknown, |l| l.status);
    let derived = state.catalog.read(|c| derive::applications(c, &status_of));
    let now = lightbulb_common::time::now_ms();
    let mut rows = Vec::new();
    for (service_id, (status, message)) in derived {
        let unchanged = statuses
            .get(&service_id)
            .is_some_and(|l| l.status == status && l.message == message);
        if unchanged {
            continue;
        }
        rows.push(Sequenced {
            seq: own_seq(),
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
        let inserted = state.store.insert(OWN_AGENT_ID, rows).await?;
        state.apply(inserted);
    }
    Ok(())
}
