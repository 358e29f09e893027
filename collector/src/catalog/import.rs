//! Importing a set of services and relations, all or nothing: every item is
//! checked against the catalog it would produce, every problem is reported,
//! and only a set without problems becomes changes. Also the document
//! format shared by JSON import/export, CSV and configuration files.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

pub use super::csv::{RELATION_COLUMNS, SERVICE_COLUMNS, from_csv, to_csv};
use super::fields::{Body, RelationPatch, ServicePatch};
use super::model::{Catalog, CatalogChange, Relation, RelationType};
use super::targets::Targets;
use super::{Actor, Registry, graph, new_relation_id, validate};
use crate::{ErrorCode, Result};

/// Services and relations as plain objects (fields as the admin API takes them).
#[derive(Debug, Default)]
pub struct Document {
    pub services: Vec<Map<String, Value>>,
    pub relations: Vec<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `services[3]` or `relations[0]`, with the id when there is one.
    pub item: String,
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(key) => write!(f, "{}: key `{key}`: {}", self.item, self.message),
            None => write!(f, "{}: {}", self.item, self.message),
        }
    }
}

#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<CatalogChange>,
    pub created: usize,
    pub updated: usize,
    /// Objects a file managed and no longer lists.
    pub deleted: usize,
    pub problems: Vec<Problem>,
    /// A problem is an object another owner holds: answered 409, as that
    /// change on its own would be.
    pub owned_elsewhere: bool,
}

impl Plan {
    /// The code a refused import answers with: another owner's object is a
    /// conflict (409), as that change on its own would be; else 422.
    pub fn refusal_code(&self) -> ErrorCode {
        if self.owned_elsewhere {
            ErrorCode::Conflict
        } else {
            ErrorCode::Invalid
        }
    }

    /// Counts and keeps a planned change (nothing for an unchanged item),
    /// applying it to the catalog later items are checked against.
    fn record(
        &mut self,
        after: &mut Catalog,
        change: CatalogChange,
        existed: bool,
        unchanged: bool,
    ) {
        if unchanged {
            return;
        }
        if existed {
            self.updated += 1;
        } else {
            self.created += 1;
        }
        after.apply(std::slice::from_ref(&change));
        self.changes.push(change);
    }
}

fn problem(item: String, e: crate::Error) -> Problem {
    Problem {
        item,
        field: e.field().map(str::to_string),
        message: e.to_string(),
    }
}

fn label(kind: &str, i: usize, id: Option<&Value>) -> String {
    match id.and_then(Value::as_str) {
        Some(id) => format!("{kind}[{i}] `{id}`"),
        None => format!("{kind}[{i}]"),
    }
}

