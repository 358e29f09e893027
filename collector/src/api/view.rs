//! Statuses as served by `/api/status` and `/api/status/{id}`. A stored
//! status is shown STOPPED while its catalog entry is disabled, with
//! `caused_by`, the catalog's labels, whether it is a silence mark and when it
//! goes stale; a catalog service no result has arrived for is UNKNOWN,
//! saying who runs it. The whole list is serialized once per change of the
//! statuses or the catalog and gzipped at most once (`StatusBody`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;
use serde::Serialize;

use crate::catalog::graph;
use crate::catalog::model::{Catalog, Service};
use crate::state::AppState;
use crate::store::LatestStatus;

/// One service's current status, as `/api/status` serves it (named
/// `LatestStatus` in the OpenAPI document, as it always was).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = LatestStatus)]
pub struct ServiceStatus {
    pub service_id: String,
    pub service_type: String,
    pub status_code: u8,
    pub status: &'static str,
    pub message: String,
    pub last_check: String,
    pub response_time_ms: Option<f64>,
    pub cpu_usage: Option<f64>,
    pub memory_usage: Option<f64>,
    pub agent_id: String,
    /// Dependencies that are DEGRADED or FAILED while this service is not OK.
    pub caused_by: Vec<String>,
    /// The catalog's display label and agent labels (empty for services
    /// outside the catalog).
    pub label: String,
    pub labels: BTreeMap<String, String>,
    /// UNKNOWN because no result arrived within the grace: the message says
    /// which agent went silent.
    pub silent: bool,
    /// When this result goes stale if no newer one arrives (absent for
    /// statuses the collector derives or that are STOPPED).
    pub stale_at: Option<String>,
}

impl ServiceStatus {
    /// The stored part; the rest is filled by `served`.
    fn stored(s: LatestStatus) -> ServiceStatus {
        ServiceStatus {
            service_id: s.service_id,
            service_type: s.service_type.to_string(),
            status_code: s.status.code(),
            status: s.status.name(),
            message: s.message,
            last_check: lightbulb_common::time::format_iso(s.last_check_ms),
            response_time_ms: s.response_time_ms,
            cpu_usage: s.cpu_usage,
            memory_usage: s.memory_usage,
            agent_id: s.agent_id,
            caused_by: Vec::new(),
            label: String::new(),
            labels: BTreeMap::new(),
            silent: false,
            stale_at: None,
        }
    }
}

/// `/api/status` for one version of the statuses and the catalog.
pub struct StatusBody {
    pub etag: String,
    pub json: Bytes,
    gzip: OnceLock<Bytes>,
    /// The statuses' and the catalog's version it was built from.
    built_from: (u64, u64),
}

impl StatusBody {
    pub fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| {
                use std::io::Write;
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.json.len() / 8),
                    flate2::Compression::fast(),
                );
                let _ = enc.write_all(&self.json);
                Bytes::from(enc.finish().unwrap_or_default())
            })
            .clone()
    }
}

/// The last `/api/status` body built, shared by every request until
/// something changes.
#[derive(Default)]
pub struct StatusView {
    body: RwLock<Option<Arc<StatusBody>>>,
}

