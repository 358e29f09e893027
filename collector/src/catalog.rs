//! The catalog: the services and relations administrators define, with
//! every rule they keep and every way to change them. Where a service is
//!
//! - **created, updated, deleted**: the commands in `commands` (the API,
//!   bulk), `import` (JSON and CSV import), `file` (the catalog file) and
//!   `discovery` (what agents found), each deciding its changes from the
//!   catalog as it is;
//! - **checked**: `fields` (reading input, types), `validate` (one object),
//!   `targets` (no check at a metadata or link-local address),
//!   `owner` (who may change it), `graph` (no dependency cycle, in
//!   `checked` below);
//! - **stored, broadcast, audited**: `Registry::commit`, the one door every
//!   command goes through: the changes are checked against the catalog
//!   they produce, written through `model::CatalogStore`, announced
//!   (`Registry::changed`, `Registry::version`) and audited (the entry
//!   `history::entry` builds is stored with the change).
//!
//! `history` also undoes a change from its audit entry (`Registry::revert`).
//!
//! `derive` rolls an application's status up from its dependencies;
//! `schedule` reads how often a service's check runs.

pub mod body;
pub mod commands;
pub mod csv;
pub mod derive;
pub mod discovery;
pub mod environments;
pub mod fields;
pub mod file;
pub mod graph;
pub mod history;
pub mod import;
pub mod metrics;
pub mod model;
pub mod owner;
pub mod schedule;
pub mod targets;
pub mod validate;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tracing::info;

use self::model::{Catalog, CatalogChange, CatalogStore};
use crate::{Error, Result};

pub use self::commands::{new_relation_id, not_found};

/// Who asked for a change: `user:alice`, `local:admin`, `token:deploy`,
/// `file:/etc/lightbulb/services.toml`, `discovery:node-a`, or `anonymous`
/// while sign-in is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    /// The client's address, for changes made through the API.
    pub ip: Option<String>,
}

impl Actor {
    pub fn named(name: impl Into<String>) -> Actor {
        Actor {
            name: name.into(),
            ip: None,
        }
    }

    pub fn anonymous() -> Actor {
        Actor::named("anonymous")
    }
}

/// What a command did, and the audit entry that records it (`None` when
/// nothing changed). Reads as the outcome itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed<T> {
    pub value: T,
    pub audit_id: Option<i64>,
}

impl<T> std::ops::Deref for Committed<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// The catalog in memory for reads, and the one door for changes.
pub struct Registry {
    store: Arc<dyn CatalogStore>,
    catalog: RwLock<Catalog>,
    /// Where catalog checks may not point.
    targets: targets::Targets,
    /// One change at a time, so each is checked against the catalog it changes.
    writing: tokio::sync::Mutex<()>,
    /// Bumped by every change; what was derived from an older catalog is stale.
    version: AtomicU64,
    /// Woken by every change.
    pub changed: tokio::sync::Notify,
}

impl Registry {
    pub async fn load(store: Arc<dyn CatalogStore>) -> Result<Registry> {
        let catalog = store.catalog().await?;
        info!(
            services = catalog.services.len(),
            relations = catalog.relations.len(),
            "catalog loaded"
        );
        Ok(Registry {
            store,
            catalog: RwLock::new(catalog),
            targets: targets::Targets::default(),
            writing: tokio::sync::Mutex::new(()),
            version: AtomicU64::new(0),
            changed: tokio::sync::Notify::new(),
        })
    }

    /// The same, with these networks denied to checks (`checks.deny_networks`).
    pub fn with_targets(self, targets: targets::Targets) -> Registry {
        Registry { targets, ..self }
    }

    pub fn targets(&self) -> &targets::Targets {
        &self.targets
    }

    /// Changes applied since start.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Reads the current catalog.
    pub fn read<T>(&self, f: impl FnOnce(&Catalog) -> T) -> T {
        f(&self.catalog.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reads the catalog another collector changed and takes it up. The
    /// read waits for this collector's own change in progress, so it never
    /// takes up a catalog older than what this collector just committed.
    pub async fn reload_from(&self, store: &dyn CatalogStore) -> Result<()> {
        let _one_at_a_time = self.writing.lock().await;
        let catalog = store.catalog().await?;
        self.replace(catalog);
        Ok(())
    }

    fn replace(&self, catalog: Catalog) {
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
    /// the catalog they produce, stores, announces and audits them.
    /// `prepare` sees the catalog as it is when the change is made, so
    /// checks done there (exists, unique) cannot race with another change.
    pub async fn commit<T>(
        &self,
        actor: &Actor,
        action: &str,
        prepare: impl FnOnce(&Catalog) -> Result<(Vec<CatalogChange>, T)>,
    ) -> Result<Committed<T>> {
        let _one_at_a_time = self.writing.lock().await;
        let before = self.read(Clone::clone);
        let (changes, value) = prepare(&before)?;
        if changes.is_empty() {
            return Ok(Committed {
                value,
                audit_id: None,
            });
        }
        let after = checked(&before, &changes)?;
        let entry = history::entry(actor, action, &before, &after, &changes);
        let touched = entry.changes.len();
        let id = self.store.change_catalog(changes, entry).await?;
        *self.catalog.write().unwrap_or_else(|e| e.into_inner()) = after;
        self.version.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_waiters();
        info!(target: "lightbulb::audit", actor = %actor.name, action, audit_id = id, objects = touched, "catalog changed");
        Ok(Committed {
            value,
            audit_id: Some(id),
        })
    }
}

/// The catalog `changes` would produce, refused if it breaks a rule the
/// catalog as a whole must keep (no dependency cycle). Changes are stored
/// only through `Registry::commit`; this answers "would it be accepted".
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
        if !r.is_dependency() {
            continue;
        }
        // The search from the target stops on reaching the source, so the
        // new edge itself never takes part in it.
        if let Some(cycle) =
            graph::cycle_through(&edges, &r.source_service_id, &r.target_service_id)
        {
            return Err(Error::conflict(format!(
                "this dependency would close a cycle: {}",
                graph::spell(&cycle)
            )));
        }
    }
    Ok(())
}
