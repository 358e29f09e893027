//! The audit log: every change to the catalog (written with the change by
//! `Registry::commit`), every sign-in and sign-out, every token made or
//! revoked. A record says who, when, from which address, what they asked
//! for, and each object before and after. Both stores keep it
//! (`AuditStore`); `GET /api/audit` reads it; `Registry::revert` undoes a
//! catalog change from it.

use serde::{Deserialize, Serialize};

use crate::{BoxFuture, Result};

/// What kind of object a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Service,
    Relation,
    Token,
    Session,
    AlertRule,
    AlertChannel,
    Alert,
    Silence,
    View,
    PushSubscription,
    /// An AI analysis asked for.
    Analysis,
}

/// One object as it was before and after (`null`: absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ObjectChange {
    pub kind: ObjectKind,
    pub id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// What happened, before it has an id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// `user:alice`, `token:ci`, `local:root`, `file:…`, `discovery:…`, `anonymous`.
    pub actor: String,
    /// The client's address, for requests.
    pub ip: Option<String>,
    /// What was asked for: `create service`, `bulk delete`, `sign in`, `revert 42`.
    pub action: String,
    pub changes: Vec<ObjectChange>,
}

/// A stored entry; ids grow with time.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// Which records to read, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    /// Exactly this actor.
    pub actor: Option<String>,
    /// Records that changed an object with this id.
    pub object: Option<String>,
    /// Exactly this action.
    pub action: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    /// Records matching the query (the page may hold fewer).
    pub total: u64,
}

impl AuditEntry {
    /// The ids of the objects a record touched, and of the services at
    /// either end of a relation it touched, as stored for filtering:
    /// `,rel-1,web,db,` (an id never holds a comma).
    pub fn objects(&self) -> String {
        let mut ids: Vec<&str> = Vec::new();
        for c in &self.changes {
            ids.push(&c.id);
            if c.kind == ObjectKind::Relation {
                for v in [&c.before, &c.after].into_iter().flatten() {
                    for end in ["source_service_id", "target_service_id"] {
                        ids.extend(v.get(end).and_then(|s| s.as_str()));
                    }
                }
            }
        }
        let mut out = String::from(",");
        for (i, id) in ids.iter().enumerate() {
            if !ids[..i].contains(id) {
                out.push_str(id);
                out.push(',');
            }
        }
        out
    }
}

/// Where the audit log is kept; both stores implement it.
pub trait AuditStore: Send + Sync + 'static {
    /// Stores an entry; returns its id.
    fn record_audit(&self, entry: AuditEntry) -> BoxFuture<'static, Result<i64>>;
    fn audit(&self, query: AuditQuery) -> BoxFuture<'_, Result<AuditPage>>;
    fn audit_record(&self, id: i64) -> BoxFuture<'_, Result<Option<AuditRecord>>>;
}