impl StatusView {
    /// The current body, built at most once per change.
    pub fn body(&self, state: &AppState) -> Arc<StatusBody> {
        let current = || (state.with_statuses(|_, v| v), state.catalog.version());
        let fresh = |slot: &Option<Arc<StatusBody>>| {
            slot.as_ref().filter(|b| b.built_from == current()).cloned()
        };
        if let Some(body) = fresh(&self.body.read().unwrap_or_else(|e| e.into_inner())) {
            return body;
        }
        // One request builds; the others wait for it here.
        let mut slot = self.body.write().unwrap_or_else(|e| e.into_inner());
        if let Some(body) = fresh(&slot) {
            return body;
        }
        let catalog_version = state.catalog.version();
        let (list, version) = state.with_statuses(|services, version| {
            let list = state.catalog.read(|c| {
                let edges = graph::dependencies(c);
                let mut list: Vec<ServiceStatus> = services
                    .values()
                    .map(|s| served(state, &edges, services, s, c))
                    .collect();
                let waiting = c
                    .services
                    .values()
                    .filter(|d| d.is_checked() && !services.contains_key(&d.service_id));
                list.extend(waiting.map(|d| not_yet_checked(state, d)));
                list.sort_by(|a, b| a.service_id.cmp(&b.service_id));
                list
            });
            (list, version)
        });
        let json = Bytes::from(serde_json::to_vec(&list).unwrap_or_else(|_| b"[]".to_vec()));
        let body = Arc::new(StatusBody {
            etag: format!("\"{}-{version}-{catalog_version}\"", state.started_ms()),
            json,
            gzip: OnceLock::new(),
            built_from: (version, catalog_version),
        });
        *slot = Some(body.clone());
        body
    }
}

/// One service's status as served; UNKNOWN for a catalog service without
/// results yet; `None` for a service nobody knows.
pub fn service(state: &AppState, id: &str) -> Option<ServiceStatus> {
    state.with_statuses(|services, _| {
        state.catalog.read(|c| match services.get(id) {
            Some(s) => Some(served(state, &graph::dependencies(c), services, s, c)),
            None => c
                .services
                .get(id)
                .filter(|d| d.is_checked())
                .map(|d| not_yet_checked(state, d)),
        })
    })
}

/// The status of a catalog service no result has arrived for: UNKNOWN,
/// saying whether any agent runs it.
fn not_yet_checked(state: &AppState, def: &Service) -> ServiceStatus {
    let runners = state.runners(&def.service_id);
    let message = if let Some(agent) = def
        .managed_by
        .as_deref()
        .and_then(|m| m.strip_prefix("agent:"))
    {
        format!(
            "waiting for the first result from agent {agent}, which runs this check from its own configuration"
        )
    } else if def.labels.is_empty() {
        "no agent runs this check: a service without labels is assigned to no agent; \
         give it labels an agent has (every agent has `agent_id`)"
            .to_string()
    } else if runners.is_empty() {
        format!(
            "no connected agent runs this check: no agent's labels include {}",
            serde_json::to_string(&def.labels).unwrap_or_default()
        )
    } else {
        format!("waiting for the first result from {}", runners.join(", "))
    };
    ServiceStatus {
        service_id: def.service_id.clone(),
        service_type: def.service_type.to_string(),
        status_code: lightbulb_common::Status::Unknown.code(),
        status: lightbulb_common::Status::Unknown.name(),
        message,
        last_check: String::new(),
        response_time_ms: None,
        cpu_usage: None,
        memory_usage: None,
        agent_id: String::new(),
        caused_by: Vec::new(),
        label: def.label.clone(),
        labels: def.labels.clone(),
        silent: false,
        stale_at: None,
    }
}

/// A stored status as served: STOPPED while its catalog entry is
/// disabled, with `caused_by`, the catalog's labels, and when it goes stale.
fn served(
    state: &AppState,
    edges: &HashMap<&str, Vec<&str>>,
    all: &BTreeMap<String, LatestStatus>,
    s: &LatestStatus,
    catalog: &Catalog,
) -> ServiceStatus {
    let mut stored = s.clone();
    let def = catalog.services.get(&s.service_id);
    crate::staleness::stop_if_disabled(&mut stored, def);
    let mut out = ServiceStatus::stored(stored);
    out.stale_at = crate::staleness::grace_ms(state, catalog, s)
        .map(|g| lightbulb_common::time::format_iso(s.last_check_ms + g as i64));
    out.silent = s.is_silence();
    out.caused_by = crate::state::impact::caused_by(edges, all, s);
    if let Some(def) = def {
        out.label = def.label.clone();
        out.labels = def.labels.clone();
    }
    out
}
