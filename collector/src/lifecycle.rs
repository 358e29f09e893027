//! What catalog changes do to live statuses, whichever door they came
//! through (API, bulk, import, catalog file, discovery, another collector):
//! a deleted service leaves the live views (snapshot, `/api/status`, the
//! map; SSE clients are told to drop it) while its results stay for
//! history; a disabled one gets a STOPPED mark, so the change is a status
//! event with history like any other.

use std::collections::BTreeMap;
use std::sync::Arc;

use lightbulb_common::Status;
use lightbulb_common::time::now_ms;
use tracing::{info, warn};

use crate::catalog::model::Service;
use crate::state::AppState;
use crate::store::OWN_AGENT_ID;

pub async fn run(state: Arc<AppState>) {
    let mut before: BTreeMap<String, Service> = state.catalog.read(|c| c.services.clone());
    loop {
        let changed = state.catalog.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let after = state.catalog.read(|c| c.services.clone());
        if after != before {
            match apply(&state, &before, &after).await {
                Ok(()) => before = after,
                Err(e) => {
                    warn!(error = %e, "cannot record catalog changes in the live statuses; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                        _ = state.shutdown.cancelled() => return,
                    }
                    continue;
                }
            }
        }
        tokio::select! {
            _ = changed => {}
            _ = state.shutdown.cancelled() => return,
        }
    }
}

async fn apply(
    state: &AppState,
    before: &BTreeMap<String, Service>,
    after: &BTreeMap<String, Service>,
) -> crate::Result<()> {
    let now = now_ms();
    for id in before.keys().filter(|id| !after.contains_key(*id)) {
        state.store.remove_service(id, now).await?;
        state.remove_service(id, now);
        info!(service_id = %id, "service deleted; removed from the live statuses");
    }
    let statuses = state.statuses();
    let stopped: Vec<_> = after
        .values()
        .filter(|d| !d.enabled && before.get(&d.service_id).is_some_and(|b| b.enabled))
        // Nothing to stop before a first result.
        .filter(|d| {
            statuses
                .get(&d.service_id)
                .is_some_and(|s| !(s.agent_id == OWN_AGENT_ID && s.status == Status::Stopped))
        })
        .map(|d| crate::staleness::stopped_mark(d, now))
        .collect();
    if !stopped.is_empty() {
        let inserted = state.store.insert(OWN_AGENT_ID, stopped).await?;
        state.apply(inserted);
    }
    Ok(())
}
