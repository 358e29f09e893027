//! Rules a service or relation must follow before it is stored. Each error
//! names the field (`status_config.url`) and says why.

use lightbulb_common::spec::CheckSpec;
use lightbulb_common::{ServiceType, validate_service_id};

use crate::store::catalog::{Catalog, RelationDef, ServiceDef};
use crate::{Error, ErrorCode, Result};

pub const RELATION_TYPES: [&str; 3] = ["dependency", "communication", "data-flow"];

/// What an `application` does when a dependency FAILS (its `status_config`).
pub const ON_DEPENDENCY_FAILED: [&str; 2] = ["degraded", "failed"];

pub fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error {
        field: Some(field.to_string()),
        ..Error::new(ErrorCode::Invalid, message)
    }
}

pub fn service(s: &ServiceDef) -> Result<()> {
    validate_service_id(&s.service_id).map_err(|e| invalid("service_id", e))?;
    if s.label.is_empty() {
        return Err(invalid("label", "is required"));
    }
    if s.label.trim().is_empty() {
        return Err(invalid("label", "must not be empty"));
    }
    if s.label.chars().count() > 200 {
        return Err(invalid("label", "must be at most 200 characters"));
    }
    if s.service_type.is_empty() {
        return Err(invalid("service_type", "is required"));
    }
    let kind = ServiceType::parse(&s.service_type).ok_or_else(|| {
        invalid(
            "service_type",
            format!(
                "`{}` is not one of temporal_workflow, python_process, api_endpoint, database, kubernetes_pod, application",
                s.service_type
            ),
        )
    })?;
    status_config(kind, &s.status_config)?;
    if !(s.metric_config.is_null() || s.metric_config.is_object()) {
        return Err(invalid("metric_config", "must be an object (or null)"));
    }
    for (k, v) in &s.labels {
        if k.is_empty() || k.len() > 63 || v.len() > 253 {
            return Err(invalid(
                &format!("labels.{k}"),
                "label keys are 1–63 characters and values at most 253",
            ));
        }
    }
    Ok(())
}

/// `status_config` against the schema of the service's check type.
fn status_config(kind: ServiceType, config: &serde_json::Value) -> Result<()> {
    if kind == ServiceType::Application {
        return application(config);
    }
    let field = |key: String| {
        if key.is_empty() {
            "status_config".to_string()
        } else {
            format!("status_config.{key}")
        }
    };
    let (config, _) = crate::fleet::split_schedule(config)
        .map_err(|(key, reason)| invalid(&field(key), reason))?;
    CheckSpec::parse(kind, &config)
        .map(|_| ())
        .map_err(|(key, reason)| invalid(&field(key), reason))
}

fn application(config: &serde_json::Value) -> Result<()> {
    let Some(obj) = config.as_object() else {
        if config.is_null() {
            return Ok(());
        }
        return Err(invalid("status_config", "must be an object"));
    };
    for (key, value) in obj {
        match key.as_str() {
            "on_dependency_failed" => {
                if !value
                    .as_str()
                    .is_some_and(|v| ON_DEPENDENCY_FAILED.contains(&v))
                {
                    return Err(invalid(
                        "status_config.on_dependency_failed",
                        format!("must be one of {ON_DEPENDENCY_FAILED:?}"),
                    ));
                }
            }
            other => {
                return Err(invalid(
                    &format!("status_config.{other}"),
                    "unknown key; an application takes `on_dependency_failed`",
                ));
            }
        }
    }
    Ok(())
}

/// A relation against the catalog it would join (which must not hold it yet
/// under another id with the same ends and type).
pub fn relation(r: &RelationDef, catalog: &Catalog) -> Result<()> {
    relation_alone(r, catalog)?;
    let twin = catalog.relations.values().find(|o| {
        o.relation_id != r.relation_id
            && o.source_service_id == r.source_service_id
            && o.target_service_id == r.target_service_id
            && o.relation_type == r.relation_type
    });
    match twin {
        Some(twin) => Err(twin_error(&twin.relation_id, r)),
        None => Ok(()),
    }
}

/// Another relation with the same ends and type.
pub fn twin_error(twin_id: &str, r: &RelationDef) -> Error {
    Error::new(
        ErrorCode::Conflict,
        format!(
            "relation `{twin_id}` already links {} → {} as {}",
            r.source_service_id, r.target_service_id, r.relation_type
        ),
    )
}

/// The rules a relation keeps on its own: both services exist, they
/// differ, the type is known (not the twin check, which needs the others).
pub fn relation_alone(r: &RelationDef, catalog: &Catalog) -> Result<()> {
    for (field, id) in [
        ("source_service_id", &r.source_service_id),
        ("target_service_id", &r.target_service_id),
    ] {
        if !catalog.services.contains_key(id) {
            return Err(invalid(field, format!("service `{id}` does not exist")));
        }
    }
    if r.source_service_id == r.target_service_id {
        return Err(invalid(
            "target_service_id",
            "a relation needs two different services",
        ));
    }
    if !RELATION_TYPES.contains(&r.relation_type.as_str()) {
        return Err(invalid(
            "relation_type",
            format!("`{}` is not one of {RELATION_TYPES:?}", r.relation_type),
        ));
    }
    Ok(())
}