/// Plans the import of `doc` into `catalog` for `owner`: the API (`None`)
/// or a configuration file. A file takes over objects the API made, owns
/// what it lists, and deletes what it owned and no longer lists; nobody
/// changes what another file owns.
pub fn plan(
    catalog: &Catalog,
    doc: Document,
    owner: Option<&str>,
    targets: &Targets,
    now_ms: i64,
) -> Plan {
    let mut out = Plan::default();
    let mut after = catalog.clone();
    let mut owned_elsewhere = false;
    let mut may_change = |what: &str, id: &str, field: &str, by: &Option<String>| {
        // Reported as a problem of the item's id; the import as a whole
        // answers 409 for it (`refusal_code`).
        super::owner::may_change(what, id, by.as_deref(), owner).map_err(|e| {
            owned_elsewhere = true;
            crate::Error::invalid(field, e.to_string())
        })
    };
    let mut listed_services = std::collections::HashSet::new();
    let mut listed_relations = std::collections::HashSet::new();
    for (i, mut item) in doc.services.into_iter().enumerate() {
        let name = label("services", i, item.get("service_id"));
        // An agent's own check (as exported): kept as the agent registered
        // it, or held for it until it does, so relations can name it.
        let agents = super::owner::agent_claim(&mut item);
        let id = item.get("service_id").and_then(Value::as_str).unwrap_or("");
        if let (Some(_), Some(held)) = (&agents, after.services.get(id)) {
            listed_services.insert(id.to_string());
            if held.managed_by != agents {
                let by = held.managed_by.as_deref().unwrap_or("the API");
                let why = format!("service `{id}` is managed by {by}");
                out.problems
                    .push(problem(name, crate::Error::invalid("managed_by", why)));
            }
            continue;
        }
        let mut body = Body::from_map(item);
        let made = (|| {
            let id = body
                .string("service_id")?
                .ok_or_else(|| crate::Error::invalid("service_id", "is required"))?;
            listed_services.insert(id.clone());
            let existing = after.services.get(&id).cloned();
            let fields = ServicePatch::read(&mut body)?;
            body.finish()?;
            let mut def = match &existing {
                Some(s) => {
                    may_change("service", &id, "service_id", &s.managed_by)?;
                    fields.apply(s.clone())
                }
                None => fields.create(&id, now_ms)?,
            };
            def.managed_by = agents.clone().or(owner.map(str::to_string));
            validate::service(&def)?;
            targets.check(&def)?;
            if existing.as_ref() != Some(&def) {
                def.updated_at_ms = now_ms.max(def.created_at_ms);
            }
            Ok((def, existing))
        })();
        match made {
            Ok((def, existing)) => {
                let unchanged = existing.as_ref() == Some(&def);
                out.record(
                    &mut after,
                    CatalogChange::PutService(def),
                    existing.is_some(),
                    unchanged,
                );
            }
            Err(e) => out.problems.push(problem(name, e)),
        }
    }
    // Relations by their ends and type: one lookup per item, not a scan.
    type Ends = (String, String, RelationType);
    let ends_of = |r: &Relation| -> Ends {
        (
            r.source_service_id.clone(),
            r.target_service_id.clone(),
            r.relation_type,
        )
    };
    let mut by_ends: HashMap<Ends, String> = after
        .relations
        .values()
        .map(|r| (ends_of(r), r.relation_id.clone()))
        .collect();
    for (i, item) in doc.relations.into_iter().enumerate() {
        let name = label("relations", i, item.get("relation_id"));
        let mut body = Body::from_map(item);
        let made = (|| {
            let given_id = body.string("relation_id")?;
            let fields = RelationPatch::read(&mut body)?;
            body.finish()?;
            let r = fields.create(&new_relation_id(), now_ms)?;
            // The same relation by id, or by its ends and type.
            let existing = given_id
                .as_ref()
                .and_then(|id| after.relations.get(id))
                .or_else(|| {
                    by_ends
                        .get(&ends_of(&r))
                        .and_then(|id| after.relations.get(id))
                })
                .cloned();
            let mut def = match &existing {
                Some(e) => {
                    may_change("relation", &e.relation_id, "relation_id", &e.managed_by)?;
                    Relation {
                        relation_id: e.relation_id.clone(),
                        created_at_ms: e.created_at_ms,
                        updated_at_ms: e.updated_at_ms,
                        ..r
                    }
                }
                None => Relation {
                    relation_id: given_id.unwrap_or(r.relation_id.clone()),
                    ..r
                },
            };
            def.managed_by = owner.map(str::to_string);
            validate::relation_alone(&def, &after)?;
            if let Some(twin) = by_ends.get(&ends_of(&def))
                && *twin != def.relation_id
            {
                return Err(validate::twin_error(twin, &def));
            }
            if existing.as_ref() != Some(&def) {
                def.updated_at_ms = now_ms;
            }
            Ok((def, existing))
        })();
        if let Ok((def, _)) = &made {
            listed_relations.insert(def.relation_id.clone());
        }
        match made {
            Ok((def, existing)) => {
                let unchanged = existing.as_ref() == Some(&def);
                if let Some(old) = &existing {
                    by_ends.remove(&ends_of(old));
                }
                by_ends.insert(ends_of(&def), def.relation_id.clone());
                out.record(
                    &mut after,
                    CatalogChange::PutRelation(def),
                    existing.is_some(),
                    unchanged,
                );
            }
            Err(e) => out.problems.push(problem(name, e)),
        }
    }
    if owner.is_some() {
        let gone_services: Vec<String> = after
            .services
            .values()
            .filter(|s| {
                s.managed_by.as_deref() == owner && !listed_services.contains(&s.service_id)
            })
            .map(|s| s.service_id.clone())
            .collect();
        let gone_relations: Vec<String> = after
            .relations
            .values()
            .filter(|r| {
                (r.managed_by.as_deref() == owner && !listed_relations.contains(&r.relation_id))
                    || gone_services.contains(&r.source_service_id)
                    || gone_services.contains(&r.target_service_id)
            })
            .map(|r| r.relation_id.clone())
            .collect();
        let changes: Vec<CatalogChange> = gone_relations
            .into_iter()
            .map(CatalogChange::DeleteRelation)
            .chain(gone_services.into_iter().map(CatalogChange::DeleteService))
            .collect();
        out.deleted += changes.len();
        after.apply(&changes);
        out.changes.extend(changes);
    }
    if let Some(cycle) = graph::any_cycle(&after) {
        out.problems.push(Problem {
            item: "relations".into(),
            field: None,
            message: format!(
                "the dependencies would form a cycle: {}",
                graph::spell(&cycle)
            ),
        });
    }
    out.owned_elsewhere = owned_elsewhere;
    out
}

