//! Services an agent brings: those it discovered (`Discover`), owned by
//! `discovery:<agent_id>` and labelled `agent_id=<agent_id>` so the fleet
//! assigns them back to that agent; and the checks of its own agent.toml
//! (sent at registration), owned by `agent:<agent_id>`, without labels or
//! settings (the agent runs them and keeps their settings, which may hold
//! credentials): they are in the catalog so relations, applications and
//! imports can name them. Each time the agent's whole current set replaces
//! what it registered before, and never takes over a service someone else
//! manages.

use lightbulb_proto::v1;
use serde_json::{Map, Value, json};
use tracing::{info, warn};

use super::import::Document;
use super::{Actor, Registry};

/// Applies the agent's set; refused items are reported, the rest applied.
pub async fn sync(
    registry: &Registry,
    agent_id: &str,
    services: Vec<v1::DiscoveredService>,
) -> v1::DiscoverResponse {
    let owner = super::owner::discovery(agent_id);
    let mut out = v1::DiscoverResponse::default();
    let mut doc = Document::default();
    registry.read(|catalog| {
        for s in services {
            let taken = catalog.services.get(&s.service_id).map(|existing| {
                let by = existing.managed_by.as_deref();
                super::owner::may_change("service", &s.service_id, by, Some(&owner))
            });
            if let Some(Err(e)) = taken {
                out.problems.push(e.to_string());
                continue;
            }
            let config: Value = match serde_json::from_str(&s.status_config_json) {
                Ok(v) => v,
                Err(e) => {
                    out.problems
                        .push(format!("`{}`: status_config: {e}", s.service_id));
                    continue;
                }
            };
            let mut item = Map::new();
            item.insert("service_id".into(), json!(s.service_id));
            item.insert("service_type".into(), json!(s.service_type));
            item.insert("label".into(), json!(s.label));
            item.insert("status_config".into(), config);
            item.insert("labels".into(), json!({"agent_id": agent_id}));
            doc.services.push(item);
        }
    });
    apply(registry, agent_id, &owner, doc, &mut out).await;
    out
}

/// Registers the checks of an agent's own configuration: `(service_id,
/// service_type, label)`.
pub async fn sync_local(
    registry: &Registry,
    agent_id: &str,
    services: Vec<(String, String, String)>,
) -> v1::DiscoverResponse {
    let owner = super::owner::agent(agent_id);
    let mut out = v1::DiscoverResponse::default();
    let mut doc = Document::default();
    registry.read(|catalog| {
        for (id, service_type, label) in services {
            let by = catalog.services.get(&id).map(|s| s.managed_by.as_deref());
            if let Some(Err(e)) =
                by.map(|by| super::owner::may_change("service", &id, by, Some(&owner)))
            {
                out.problems.push(e.to_string());
                continue;
            }
            let label = if label.is_empty() { id.clone() } else { label };
            doc.services.push(
                json!({"service_id": id, "service_type": service_type, "label": label,
                       "status_config": {}, "labels": {}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            );
        }
    });
    apply(registry, agent_id, &owner, doc, &mut out).await;
    out
}

/// Imports `doc` as `owner`'s whole set, counting what changed into `out`.
async fn apply(
    registry: &Registry,
    agent_id: &str,
    owner: &str,
    doc: Document,
    out: &mut v1::DiscoverResponse,
) {
    let actor = Actor::named(owner.to_string());
    let result = registry
        .import(
            &actor,
            "register the agent's services",
            doc,
            Some(owner),
            false,
        )
        .await
        .map_err(|e| e.to_string())
        .and_then(|plan| match plan.problems.is_empty() {
            true => Ok((plan.created, plan.updated, plan.deleted)),
            false => Err(plan
                .problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")),
        });
    match result {
        Ok((created, updated, deleted)) => {
            out.created = created as u32;
            out.updated = updated as u32;
            out.deleted = deleted as u32;
            if created + updated + deleted > 0 {
                info!(%agent_id, %owner, created, updated, deleted, "the agent's services applied");
            }
        }
        Err(e) => {
            warn!(%agent_id, %owner, error = %e, "the agent's services refused");
            out.problems.push(e);
        }
    }
}
