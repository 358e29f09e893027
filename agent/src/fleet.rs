//! Checks assigned by the collector (`WatchChecks`): started, changed and
//! stopped while the agent runs. Checks from `agent.toml` keep running
//! whatever the collector assigns; an assigned check with the same
//! service id is ignored.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use lightbulb_proto::v1;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::checks;
use crate::config::{CheckConfig, PlannedCheck, plan};
use crate::scheduler::{Lateness, Sink, run_check};

pub struct Scheduler {
    permits: Arc<Semaphore>,
    sink: Sink,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    /// Where each check stands against its schedule (read by heartbeats).
    pub lateness: Lateness,
    local: HashSet<String>,
    assigned: HashMap<String, (v1::CheckDefinition, CancellationToken)>,
}

impl Scheduler {
    pub fn new(max_concurrency: usize, sink: Sink, shutdown: CancellationToken) -> Scheduler {
        Scheduler {
            permits: Arc::new(Semaphore::new(max_concurrency)),
            sink,
            shutdown,
            tasks: JoinSet::new(),
            lateness: Lateness::default(),
            local: HashSet::new(),
            assigned: HashMap::new(),
        }
    }

    fn start(&mut self, plan: PlannedCheck, stop: CancellationToken) {
        info!(service_id = %plan.service_id, service_type = %plan.service_type, interval = ?plan.interval, "check scheduled");
        let check = checks::build(&plan.spec);
        self.tasks.spawn(run_check(
            plan,
            check,
            self.permits.clone(),
            self.sink.clone(),
            self.lateness.clone(),
            stop,
        ));
    }

    /// Starts the checks of `agent.toml`.
    pub fn local(&mut self, plans: Vec<PlannedCheck>) {
        for p in plans {
            self.local.insert(p.service_id.clone());
            let stop = self.shutdown.clone();
            self.start(p, stop);
        }
    }

    /// Makes the assigned checks exactly `defs`: new ones start, changed
    /// ones restart, missing ones stop.
    pub fn assign(&mut self, defs: Vec<v1::CheckDefinition>) {
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
                    let stop = self.shutdown.child_token();
                    self.start(p, stop.clone());
                    self.assigned.insert(def.service_id.clone(), (def, stop));
                }
                Err(problems) => {
                    warn!(service_id = %def.service_id, ?problems, "assigned check refused");
                }
            }
        }
    }

    /// Waits for every check task to end (after shutdown).
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// A check definition from the collector, checked as `agent.toml` entries are.
fn planned(def: &v1::CheckDefinition) -> Result<PlannedCheck, Vec<(String, String)>> {
    let status_config = serde_json::from_str(&def.status_config_json)
        .map_err(|e| vec![("status_config".to_string(), e.to_string())])?;
    plan(&CheckConfig {
        service_id: def.service_id.clone(),
        service_type: def.service_type.clone(),
        interval: Duration::from_millis(u64::from(def.interval_ms)),
        timeout: (def.timeout_ms > 0).then(|| Duration::from_millis(u64::from(def.timeout_ms))),
        grace: None,
        status_config,
    })
}
