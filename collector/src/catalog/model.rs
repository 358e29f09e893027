//! What is monitored, as administrators define it: services and the
//! relations between them, with typed kinds. Stores keep it (through
//! `CatalogStore`); the rest of `crate::catalog` checks and changes it.

use std::collections::BTreeMap;

pub use lightbulb_common::ServiceType;
use serde::{Deserialize, Serialize};

/// Agent labels a service is matched by (`key → value`).
pub type Labels = BTreeMap<String, String>;

/// A monitored service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ServiceDef)]
pub struct Service {
    pub service_id: String,
    pub label: String,
    /// `temporal_workflow`, `python_process`, `api_endpoint`, `database`,
    /// `kubernetes_pod` or `application`.
    #[schema(value_type = String)]
    pub service_type: ServiceType,
    /// The check: which target, with which thresholds (schema per type).
    pub status_config: serde_json::Value,
    /// Which metrics to keep or chart; `null` when not set.
    pub metric_config: serde_json::Value,
    pub enabled: bool,
    /// Agents whose labels include all of these run the check.
    #[schema(value_type = BTreeMap<String, String>)]
    pub labels: Labels,
    /// Set when a configuration file owns the service (read-only through the API).
    pub managed_by: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// What a relation says about its two services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelationType {
    /// The source needs the target: its failure explains the source's.
    Dependency,
    Communication,
    DataFlow,
}

impl RelationType {
    pub const ALL: [RelationType; 3] = [
        RelationType::Dependency,
        RelationType::Communication,
        RelationType::DataFlow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RelationType::Dependency => "dependency",
            RelationType::Communication => "communication",
            RelationType::DataFlow => "data-flow",
        }
    }

    pub fn parse(s: &str) -> Option<RelationType> {
        RelationType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for RelationType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A directed relation between two services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = RelationDef)]
pub struct Relation {
    pub relation_id: String,
    pub source_service_id: String,
    pub target_service_id: String,
    /// `dependency`, `communication` or `data-flow`.
    #[schema(value_type = String)]
    pub relation_type: RelationType,
    pub enabled: bool,
    pub managed_by: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Service {
    /// A new, enabled service created at `now_ms`; label and configuration
    /// still to fill.
    pub fn new(service_id: &str, service_type: ServiceType, now_ms: i64) -> Service {
        Service {
            service_id: service_id.to_string(),
            label: String::new(),
            service_type,
            status_config: serde_json::Value::Null,
            metric_config: serde_json::Value::Null,
            enabled: true,
            labels: Labels::new(),
            managed_by: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        }
    }

    /// Whether an agent runs its check (an application's status is derived).
    pub fn is_checked(&self) -> bool {
        self.enabled && self.service_type != ServiceType::Application
    }
}

impl Relation {
    /// A new, enabled relation created at `now_ms`.
    pub fn new(
        relation_id: &str,
        (source, target): (&str, &str),
        relation_type: RelationType,
        now_ms: i64,
    ) -> Relation {
        Relation {
            relation_id: relation_id.to_string(),
            source_service_id: source.to_string(),
            target_service_id: target.to_string(),
            relation_type,
            enabled: true,
            managed_by: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        }
    }

    /// Whether it is an enabled dependency (an edge of the graph status follows).
    pub fn is_dependency(&self) -> bool {
        self.enabled && self.relation_type == RelationType::Dependency
    }
}

/// Everything defined, keyed by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub services: BTreeMap<String, Service>,
    pub relations: BTreeMap<String, Relation>,
}

/// One change to the catalog; a list of them is applied together.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogChange {
    PutService(Service),
    DeleteService(String),
    PutRelation(Relation),
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

pub use crate::BoxFuture;

/// Where the catalog is kept; both stores implement it.
pub trait CatalogStore: Send + Sync + 'static {
    /// Every service and relation defined.
    fn catalog(&self) -> BoxFuture<'_, crate::Result<Catalog>>;
    /// Applies catalog changes in order, together, with the audit entry
    /// that records them: in one transaction where the store has
    /// transactions. Answers the entry's id.
    fn change_catalog(
        &self,
        changes: Vec<CatalogChange>,
        entry: crate::audit::AuditEntry,
    ) -> BoxFuture<'static, crate::Result<i64>>;
    /// Changes whenever anyone changes the catalog, for stores several
    /// collectors share (`None`: only this collector writes it).
    fn catalog_stamp(&self) -> BoxFuture<'_, crate::Result<Option<u64>>> {
        Box::pin(async { Ok(None) })
    }
}
