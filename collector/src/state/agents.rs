//! Agents as the collector sees them: registered, connected (an open stream
//! heard from within three heartbeat intervals), and the checks assigned to them.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::AppState;
use crate::store::AgentRecord;

pub(super) struct LiveAgent {
    pub(super) record: AgentRecord,
    pub(super) connections: u32,
    /// Catalog services last sent to the agent.
    pub(super) assigned: Vec<String>,
}

/// An agent as `/api/agents` shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AgentView {
    pub agent_id: String,
    pub hostname: String,
    pub version: String,
    pub labels: BTreeMap<String, String>,
    pub local_checks: Vec<String>,
    /// Catalog services the collector assigned to it.
    pub assigned_checks: Vec<String>,
    pub last_seen: String,
    pub connected: bool,
}

impl AppState {
    /// Marks an agent connected; the guard marks it disconnected when dropped.
    pub fn agent_connected(self: &Arc<Self>, agent_id: &str) -> ConnectionGuard {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        // An agent streaming without having registered gets a bare record.
        let entry = agents
            .entry(agent_id.to_string())
            .or_insert_with(|| LiveAgent {
                record: AgentRecord {
                    agent_id: agent_id.to_string(),
                    hostname: String::new(),
                    version: String::new(),
                    labels: Default::default(),
                    local_checks: Vec::new(),
                    last_seen_ms: 0,
                },
                connections: 0,
                assigned: Vec::new(),
            });
        entry.record.last_seen_ms = lightbulb_common::time::now_ms();
        entry.connections += 1;
        ConnectionGuard {
            state: self.clone(),
            agent_id: agent_id.to_string(),
        }
    }

    /// Records an agent's registration (persisted) without a stream.
    pub fn agent_registered(&self, record: AgentRecord) {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        agents
            .entry(record.agent_id.clone())
            .and_modify(|a| a.record = record.clone())
            .or_insert(LiveAgent {
                record,
                connections: 0,
                assigned: Vec::new(),
            });
    }

    /// Records the catalog services sent to an agent.
    pub fn agent_assigned(&self, agent_id: &str, services: Vec<String>) {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = agents.get_mut(agent_id) {
            a.assigned = services;
        }
        drop(agents);
        // Services waiting for a first result now say who runs them.
        let mut snap = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        snap.version += 1;
        snap.body = None;
    }

    /// Agents connected now that were assigned `service_id`.
    pub fn runners(&self, service_id: &str) -> Vec<String> {
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        agents
            .values()
            .filter(|a| self.alive(a) && a.assigned.iter().any(|s| s == service_id))
            .map(|a| a.record.agent_id.clone())
            .collect()
    }

    /// Notes contact from an agent (a batch or heartbeat).
    pub fn agent_seen(&self, agent_id: &str) {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = agents.get_mut(agent_id) {
            a.record.last_seen_ms = lightbulb_common::time::now_ms();
        }
    }

    pub fn agents(&self) -> Vec<AgentView> {
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<AgentView> = agents
            .values()
            .map(|a| AgentView {
                agent_id: a.record.agent_id.clone(),
                hostname: a.record.hostname.clone(),
                version: a.record.version.clone(),
                labels: a.record.labels.clone(),
                local_checks: a.record.local_checks.clone(),
                assigned_checks: a.assigned.clone(),
                last_seen: lightbulb_common::time::format_iso(a.record.last_seen_ms),
                connected: self.alive(a),
            })
            .collect();
        list.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        list
    }

    pub fn connected_agents(&self) -> usize {
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        agents.values().filter(|a| self.alive(a)).count()
    }

    /// Connected means an open stream that heard from the agent within three
    /// heartbeat intervals; a half-open connection stops counting after that.
    fn alive(&self, a: &LiveAgent) -> bool {
        let window = 3 * self.config.agents.heartbeat.as_millis() as i64;
        a.connections > 0 && lightbulb_common::time::now_ms() - a.record.last_seen_ms <= window
    }
}

pub struct ConnectionGuard {
    state: Arc<AppState>,
    agent_id: String,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let record = {
            let mut agents = self.state.agents.lock().unwrap_or_else(|e| e.into_inner());
            agents.get_mut(&self.agent_id).map(|a| {
                a.connections = a.connections.saturating_sub(1);
                a.record.clone()
            })
        };
        // Persist when the agent was last seen, so a restart still knows.
        if let Some(record) = record {
            let write = self.state.store.upsert_agent(record);
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    if let Err(e) = write.await {
                        tracing::warn!(error = %e, "cannot record agent last contact");
                    }
                });
            }
        }
    }
}
