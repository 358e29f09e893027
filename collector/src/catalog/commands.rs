//! The commands that change the catalog one object at a time: create,
//! update and delete a service or a relation, and the bulk actions. Each
//! decides its changes from the catalog as it is inside `Registry::commit`
//! (so "exists" and "unique" cannot race) and returns what it made or a
//! typed error: not found (404), a broken rule (422), or a conflict (409:
//! exists already, owned by a file or discovery, a cycle, relations left).

use super::fields::{RelationPatch, ServicePatch};
use super::model::{Catalog, CatalogChange, Relation, Service};
use super::{Actor, Committed, Registry, checked, owner, validate};
use crate::{Error, Result};

/// What deleting a service removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDeleted {
    pub service_id: String,
    /// Relations deleted with it (`cascade`).
    pub relations: Vec<String>,
}

/// What a bulk action does to each service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Enable,
    Disable,
    Delete { cascade: bool },
}

/// `service `x` not found` and the like.
pub fn not_found(what: &str, id: &str) -> Error {
    Error::not_found(format!("{what} `{id}` not found"))
}

/// A fresh relation id: `rel-` and 16 hex digits.
pub fn new_relation_id() -> String {
    format!("rel-{:016x}", fastrand::u64(..))
}

fn now_after(updated_at_ms: i64) -> i64 {
    lightbulb_common::time::now_ms().max(updated_at_ms)
}

/// A service the API may change (it exists and nobody else owns it).
fn editable_service<'a>(catalog: &'a Catalog, id: &str) -> Result<&'a Service> {
    let s = catalog
        .services
        .get(id)
        .ok_or_else(|| not_found("service", id))?;
    owner::may_change("service", id, s.managed_by.as_deref(), None)?;
    Ok(s)
}

fn editable_relation<'a>(catalog: &'a Catalog, id: &str) -> Result<&'a Relation> {
    let r = catalog
        .relations
        .get(id)
        .ok_or_else(|| not_found("relation", id))?;
    owner::may_change("relation", id, r.managed_by.as_deref(), None)?;
    Ok(r)
}

/// What deleting a service changes: the service and, with `cascade`, every
/// relation naming it (without, such relations are a conflict).
pub fn delete_service(
    catalog: &Catalog,
    service_id: &str,
    cascade: bool,
) -> Result<(Vec<CatalogChange>, ServiceDeleted)> {
    editable_service(catalog, service_id)?;
    let attached: Vec<String> = catalog
        .relations
        .values()
        .filter(|r| r.source_service_id == service_id || r.target_service_id == service_id)
        .map(|r| r.relation_id.clone())
        .collect();
    if !attached.is_empty() && !cascade {
        return Err(Error::conflict(format!(
            "service `{service_id}` has relations {}; delete them first or ask for cascade=true",
            attached.join(", ")
        )));
    }
    let mut changes: Vec<CatalogChange> = attached
        .iter()
        .cloned()
        .map(CatalogChange::DeleteRelation)
        .collect();
    changes.push(CatalogChange::DeleteService(service_id.to_string()));
    let deleted = ServiceDeleted {
        service_id: service_id.to_string(),
        relations: attached,
    };
    Ok((changes, deleted))
}

/// The changes a bulk `action` makes to one service.
fn bulk_changes(catalog: &Catalog, id: &str, action: BulkAction) -> Result<Vec<CatalogChange>> {
    let enabled = match action {
        BulkAction::Enable => true,
        BulkAction::Disable => false,
        BulkAction::Delete { cascade } => {
            return delete_service(catalog, id, cascade).map(|(changes, _)| changes);
        }
    };
    let mut s = editable_service(catalog, id)?.clone();
    s.enabled = enabled;
    s.updated_at_ms = now_after(s.updated_at_ms);
    Ok(vec![CatalogChange::PutService(s)])
}

