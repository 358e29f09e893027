//! Catalog changes in the audit log: the entry `Registry::commit` stores
//! with every change (each object before and after), and `revert`, which
//! puts back what an entry changed, as a change of its own (so a revert can
//! be reverted: redo).

use serde_json::Value;

use super::model::{Catalog, CatalogChange, Relation, Service};
use super::{Actor, Committed, Registry};
use crate::audit::{AuditEntry, AuditRecord, ObjectChange, ObjectKind};
use crate::{Error, Result};

fn json<T: serde::Serialize>(v: Option<&T>) -> Option<Value> {
    v.map(|v| serde_json::to_value(v).expect("catalog objects serialize"))
}

/// An object of `catalog` as its audit entries show it.
fn object(catalog: &Catalog, kind: ObjectKind, id: &str) -> Option<Value> {
    match kind {
        ObjectKind::Service => json(catalog.services.get(id)),
        ObjectKind::Relation => json(catalog.relations.get(id)),
        ObjectKind::Token
        | ObjectKind::Session
        | ObjectKind::AlertRule
        | ObjectKind::AlertChannel
        | ObjectKind::Alert
        | ObjectKind::Silence
        | ObjectKind::View
        | ObjectKind::PushSubscription
        | ObjectKind::Analysis => None,
    }
}

/// The entry recording `changes`, which turned `before` into `after`.
pub fn entry(
    actor: &Actor,
    action: &str,
    before: &Catalog,
    after: &Catalog,
    changes: &[CatalogChange],
) -> AuditEntry {
    let mut touched: Vec<ObjectChange> = Vec::new();
    for c in changes {
        let (kind, id) = match c {
            CatalogChange::PutService(s) => (ObjectKind::Service, s.service_id.as_str()),
            CatalogChange::DeleteService(id) => (ObjectKind::Service, id.as_str()),
            CatalogChange::PutRelation(r) => (ObjectKind::Relation, r.relation_id.as_str()),
            CatalogChange::DeleteRelation(id) => (ObjectKind::Relation, id.as_str()),
        };
        if touched.iter().any(|t| t.kind == kind && t.id == id) {
            continue;
        }
        touched.push(ObjectChange {
            kind,
            id: id.to_string(),
            before: object(before, kind, id),
            after: object(after, kind, id),
        });
    }
    AuditEntry {
        at_ms: lightbulb_common::time::now_ms(),
        actor: actor.name.clone(),
        ip: actor.ip.clone(),
        action: action.to_string(),
        changes: touched,
    }
}

/// The changes that put back what `record` changed, checked against the
/// catalog as it is: each object must still be as the record left it.
fn undo(catalog: &Catalog, record: &AuditRecord, now_ms: i64) -> Result<Vec<CatalogChange>> {
    let mut out = Vec::new();
    // Backwards: a service comes back before the relations naming it.
    for c in record.entry.changes.iter().rev() {
        if !matches!(c.kind, ObjectKind::Service | ObjectKind::Relation) {
            return Err(Error::conflict(format!(
                "audit entry {} ({}) is not a catalog change; only those can be reverted",
                record.id, record.entry.action
            )));
        }
        if object(catalog, c.kind, &c.id) != c.after {
            return Err(Error::conflict(format!(
                "{} `{}` was changed after audit entry {}; revert the later changes first",
                kind_name(c.kind),
                c.id,
                record.id
            )));
        }
        let restored = c
            .before
            .clone()
            .map(|v| restore(c.kind, v, now_ms))
            .transpose()?;
        out.push(match (c.kind, restored) {
            (_, Some(put)) => put,
            (ObjectKind::Service, None) => CatalogChange::DeleteService(c.id.clone()),
            (_, None) => CatalogChange::DeleteRelation(c.id.clone()),
        });
    }
    Ok(out)
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Service => "service",
        ObjectKind::Relation => "relation",
        ObjectKind::Token => "token",
        ObjectKind::Session => "session",
        ObjectKind::AlertRule => "alert rule",
        ObjectKind::AlertChannel => "alert channel",
        ObjectKind::Alert => "alert",
        ObjectKind::Silence => "silence",
        ObjectKind::View => "view",
        ObjectKind::PushSubscription => "push subscription",
        ObjectKind::Analysis => "AI analysis",
    }
}

