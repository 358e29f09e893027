//! The catalog administrators manage (services and relations): an in-memory
//! copy for reads, and `Admin::apply`, the one door every change goes
//! through — validated against the catalog it would produce, stored, then
//! audited (`Admin::audit` is where the audit log hooks in).

pub mod body;
pub mod csv;
pub mod derive;
pub mod discovery;
pub mod file;
pub mod graph;
pub mod import;
pub mod owner;
pub mod validate;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tracing::info;

use crate::store::Store;
use crate::store::catalog::{Catalog, CatalogChange};
use crate::{Error, ErrorCode, Result};

/// What deleting a service changes: the service and, with `cascade`, every
/// relation naming it (without, such relations are a conflict). Returns
/// the changes and the relations deleted.
pub fn delete_service(
    catalog: &Catalog,
    service_id: &str,
    cascade: bool,
) -> Result<(Vec<CatalogChange>, Vec<String>)> {
    let current = catalog
        .services
        .get(service_id)
        .ok_or_else(|| not_found("service", service_id))?;
    owner::may_change("service", service_id, current.managed_by.as_deref(), None)?;
    let attached: Vec<String> = catalog
        .relations
        .values()
        .filter(|r| r.source_service_id == service_id || r.target_service_id == service_id)
        .map(|r| r.relation_id.clone())
        .collect();
    if !attached.is_empty() && !cascade {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!(
                "service `{service_id}` has relations {}; delete them first or ask for cascade=true",
                attached.join(", ")
            ),
        ));
    }
    let mut changes: Vec<CatalogChange> = attached
        .iter()
        .cloned()
        .map(CatalogChange::DeleteRelation)
        .collect();
    changes.push(CatalogChange::DeleteService(service_id.to_string()));
    Ok((changes, attached))
}

/// `service `x` not found` and the like.
pub fn not_found(what: &str, id: &str) -> Error {
    Error::not_found(format!("{what} `{id}` not found"))
}

/// A fresh relation id: `rel-` and 16 hex digits.
pub fn new_relation_id() -> String {
    format!("rel-{:016x}", fastrand::u64(..))
}

/// Who asked for a change. Until sign-in exists every API caller is `api`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    pub fn api() -> Actor {
        Actor("api".into())
    }
}

pub struct Admin {
    store: Arc<dyn Store>,
    catalog: RwLock<Catalog>,
    /// One change at a time, so each is checked against the catalog it changes.
    writing: tokio::sync::Mutex<()>,
    /// Bumped by every change; what was derived from an older catalog is stale.
    version: AtomicU64,
    /// Woken by every change.
    pub changed: tokio::sync::Notify,
}

impl Admin {
    pub async fn load(store: Arc<dyn Store>) -> Result<Admin> {
        let catalog = store.catalog().await?;
        info!(
            services = catalog.services.len(),
            relations = catalog.relations.len(),
            "catalog loaded"
        );
        Ok(Admin {
            store,
            catalog: RwLock::new(catalog),
            writing: tokio::sync::Mutex::new(()),
            version: AtomicU64::new(0),
            changed: tokio::sync::Notify::new(),
        })
    }

    /// Changes applied since start.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Reads the current catalog.
    pub fn read<T>(&self, f: impl FnOnce(&Catalog) -> T) -> T {
        f(&self.catalog.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Takes a catalog another collector changed (read back from the store).
    pub async fn reload(&self, catalog: Catalog) {
        let _one_at_a_time = self.writing.lock().await;
        let mut current = self.catalog.write().unwrap_or_else(|e| e.into_inner());
        if *current == catalog {
            return;
        }
        *current = catalog;
        drop(current);
        self.version.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_waiters();
        info!("catalog changed by another collector; reloaded");
    }

    /// Runs `prepare` on the current catalog to decide the changes, checks
    /// the catalog they produce, stores them and audits them. `prepare` sees
    /// the catalog as it is when the change is made, so checks done there
    /// (exists, unique) cannot race with another change.
    pub async fn change<T>(
        &self,
        actor: &Actor,
        action: &str,
        prepare: impl FnOnce(&Catalog) -> Result<(Vec<CatalogChange>, T)>,
    ) -> Result<T> {
        let _one_at_a_time = self.writing.lock().await;
        let before = self.read(Clone::clone);
        let (changes, out) = prepare(&before)?;
        if changes.is_empty() {
            return Ok(out);
        }
        let after = checked(&before, &changes)?;
        self.store.change_catalog(changes.clone()).await?;
        *self.catalog.write().unwrap_or_else(|e| e.into_inner()) = after;
        self.version.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_waiters();
        self.audit(actor, action, &before, &changes);
        Ok(out)
    }

    /// Every change to the catalog passes here once it is stored, with who
    /// made it, what they asked for, the catalog before and the changes.
    /// The audit log records these; for now they are logged.
    fn audit(&self, actor: &Actor, action: &str, before: &Catalog, changes: &[CatalogChange]) {
        for c in changes {
            let (what, id, existed) = match c {
                CatalogChange::PutService(s) => (
                    "service",
                    s.service_id.as_str(),
                    before.services.contains_key(&s.service_id),
                ),
                CatalogChange::DeleteService(id) => ("service", id.as_str(), true),
                CatalogChange::PutRelation(r) => (
                    "relation",
                    r.relation_id.as_str(),
                    before.relations.contains_key(&r.relation_id),
                ),
                CatalogChange::DeleteRelation(id) => ("relation", id.as_str(), true),
            };
            let verb = match c {
                CatalogChange::DeleteService(_) | CatalogChange::DeleteRelation(_) => "deleted",
                _ if existed => "updated",
                _ => "created",
            };
            info!(target: "lightbulb::audit", actor = %actor.0, action, what, id, verb, "catalog changed");
        }
    }
}

/// The catalog `changes` would produce, refused if it breaks a rule the
/// catalog as a whole must keep (no dependency cycle). Changes are stored
/// only through `Admin::change`; this answers "would it be accepted".
pub fn checked(catalog: &Catalog, changes: &[CatalogChange]) -> Result<Catalog> {
    let mut after = catalog.clone();
    after.apply(changes);
    check_dependencies(&after, changes)?;
    Ok(after)
}

/// Refuses changes that would close a cycle of enabled dependencies,
/// spelling the cycle from the new relation's source. Only a stored or
/// re-enabled dependency adds an edge, so checking those finds every cycle.
fn check_dependencies(after: &Catalog, changes: &[CatalogChange]) -> Result<()> {
    // Many new edges (an import): one linear pass proves there is no cycle;
    // only when there is one is it looked for edge by edge, to name it.
    let new_edges = changes
        .iter()
        .filter(|c| matches!(c, CatalogChange::PutRelation(_)))
        .count();
    if new_edges > 16 && graph::any_cycle(after).is_none() {
        return Ok(());
    }
    let edges = graph::dependencies(after);
    for c in changes {
        let CatalogChange::PutRelation(r) = c else {
            continue;
        };
        if !(r.enabled && r.relation_type == graph::DEPENDENCY) {
            continue;
        }
        // The search from the target stops on reaching the source, so the
        // new edge itself never takes part in it.
        if let Some(cycle) =
            graph::cycle_through(&edges, &r.source_service_id, &r.target_service_id)
        {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!(
                    "this dependency would close a cycle: {}",
                    graph::spell(&cycle)
                ),
            ));
        }
    }
    Ok(())
}
