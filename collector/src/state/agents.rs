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
    /// When its last stream to this collector ended.
    pub(super) disconnected_ms: Option<i64>,
    /// Checks its last heartbeat said are behind schedule.
    pub(super) late: Vec<LateCheck>,
    /// Its spool as its last heartbeat described it (kept after it leaves).
    pub(super) spool: Option<SpoolStats>,
    /// When its spool was last kept as a capacity sample.
    pub(super) sampled_ms: i64,
}

/// An agent's spool, from its heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpoolStats {
    /// Records waiting for acknowledgement.
    pub depth: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Results dropped from the full spool over its whole life.
    pub dropped_total: u64,
    /// Check time of the oldest waiting result (0: none waiting).
    pub oldest_ms: i64,
    /// When it last dropped results (0: never).
    pub last_drop_ms: i64,
    /// Its budget (0: not reported, an older agent).
    pub max_bytes: u64,
}

/// An agent whose spool dropped results this recently is shown as dropping.
const DROPPING_FOR_MS: i64 = 10 * 60 * 1000;

/// The spool part of `/api/agents`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct SpoolView {
    /// Records (results and gap markers) waiting for acknowledgement.
    pub depth: u64,
    /// Bytes the spool holds on disk.
    pub bytes: u64,
    /// Results dropped because the spool was full, over its whole life.
    pub dropped_total: u64,
    /// Seconds since the oldest waiting result was checked (null: none waiting).
    pub oldest_age: Option<u64>,
    /// When it last dropped results (null: never).
    pub last_drop: Option<String>,
    /// It dropped results within the last ten minutes.
    pub dropping: bool,
}

impl SpoolView {
    fn new(s: &SpoolStats, now_ms: i64) -> SpoolView {
        let positive = |ms: i64| (ms > 0).then_some(ms);
        SpoolView {
            depth: s.depth,
            bytes: s.bytes,
            dropped_total: s.dropped_total,
            oldest_age: positive(s.oldest_ms).map(|ms| (now_ms - ms).max(0) as u64 / 1000),
            last_drop: positive(s.last_drop_ms).map(lightbulb_common::time::format_iso),
            dropping: s.last_drop_ms > 0 && now_ms - s.last_drop_ms <= DROPPING_FOR_MS,
        }
    }
}

impl LiveAgent {
    pub(super) fn new(record: AgentRecord) -> LiveAgent {
        LiveAgent {
            record,
            connections: 0,
            assigned: Vec::new(),
            disconnected_ms: None,
            late: Vec::new(),
            spool: None,
            sampled_ms: 0,
        }
    }
}

/// A check an agent is alive for but not running on time.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct LateCheck {
    pub service_id: String,
    pub late_ms: u64,
    /// `waiting` (no free run slot) or `hung` (a run past its timeout).
    pub reason: String,
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
    /// Checks the agent reports behind their schedule: alive, but not checking.
    pub late_checks: Vec<LateCheck>,
    /// Its spool, as last reported (null until its first heartbeat).
    pub spool: Option<SpoolView>,
}