/// One test per rule, at the catalog level (the HTTP tests check the same
/// rules through the API).
#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::catalog::CatalogChange;

    fn web() -> ServiceDef {
        ServiceDef {
            label: "Web".into(),
            service_type: "api_endpoint".into(),
            status_config: json!({"url": "http://web.internal/health"}),
            ..ServiceDef::new("web", 1)
        }
    }

    /// The field and message of a refusal.
    fn refused(r: Result<()>) -> (String, String) {
        let e = r.expect_err("refused");
        (e.field.unwrap_or_default(), e.message)
    }

    fn with(f: impl FnOnce(&mut ServiceDef)) -> (String, String) {
        let mut s = web();
        f(&mut s);
        refused(service(&s))
    }

    #[test]
    fn a_valid_service_passes() {
        assert!(service(&web()).is_ok());
    }

    #[test]
    fn the_service_id_follows_the_pattern() {
        assert_eq!(with(|s| s.service_id = "Bad_ID".into()).0, "service_id");
    }

    #[test]
    fn a_label_is_required_not_blank_and_short() {
        assert_eq!(
            with(|s| s.label.clear()),
            ("label".into(), "is required".into())
        );
        assert_eq!(with(|s| s.label = " ".into()).1, "must not be empty");
        assert_eq!(
            with(|s| s.label = "x".repeat(201)).1,
            "must be at most 200 characters"
        );
    }

    #[test]
    fn the_service_type_is_required_and_known() {
        assert_eq!(
            with(|s| s.service_type.clear()),
            ("service_type".into(), "is required".into())
        );
        assert!(
            with(|s| s.service_type = "nope".into())
                .1
                .contains("is not one of")
        );
    }

    #[test]
    fn the_status_config_follows_its_types_schema() {
        assert_eq!(
            with(|s| s.status_config = json!({"url": "nope"})).0,
            "status_config.url"
        );
        let app = |config| {
            with(|s| {
                s.service_type = "application".into();
                s.status_config = config;
            })
        };
        assert_eq!(
            app(json!({"on_dependency_failed": "maybe"})).0,
            "status_config.on_dependency_failed"
        );
        assert_eq!(app(json!({"other": 1})).0, "status_config.other");
    }

    #[test]
    fn metric_config_is_an_object_or_null() {
        assert_eq!(with(|s| s.metric_config = json!([1])).0, "metric_config");
    }

    #[test]
    fn agent_labels_have_bounded_keys_and_values() {
        assert_eq!(
            with(|s| {
                s.labels.insert("zone".into(), "x".repeat(254));
            })
            .0,
            "labels.zone"
        );
    }

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        let db = ServiceDef {
            label: "DB".into(),
            ..ServiceDef::new("db", 1)
        };
        c.apply(&[
            CatalogChange::PutService(web()),
            CatalogChange::PutService(db),
        ]);
        c
    }

    fn link(id: &str, from: &str, to: &str, kind: &str) -> RelationDef {
        RelationDef {
            source_service_id: from.into(),
            target_service_id: to.into(),
            relation_type: kind.into(),
            ..RelationDef::new(id, 1)
        }
    }

    #[test]
    fn a_relation_joins_two_different_existing_services_with_a_known_type() {
        let c = catalog();
        assert!(relation(&link("r1", "web", "db", "dependency"), &c).is_ok());
        assert_eq!(
            refused(relation(&link("r1", "web", "ghost", "dependency"), &c)).0,
            "target_service_id"
        );
        assert_eq!(
            refused(relation(&link("r1", "web", "web", "dependency"), &c)).1,
            "a relation needs two different services"
        );
        assert_eq!(
            refused(relation(&link("r1", "web", "db", "likes"), &c)).0,
            "relation_type"
        );
    }

    #[test]
    fn a_second_relation_with_the_same_ends_and_type_is_a_conflict() {
        let mut c = catalog();
        c.apply(&[CatalogChange::PutRelation(link(
            "r1",
            "web",
            "db",
            "dependency",
        ))]);
        let e = relation(&link("r2", "web", "db", "dependency"), &c).expect_err("twin");
        assert_eq!(e.code, ErrorCode::Conflict);
        assert!(
            e.message
                .starts_with("relation `r1` already links web → db"),
            "{}",
            e.message
        );
        assert!(relation(&link("r2", "web", "db", "data-flow"), &c).is_ok());
    }

    #[test]
    fn a_dependency_that_closes_a_cycle_is_a_conflict_naming_it() {
        let mut c = catalog();
        c.apply(&[CatalogChange::PutRelation(link(
            "r1",
            "web",
            "db",
            "dependency",
        ))]);
        let back = [CatalogChange::PutRelation(link(
            "r2",
            "db",
            "web",
            "dependency",
        ))];
        let e = crate::admin::checked(&c, &back).expect_err("cycle");
        assert_eq!(e.code, ErrorCode::Conflict);
        assert!(e.message.contains("db → web → db"), "{}", e.message);
        // Other relation types may go both ways.
        let flow = [CatalogChange::PutRelation(link(
            "r2",
            "db",
            "web",
            "data-flow",
        ))];
        assert!(crate::admin::checked(&c, &flow).is_ok());
    }
}
