//! Services and relations on ClickHouse: each change inserts a row with a
//! higher version (deletes insert a tombstone); reads keep the newest row
//! per id. Across collectors the newest version wins.

use std::sync::atomic::{AtomicU64, Ordering};

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::ClickHouseStore;
use super::query::{Ch, kind};
use crate::audit::AuditEntry;
use crate::catalog::model::{
    Catalog, CatalogChange, CatalogStore, Relation, RelationType, Service, ServiceType,
};
use crate::{BoxFuture, Result};

#[derive(Debug, Row, Serialize, Deserialize)]
struct ServiceRow {
    service_id: String,
    label: String,
    service_type: String,
    status_config: String,
    metric_config: String,
    enabled: u8,
    labels: String,
    managed_by: String,
    created_at: i64,
    updated_at: i64,
    version: u64,
    deleted: u8,
}

#[derive(Debug, Row, Serialize, Deserialize)]
struct RelationRow {
    relation_id: String,
    source_service_id: String,
    target_service_id: String,
    relation_type: String,
    enabled: u8,
    managed_by: String,
    created_at: i64,
    updated_at: i64,
    version: u64,
    deleted: u8,
}

/// Versions that grow within a collector and roughly with time across them.
#[derive(Default)]
pub(super) struct Versions(AtomicU64);

impl Versions {
    pub fn next(&self) -> u64 {
        let now = lightbulb_common::time::now_ms().max(0) as u64 * 1000;
        let mut prev = self.0.load(Ordering::Acquire);
        loop {
            let v = now.max(prev + 1);
            match self
                .0
                .compare_exchange(prev, v, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return v,
                Err(p) => prev = p,
            }
        }
    }
}

fn service_row(s: &Service, version: u64) -> ServiceRow {
    ServiceRow {
        service_id: s.service_id.clone(),
        label: s.label.clone(),
        service_type: s.service_type.as_str().to_string(),
        status_config: s.status_config.to_string(),
        metric_config: s.metric_config.to_string(),
        enabled: s.enabled.into(),
        labels: serde_json::to_string(&s.labels).unwrap_or_default(),
        managed_by: s.managed_by.clone().unwrap_or_default(),
        created_at: s.created_at_ms,
        updated_at: s.updated_at_ms,
        version,
        deleted: 0,
    }
}

fn relation_row(r: &Relation, version: u64) -> RelationRow {
    RelationRow {
        relation_id: r.relation_id.clone(),
        source_service_id: r.source_service_id.clone(),
        target_service_id: r.target_service_id.clone(),
        relation_type: r.relation_type.as_str().to_string(),
        enabled: r.enabled.into(),
        managed_by: r.managed_by.clone().unwrap_or_default(),
        created_at: r.created_at_ms,
        updated_at: r.updated_at_ms,
        version,
        deleted: 0,
    }
}

fn tombstone_service(id: &str, version: u64) -> ServiceRow {
    ServiceRow {
        service_id: id.to_string(),
        label: String::new(),
        service_type: String::new(),
        status_config: String::new(),
        metric_config: String::new(),
        enabled: 0,
        labels: String::new(),
        managed_by: String::new(),
        created_at: 0,
        updated_at: 0,
        version,
        deleted: 1,
    }
}

fn tombstone_relation(id: &str, version: u64) -> RelationRow {
    RelationRow {
        relation_id: id.to_string(),
        source_service_id: String::new(),
        target_service_id: String::new(),
        relation_type: String::new(),
        enabled: 0,
        managed_by: String::new(),
        created_at: 0,
        updated_at: 0,
        version,
        deleted: 1,
    }
}

