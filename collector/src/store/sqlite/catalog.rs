//! Services and relations in SQLite: read whole, changed in the writer's
//! transaction.

use rusqlite::{Connection, Row, Transaction, params};

use super::kind;
use crate::Result;
use crate::catalog::model::{Catalog, CatalogChange, Relation, RelationType, Service, ServiceType};

fn json(v: &serde_json::Value) -> String {
    v.to_string()
}

pub(super) fn apply(tx: &Transaction<'_>, changes: &[CatalogChange]) -> Result<()> {
    for c in changes {
        match c {
            CatalogChange::PutService(s) => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO services (service_id, label, service_type, status_config,
                        metric_config, enabled, labels, managed_by, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    s.service_id,
                    s.label,
                    s.service_type.as_str(),
                    json(&s.status_config),
                    json(&s.metric_config),
                    s.enabled,
                    serde_json::to_string(&s.labels).unwrap_or_default(),
                    s.managed_by,
                    s.created_at_ms,
                    s.updated_at_ms
                ])?;
            }
            CatalogChange::DeleteService(id) => {
                tx.prepare_cached("DELETE FROM services WHERE service_id = ?1")?
                    .execute(params![id])?;
            }
            CatalogChange::PutRelation(r) => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO relations (relation_id, source_service_id, target_service_id,
                        relation_type, enabled, managed_by, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    r.relation_id,
                    r.source_service_id,
                    r.target_service_id,
                    r.relation_type.as_str(),
                    r.enabled,
                    r.managed_by,
                    r.created_at_ms,
                    r.updated_at_ms
                ])?;
            }
            CatalogChange::DeleteRelation(id) => {
                tx.prepare_cached("DELETE FROM relations WHERE relation_id = ?1")?
                    .execute(params![id])?;
            }
        }
    }
    Ok(())
}

fn parse(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or_default()
}

fn service(r: &Row<'_>) -> rusqlite::Result<Service> {
    let labels: String = r.get(6)?;
    Ok(Service {
        service_id: r.get(0)?,
        label: r.get(1)?,
        service_type: kind(r, 2, ServiceType::parse)?,
        status_config: parse(r.get(3)?),
        metric_config: parse(r.get(4)?),
        enabled: r.get(5)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        managed_by: r.get(7)?,
        created_at_ms: r.get(8)?,
        updated_at_ms: r.get(9)?,
    })
}

fn relation(r: &Row<'_>) -> rusqlite::Result<Relation> {
    Ok(Relation {
        relation_id: r.get(0)?,
        source_service_id: r.get(1)?,
        target_service_id: r.get(2)?,
        relation_type: kind(r, 3, RelationType::parse)?,
        enabled: r.get(4)?,
        managed_by: r.get(5)?,
        created_at_ms: r.get(6)?,
        updated_at_ms: r.get(7)?,
    })
}

pub(super) fn read(c: &Connection) -> Result<Catalog> {
    let mut catalog = Catalog::default();
    let mut stmt = c.prepare_cached(
        "SELECT service_id, label, service_type, status_config, metric_config, enabled, labels,
            managed_by, created_at, updated_at FROM services",
    )?;
    for s in stmt.query_map([], service)? {
        let s = s?;
        catalog.services.insert(s.service_id.clone(), s);
    }
    let mut stmt = c.prepare_cached(
        "SELECT relation_id, source_service_id, target_service_id, relation_type, enabled,
            managed_by, created_at, updated_at FROM relations",
    )?;
    for r in stmt.query_map([], relation)? {
        let r = r?;
        catalog.relations.insert(r.relation_id.clone(), r);
    }
    Ok(catalog)
}