impl Registry {
    /// Imports `doc` all or nothing for `owner` (`None`: the API; see
    /// `plan`): stored only when no item has a problem and not `dry_run`.
    /// The plan says what was (or would be) done, or every problem.
    pub async fn import(
        &self,
        actor: &Actor,
        action: &str,
        doc: Document,
        owner: Option<&str>,
        dry_run: bool,
    ) -> Result<super::Committed<Plan>> {
        let now = lightbulb_common::time::now_ms();
        self.commit(actor, action, |catalog| {
            let plan = plan(catalog, doc, owner, &self.targets, now);
            let changes = if dry_run || !plan.problems.is_empty() {
                Vec::new()
            } else {
                plan.changes.clone()
            };
            Ok((changes, plan))
        })
        .await
    }
}

/// The catalog as a document (what export writes and import reads back).
pub fn export(catalog: &Catalog) -> Value {
    let services: Vec<Value> = catalog
        .services
        .values()
        .map(|s| {
            let mut item = serde_json::json!({
                "service_id": s.service_id,
                "label": s.label,
                "service_type": s.service_type,
                "status_config": s.status_config,
                "metric_config": s.metric_config,
                "enabled": s.enabled,
                "labels": s.labels,
            });
            if super::owner::is_agent(s.managed_by.as_deref()) {
                item["managed_by"] = serde_json::json!(s.managed_by);
            }
            item
        })
        .collect();
    let relations: Vec<Value> = catalog
        .relations
        .values()
        .map(|r| {
            serde_json::json!({
                "relation_id": r.relation_id,
                "source_service_id": r.source_service_id,
                "target_service_id": r.target_service_id,
                "relation_type": r.relation_type,
                "enabled": r.enabled,
            })
        })
        .collect();
    serde_json::json!({"services": services, "relations": relations})
}

/// A document from `{"services": [...], "relations": [...]}`.
pub fn from_json(v: Value) -> Result<Document, String> {
    let Value::Object(mut top) = v else {
        return Err("must be an object with `services` and `relations`".into());
    };
    let mut list = |key: &str| -> Result<Vec<Map<String, Value>>, String> {
        match top.remove(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Object(m) => Ok(m),
                    _ => Err(format!("{key}[{i}] must be an object")),
                })
                .collect(),
            Some(_) => Err(format!("`{key}` must be an array")),
        }
    };
    let doc = Document {
        services: list("services")?,
        relations: list("relations")?,
    };
    match top.keys().next() {
        Some(k) => Err(format!(
            "unknown key `{k}`; expected `services` and `relations`"
        )),
        None => Ok(doc),
    }
}

#[cfg(test)]
mod tests;
