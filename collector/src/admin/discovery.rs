//! Services an agent discovered (`Discover`): the agent's whole current set
//! replaces what it registered before. They are owned by
//! `discovery:<agent_id>`, labelled `agent_id=<agent_id>` so the fleet
//! assigns them back to that agent, and never take over a service someone
//! else manages.

use lightbulb_proto::v1;
use serde_json::{Map, Value, json};
use tracing::{info, warn};

use super::import::{self, Document};
use super::{Actor, Admin};

/// Applies the agent's set; refused items are reported, the rest applied.
pub async fn sync(
    admin: &Admin,
    agent_id: &str,
    services: Vec<v1::DiscoveredService>,
) -> v1::DiscoverResponse {
    let owner = super::owner::discovery(agent_id);
    let mut out = v1::DiscoverResponse::default();
    let mut doc = Document::default();
    admin.read(|catalog| {
        for s in services {
            let taken = catalog.services.get(&s.service_id).map(|existing| {
                let by = existing.managed_by.as_deref();
                super::owner::may_change("service", &s.service_id, by, Some(&owner))
            });
            if let Some(Err(e)) = taken {
                out.problems.push(e.message);
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
    let now = lightbulb_common::time::now_ms();
    let result = admin
        .change(&Actor(owner.clone()), "discover services", |catalog| {
            let plan = import::plan(catalog, doc, Some(&owner), now);
            if !plan.problems.is_empty() {
                let problems: Vec<String> = plan.problems.iter().map(ToString::to_string).collect();
                return Err(crate::Error::new(
                    crate::ErrorCode::Invalid,
                    problems.join("; "),
                ));
            }
            Ok((plan.changes, (plan.created, plan.updated, plan.deleted)))
        })
        .await;
    match result {
        Ok((created, updated, deleted)) => {
            out.created = created as u32;
            out.updated = updated as u32;
            out.deleted = deleted as u32;
            if created + updated + deleted > 0 {
                info!(%agent_id, created, updated, deleted, "discovered services applied");
            }
        }
        Err(e) => {
            warn!(%agent_id, error = %e.message, "discovered services refused");
            out.problems.push(e.message);
        }
    }
    out
}