/// The earlier version of an object, stamped as changed now.
fn restore(kind: ObjectKind, v: Value, now_ms: i64) -> Result<CatalogChange> {
    let bad =
        |e: serde_json::Error| Error::internal(format!("an audit entry does not read back: {e}"));
    Ok(match kind {
        ObjectKind::Service => {
            let mut s: Service = serde_json::from_value(v).map_err(bad)?;
            s.updated_at_ms = now_ms.max(s.updated_at_ms);
            CatalogChange::PutService(s)
        }
        _ => {
            let mut r: Relation = serde_json::from_value(v).map_err(bad)?;
            r.updated_at_ms = now_ms.max(r.updated_at_ms);
            CatalogChange::PutRelation(r)
        }
    })
}

impl Registry {
    /// Puts back what the audit entry `record` changed, if nothing changed
    /// those objects since (409 otherwise). The revert is audited too.
    pub async fn revert(&self, actor: &Actor, record: &AuditRecord) -> Result<Committed<()>> {
        let action = format!("revert {}", record.id);
        let now = lightbulb_common::time::now_ms();
        self.commit(actor, &action, |catalog| {
            Ok((undo(catalog, record, now)?, ()))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::model::{RelationType, ServiceType};

    fn svc(id: &str) -> Service {
        Service {
            label: id.into(),
            status_config: json!({"url": "http://x.internal"}),
            ..Service::new(id, ServiceType::ApiEndpoint, 1)
        }
    }

    fn record(before: &Catalog, changes: &[CatalogChange]) -> (Catalog, AuditRecord) {
        let mut after = before.clone();
        after.apply(changes);
        let entry = entry(&Actor::named("user:alice"), "test", before, &after, changes);
        (after, AuditRecord { id: 7, entry })
    }

    #[test]
    fn an_entry_holds_each_object_once_before_and_after() {
        let mut c = Catalog::default();
        c.apply(&[
            CatalogChange::PutService(svc("web")),
            CatalogChange::PutService(svc("db")),
        ]);
        let rel = Relation::new("r1", ("web", "db"), RelationType::Dependency, 1);
        c.apply(&[CatalogChange::PutRelation(rel.clone())]);
        let cascade = [
            CatalogChange::DeleteRelation("r1".into()),
            CatalogChange::DeleteService("db".into()),
        ];
        let (_, r) = record(&c, &cascade);
        assert_eq!(r.entry.actor, "user:alice");
        let ids: Vec<(&str, bool, bool)> = r
            .entry
            .changes
            .iter()
            .map(|c| (c.id.as_str(), c.before.is_some(), c.after.is_some()))
            .collect();
        assert_eq!(ids, [("r1", true, false), ("db", true, false)]);
        assert_eq!(r.entry.objects(), ",r1,web,db,", "a relation's ends count");
    }

    #[test]
    fn a_revert_puts_back_the_earlier_versions_in_order() {
        let mut c = Catalog::default();
        c.apply(&[
            CatalogChange::PutService(svc("web")),
            CatalogChange::PutService(svc("db")),
        ]);
        let rel = Relation::new("r1", ("web", "db"), RelationType::Dependency, 1);
        c.apply(&[CatalogChange::PutRelation(rel)]);
        let (after, r) = record(
            &c,
            &[
                CatalogChange::DeleteRelation("r1".into()),
                CatalogChange::DeleteService("db".into()),
            ],
        );
        let back = undo(&after, &r, 50).unwrap();
        assert!(
            matches!(&back[0], CatalogChange::PutService(s) if s.service_id == "db" && s.updated_at_ms == 50)
        );
        assert!(matches!(&back[1], CatalogChange::PutRelation(r) if r.relation_id == "r1"));
        let mut restored = after.clone();
        restored.apply(&back);
        assert_eq!(restored.services.keys().collect::<Vec<_>>(), ["db", "web"]);
        assert!(restored.relations.contains_key("r1"));
    }

    #[test]
    fn a_revert_is_refused_once_a_later_change_touched_the_object() {
        let c = Catalog::default();
        let (mut after, r) = record(&c, &[CatalogChange::PutService(svc("web"))]);
        let mut later = svc("web");
        later.label = "Changed since".into();
        after.apply(&[CatalogChange::PutService(later)]);
        let e = undo(&after, &r, 50).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::Conflict);
        assert_eq!(
            e.to_string(),
            "service `web` was changed after audit entry 7; revert the later changes first"
        );
    }
}