/// Writes `changes`, the i-th with `versions[i]`.
pub(super) async fn apply(ch: &Ch, changes: &[CatalogChange], versions: &[u64]) -> Result<()> {
    let mut services = Vec::new();
    let mut relations = Vec::new();
    for (c, &v) in changes.iter().zip(versions) {
        match c {
            CatalogChange::PutService(s) => services.push(service_row(s, v)),
            CatalogChange::DeleteService(id) => services.push(tombstone_service(id, v)),
            CatalogChange::PutRelation(r) => relations.push(relation_row(r, v)),
            CatalogChange::DeleteRelation(id) => relations.push(tombstone_relation(id, v)),
        }
    }
    // Relations last: a relation never names a service not yet stored.
    ch.insert("services", &services).await?;
    ch.insert("relations", &relations).await
}

fn newest(ch: &Ch, table: &str, id: &str) -> String {
    format!(
        "SELECT ?fields FROM {t} WHERE ({id}, version) IN (SELECT {id}, max(version) FROM {t} GROUP BY {id})",
        t = ch.t(table)
    )
}

fn parse(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_default()
}

fn managed(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// The newest version in either table: changes with every catalog change.
pub(super) async fn stamp(ch: &Ch) -> Result<u64> {
    let sql = format!(
        "SELECT toUInt64(greatest((SELECT max(version) FROM {}), (SELECT max(version) FROM {})))",
        ch.t("services"),
        ch.t("relations")
    );
    ch.call("catalog stamp", ch.client.query(&sql).fetch_one())
        .await
}

pub(super) async fn read(ch: &Ch) -> Result<Catalog> {
    let services: Vec<ServiceRow> = ch
        .call(
            "services",
            ch.client
                .query(&newest(ch, "services", "service_id"))
                .fetch_all(),
        )
        .await?;
    let relations: Vec<RelationRow> = ch
        .call(
            "relations",
            ch.client
                .query(&newest(ch, "relations", "relation_id"))
                .fetch_all(),
        )
        .await?;
    let mut catalog = Catalog::default();
    for r in services.into_iter().filter(|r| r.deleted == 0) {
        let s = Service {
            status_config: parse(&r.status_config),
            metric_config: parse(&r.metric_config),
            labels: serde_json::from_str(&r.labels).unwrap_or_default(),
            managed_by: managed(r.managed_by),
            service_type: kind(&r.service_id, &r.service_type, ServiceType::parse)?,
            service_id: r.service_id,
            label: r.label,
            enabled: r.enabled != 0,
            created_at_ms: r.created_at,
            updated_at_ms: r.updated_at,
        };
        catalog.services.insert(s.service_id.clone(), s);
    }
    for r in relations.into_iter().filter(|r| r.deleted == 0) {
        let rel = Relation {
            relation_type: kind(&r.relation_id, &r.relation_type, RelationType::parse)?,
            managed_by: managed(r.managed_by),
            relation_id: r.relation_id,
            source_service_id: r.source_service_id,
            target_service_id: r.target_service_id,
            enabled: r.enabled != 0,
            created_at_ms: r.created_at,
            updated_at_ms: r.updated_at,
        };
        catalog.relations.insert(rel.relation_id.clone(), rel);
    }
    Ok(catalog)
}

impl CatalogStore for ClickHouseStore {
    fn catalog_stamp(&self) -> BoxFuture<'_, Result<Option<u64>>> {
        Box::pin(async move { stamp(&self.ch).await.map(Some) })
    }

    fn catalog(&self) -> BoxFuture<'_, Result<Catalog>> {
        Box::pin(read(&self.ch))
    }

    fn change_catalog(
        &self,
        changes: Vec<CatalogChange>,
        entry: AuditEntry,
    ) -> BoxFuture<'static, Result<i64>> {
        let ch = self.ch.clone();
        // Versions are taken now, in call order, so changes apply in that order.
        let versions: Vec<u64> = changes.iter().map(|_| self.versions.next()).collect();
        let id = self.audit_id();
        Box::pin(async move {
            apply(&ch, &changes, &versions).await?;
            // ClickHouse has no transactions: the entry follows the change.
            super::audit::insert(&ch, id, &entry).await?;
            Ok(id)
        })
    }
}