impl AppState {
    /// Marks an agent connected; the guard marks it disconnected when dropped.
    pub fn agent_connected(self: &Arc<Self>, agent_id: &str) -> ConnectionGuard {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        // An agent streaming without having registered gets a bare record.
        let entry = agents.entry(agent_id.to_string()).or_insert_with(|| {
            LiveAgent::new(AgentRecord {
                agent_id: agent_id.to_string(),
                hostname: String::new(),
                version: String::new(),
                labels: Default::default(),
                local_checks: Vec::new(),
                last_seen_ms: 0,
            })
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
            .or_insert_with(|| LiveAgent::new(record));
        drop(agents);
        // Local checks' cadences decide when their services go stale.
        self.invalidate_body();
    }

    /// Takes an agent's heartbeat: which of its checks are behind schedule,
    /// and its spool.
    /// Keeps what a heartbeat says; the spool sample to store when one is due.
    pub fn agent_heartbeat(
        &self,
        agent_id: &str,
        late: Vec<LateCheck>,
        spool: SpoolStats,
    ) -> Option<crate::insights::capacity::spool::SpoolSample> {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        let a = agents.get_mut(agent_id)?;
        {
            a.late = late;
            if spool.dropped_total > a.spool.map_or(0, |s| s.dropped_total) {
                tracing::warn!(
                    %agent_id,
                    dropped_total = spool.dropped_total,
                    last_drop = %lightbulb_common::time::format_iso(spool.last_drop_ms),
                    "agent's spool was full and dropped results"
                );
            }
            a.spool = Some(spool);
        }
        let now = lightbulb_common::time::now_ms();
        let every = self.config.agents.spool_sample_every.as_millis() as i64;
        if spool.max_bytes == 0 || now - a.sampled_ms < every {
            return None;
        }
        a.sampled_ms = now;
        Some(crate::insights::capacity::spool::SpoolSample {
            ts_ms: now,
            bytes: spool.bytes,
            max_bytes: spool.max_bytes,
        })
    }

    /// Each agent's last reported spool, by agent id.
    pub fn agent_spools(&self) -> Vec<(String, crate::metrics::SpoolSeries)> {
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<_> = agents
            .iter()
            .filter_map(|(id, a)| {
                let s = a.spool?;
                let series = crate::metrics::SpoolSeries {
                    dropped_total: s.dropped_total,
                    depth: s.depth,
                    bytes: s.bytes,
                };
                Some((id.clone(), series))
            })
            .collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list
    }

    /// The interval and grace (ms, 0 when not set) an agent's own
    /// configuration gives `service_id`.
    pub fn local_cadence(&self, agent_id: &str, service_id: &str) -> Option<(u64, u64)> {
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        agents
            .get(agent_id)?
            .record
            .local_checks
            .iter()
            .find(|c| c.service_id == service_id && c.interval_ms > 0)
            .map(|c| (c.interval_ms, c.grace_ms))
    }

    /// What `agent_id` is doing about `service_id`, to say why its service
    /// is silent: "agent node-a disconnected at 12:01:07" and the like.
    pub fn silence_reason(&self, agent_id: &str, service_id: &str) -> String {
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        let clock = |ms: i64| lightbulb_common::time::format_iso(ms);
        let Some(a) = agents.get(agent_id) else {
            return format!("agent {agent_id} is not connected to this collector");
        };
        // Heartbeats come every interval: one missed is worth saying.
        let beat = self.config.agents.heartbeat.as_millis() as i64;
        let talking = lightbulb_common::time::now_ms() - a.record.last_seen_ms <= 2 * beat;
        if self.alive(a) && talking {
            return match a.late.iter().find(|l| l.service_id == service_id) {
                Some(l) => format!(
                    "agent {agent_id} is connected but this check is {} behind its schedule ({})",
                    lightbulb_common::time::format_ms(l.late_ms as i64),
                    l.reason
                ),
                None => format!("agent {agent_id} is connected but not reporting this check"),
            };
        }
        if a.connections > 0 {
            return format!(
                "agent {agent_id} has not been heard from since {} (connection open, no heartbeats)",
                clock(a.record.last_seen_ms)
            );
        }
        match a.disconnected_ms {
            Some(at) => format!("agent {agent_id} disconnected at {}", clock(at)),
            None => format!(
                "agent {agent_id} is not connected (last seen {})",
                clock(a.record.last_seen_ms)
            ),
        }
    }

    /// Records the catalog services sent to an agent.
    pub fn agent_assigned(&self, agent_id: &str, services: Vec<String>) {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = agents.get_mut(agent_id) {
            a.assigned = services;
        }
        drop(agents);
        // Services waiting for a first result now say who runs them.
        self.invalidate_body();
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
        let now = lightbulb_common::time::now_ms();
        let agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<AgentView> = agents
            .values()
            .map(|a| AgentView {
                agent_id: a.record.agent_id.clone(),
                hostname: a.record.hostname.clone(),
                version: a.record.version.clone(),
                labels: a.record.labels.clone(),
                local_checks: a
                    .record
                    .local_checks
                    .iter()
                    .map(|c| c.service_id.clone())
                    .collect(),
                assigned_checks: a.assigned.clone(),
                last_seen: lightbulb_common::time::format_iso(a.record.last_seen_ms),
                connected: self.alive(a),
                late_checks: if self.alive(a) {
                    a.late.clone()
                } else {
                    Vec::new()
                },
                spool: a.spool.as_ref().map(|s| SpoolView::new(s, now)),
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
                if a.connections == 0 {
                    a.disconnected_ms = Some(lightbulb_common::time::now_ms());
                    a.late.clear();
                }
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
