//! What is monitored, as administrators define it: services and the
//! relations between them. Stores keep it; `crate::admin` validates and
//! changes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A monitored service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceDef {
    pub service_id: String,
    pub label: String,
    pub service_type: String,
    /// The check: which target, with which thresholds (schema per type).
    pub status_config: serde_json::Value,
    /// Which metrics to keep or chart; `null` when not set.
    pub metric_config: serde_json::Value,
    pub enabled: bool,
    /// Agents whose labels include all of these run the check.
    pub labels: BTreeMap<String, String>,
    /// Set when a configuration file owns the service (read-only through the API).
    pub managed_by: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A directed relation between two services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RelationDef {
    pub relation_id: String,
    pub source_service_id: String,
    pub target_service_id: String,
    /// `dependency`, `communication` or `data-flow`.
    pub relation_type: String,
    pub enabled: bool,
    pub managed_by: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl ServiceDef {
    /// A new, enabled service created at `now_ms`, its fields still to fill.
    pub fn new(service_id: &str, now_ms: i64) -> ServiceDef {
        ServiceDef {
            enabled: true,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            ..ServiceDef::tombstone(service_id)
        }
    }

    /// An empty record carrying only the id (a store's delete marker).
    pub fn tombstone(service_id: &str) -> ServiceDef {
        ServiceDef {
            service_id: service_id.to_string(),
            label: String::new(),
            service_type: String::new(),
            status_config: serde_json::Value::Null,
            metric_config: serde_json::Value::Null,
            enabled: false,
            labels: BTreeMap::new(),
            managed_by: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }
}

impl RelationDef {
    /// A new, enabled relation created at `now_ms`, its fields still to fill.
    pub fn new(relation_id: &str, now_ms: i64) -> RelationDef {
        RelationDef {
            enabled: true,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            ..RelationDef::tombstone(relation_id)
        }
    }

    /// An empty record carrying only the id (a store's delete marker).
    pub fn tombstone(relation_id: &str) -> RelationDef {
        RelationDef {
            relation_id: relation_id.to_string(),
            source_service_id: String::new(),
            target_service_id: String::new(),
            relation_type: String::new(),
            enabled: false,
            managed_by: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }
}

/// Everything defined, keyed by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub services: BTreeMap<String, ServiceDef>,
    pub relations: BTreeMap<String, RelationDef>,
}

/// One change to the catalog; a list of them is applied together.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogChange {
    PutService(ServiceDef),
    DeleteService(String),
    PutRelation(RelationDef),
    DeleteRelation(String),
}

impl Catalog {
    /// Applies changes in order (what the stores do, for the in-memory copy).
    pub fn apply(&mut self, changes: &[CatalogChange]) {
        for c in changes {
            match c {
                CatalogChange::PutService(s) => {
                    self.services.insert(s.service_id.clone(), s.clone());
                }
                CatalogChange::DeleteService(id) => {
                    self.services.remove(id);
                }
                CatalogChange::PutRelation(r) => {
                    self.relations.insert(r.relation_id.clone(), r.clone());
                }
                CatalogChange::DeleteRelation(id) => {
                    self.relations.remove(id);
                }
            }
        }
    }
}