/// A relation stored as it is, after the rules a relation keeps.
fn put_relation(r: Relation, catalog: &Catalog) -> Result<(Vec<CatalogChange>, Relation)> {
    validate::relation(&r, catalog)?;
    Ok((vec![CatalogChange::PutRelation(r.clone())], r))
}

impl Registry {
    pub async fn create_service(
        &self,
        actor: &Actor,
        service_id: &str,
        fields: ServicePatch,
    ) -> Result<Committed<Service>> {
        let now = lightbulb_common::time::now_ms();
        let s = fields.create(service_id, now)?;
        validate::service(&s)?;
        self.targets.check(&s)?;
        self.commit(actor, "create service", |catalog| {
            if catalog.services.contains_key(&s.service_id) {
                return Err(Error::conflict(format!(
                    "service `{}` already exists",
                    s.service_id
                )));
            }
            Ok((vec![CatalogChange::PutService(s.clone())], s))
        })
        .await
    }

    pub async fn update_service(
        &self,
        actor: &Actor,
        service_id: &str,
        fields: ServicePatch,
    ) -> Result<Committed<Service>> {
        self.commit(actor, "update service", |catalog| {
            let current = editable_service(catalog, service_id)?;
            let mut s = fields.apply(current.clone());
            s.updated_at_ms = now_after(current.updated_at_ms);
            validate::service(&s)?;
            self.targets.check(&s)?;
            Ok((vec![CatalogChange::PutService(s.clone())], s))
        })
        .await
    }

    pub async fn delete_service(
        &self,
        actor: &Actor,
        service_id: &str,
        cascade: bool,
    ) -> Result<Committed<ServiceDeleted>> {
        self.commit(actor, "delete service", |catalog| {
            delete_service(catalog, service_id, cascade)
        })
        .await
    }

    /// Does `action` to each service on its own (each checked, stored and
    /// audited alone); returns, per service, what went wrong.
    pub async fn bulk(
        &self,
        actor: &Actor,
        action: BulkAction,
        ids: Vec<String>,
    ) -> Vec<(String, Result<Committed<()>>)> {
        let what = match action {
            BulkAction::Enable => "bulk enable",
            BulkAction::Disable => "bulk disable",
            BulkAction::Delete { .. } => "bulk delete",
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let done = self
                .commit(actor, what, |c| Ok((bulk_changes(c, &id, action)?, ())))
                .await;
            out.push((id, done));
        }
        out
    }

    pub async fn create_relation(
        &self,
        actor: &Actor,
        fields: RelationPatch,
    ) -> Result<Committed<Relation>> {
        let r = fields.create(&new_relation_id(), lightbulb_common::time::now_ms())?;
        self.commit(actor, "create relation", |c| put_relation(r, c))
            .await
    }

    /// Whether `create_relation` would accept these fields (cycle
    /// included), without storing anything.
    pub fn check_relation(&self, fields: RelationPatch) -> Result<()> {
        let r = fields.create(&new_relation_id(), lightbulb_common::time::now_ms())?;
        self.read(|catalog| {
            validate::relation(&r, catalog)?;
            checked(catalog, &[CatalogChange::PutRelation(r.clone())]).map(drop)
        })
    }

    pub async fn update_relation(
        &self,
        actor: &Actor,
        relation_id: &str,
        fields: RelationPatch,
    ) -> Result<Committed<Relation>> {
        self.commit(actor, "update relation", |c| {
            let current = editable_relation(c, relation_id)?;
            let mut r = fields.apply(current.clone());
            r.updated_at_ms = now_after(current.updated_at_ms);
            put_relation(r, c)
        })
        .await
    }

    pub async fn delete_relation(&self, actor: &Actor, relation_id: &str) -> Result<Committed<()>> {
        self.commit(actor, "delete relation", |c| {
            editable_relation(c, relation_id)?;
            Ok((
                vec![CatalogChange::DeleteRelation(relation_id.to_string())],
                (),
            ))
        })
        .await
    }
}

#[cfg(test)]
mod tests;
