//! Which checks run: those of `agent.toml` for as long as the agent runs,
//! and those the collector assigns (`WatchChecks`), started, changed and
//! stopped as the assignment changes. An assigned check with the service id
//! of a local one is ignored.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use lightbulb_proto::v1;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::plan::{CheckConfig, PlannedCheck, plan};
use crate::scheduler::Scheduler;

#[derive(Default)]
pub struct Fleet {
    local: HashSet<String>,
    assigned: HashMap<String, (v1::CheckDefinition, CancellationToken)>,
    /// Whether the first assignment (the one at agent start) was taken up:
    /// checks assigned or changed after it run at once, not spread.
    assigned_once: bool,
}

impl Fleet {
    /// Starts the checks of `agent.toml`.
    pub fn local(&mut self, scheduler: &mut Scheduler, plans: Vec<PlannedCheck>) {
        for p in plans {
            self.local.insert(p.service_id.clone());
            let stop = scheduler.stopper();
            scheduler.start(p, stop);
        }
    }

    /// Makes the assigned checks exactly `defs`: new ones start, changed
    /// ones restart, missing ones stop.
    pub fn assign(&mut self, scheduler: &mut Scheduler, defs: Vec<v1::CheckDefinition>) {
        let soon = std::mem::replace(&mut self.assigned_once, true);
        let wanted: HashSet<String> = defs.iter().map(|d| d.service_id.clone()).collect();
        self.assigned.retain(|id, (_, stop)| {
            let keep = wanted.contains(id);
            if !keep {
                stop.cancel();
                info!(service_id = %id, "check unassigned; stopped");
            }
            keep
        });
        for def in defs {
            if self.local.contains(&def.service_id) {
                warn!(service_id = %def.service_id, "assigned check ignored: agent.toml defines this service");
                continue;
            }
            if self
                .assigned
                .get(&def.service_id)
                .is_some_and(|(d, _)| *d == def)
            {
                continue;
            }
            if let Some((_, stop)) = self.assigned.remove(&def.service_id) {
                stop.cancel();
            }
            match planned(&def) {
                Ok(p) => {
                    let stop = scheduler.stopper();
                    if soon {
                        scheduler.start_soon(p, stop.clone());
                    } else {
                        scheduler.start(p, stop.clone());
                    }
                    self.assigned.insert(def.service_id.clone(), (def, stop));
                }
                Err(problems) => {
                    warn!(service_id = %def.service_id, ?problems, "assigned check refused");
                }
            }
        }
    }
}

/// A check definition from the collector, checked as `agent.toml` entries are.
fn planned(def: &v1::CheckDefinition) -> Result<PlannedCheck, Vec<(String, String)>> {
    let status_config = serde_json::from_str(&def.status_config_json)
        .map_err(|e| vec![("status_config".to_string(), e.to_string())])?;
    plan(&CheckConfig {
        label: None,
        service_id: def.service_id.clone(),
        service_type: def.service_type.clone(),
        interval: Duration::from_millis(u64::from(def.interval_ms)),
        timeout: (def.timeout_ms > 0).then(|| Duration::from_millis(u64::from(def.timeout_ms))),
        grace: None,
        status_config,
    })
}
