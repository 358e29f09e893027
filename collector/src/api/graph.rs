//! `GET /api/graph`: the service map — every service with its current
//! status, and every relation.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use lightbulb_common::Status;
use serde::Serialize;

use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
struct Node {
    service_id: String,
    label: String,
    service_type: String,
    enabled: bool,
    status: &'static str,
    status_code: u8,
    /// False for services that report results but are not in the catalog
    /// (checks defined in an agent's own configuration).
    defined: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Edge {
    relation_id: String,
    source: String,
    target: String,
    relation_type: String,
    enabled: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

#[utoipa::path(get, path = "/api/graph", tag = "status", responses((status = 200, description = "Services with their status, and relations", body = Graph)))]
pub async fn graph(State(state): State<Arc<AppState>>) -> Response {
    let latest = crate::staleness::effective_statuses(&state);
    let graph = state.catalog.read(|catalog| {
        let mut nodes: BTreeMap<&str, Node> = BTreeMap::new();
        for s in catalog.services.values() {
            let status = latest.get(&s.service_id);
            nodes.insert(
                &s.service_id,
                Node {
                    service_id: s.service_id.clone(),
                    label: s.label.clone(),
                    service_type: s.service_type.to_string(),
                    enabled: s.enabled,
                    status: status.map_or("UNKNOWN", |l| l.status.name()),
                    status_code: status.map_or(Status::Unknown.code(), |l| l.status.code()),
                    defined: true,
                },
            );
        }
        for l in latest.values() {
            nodes.entry(&l.service_id).or_insert_with(|| Node {
                service_id: l.service_id.clone(),
                label: l.service_id.clone(),
                service_type: l.service_type.to_string(),
                enabled: true,
                status: l.status.name(),
                status_code: l.status.code(),
                defined: false,
            });
        }
        let nodes: Vec<Node> = nodes.into_values().collect();
        let edges = catalog
            .relations
            .values()
            .map(|r| Edge {
                relation_id: r.relation_id.clone(),
                source: r.source_service_id.clone(),
                target: r.target_service_id.clone(),
                relation_type: r.relation_type.to_string(),
                enabled: r.enabled,
            })
            .collect();
        Graph { nodes, edges }
    });
    axum::Json(graph).into_response()
}
