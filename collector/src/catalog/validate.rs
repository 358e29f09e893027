//! Rules a service or relation must follow before it is stored. Each error
//! names the field (`status_config.url`) and says why.

use lightbulb_common::spec::CheckSpec;
use lightbulb_common::{ServiceType, validate_service_id};

use crate::catalog::model::{Catalog, Relation, Service};
use crate::{Error, Result};

/// What an `application` does when a dependency FAILS (its `status_config`).
pub const ON_DEPENDENCY_FAILED: [&str; 2] = ["degraded", "failed"];

pub fn service(s: &Service) -> Result<()> {
    validate_service_id(&s.service_id).map_err(|e| Error::invalid("service_id", e))?;
    if s.label.is_empty() {
        return Err(Error::invalid("label", "is required"));
    }
    if s.label.trim().is_empty() {
        return Err(Error::invalid("label", "must not be empty"));
    }
    if s.label.chars().count() > 200 {
        return Err(Error::invalid("label", "must be at most 200 characters"));
    }
    // An agent's own check keeps its settings on the agent.
    if !super::owner::is_agent(s.managed_by.as_deref()) {
        status_config(s.service_type, &s.status_config)?;
    }
    super::metrics::own(&s.metric_config)?;
    for (k, v) in &s.labels {
        if k.is_empty() || k.len() > 63 || v.len() > 253 {
            return Err(Error::invalid(
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
    let (config, _) = super::schedule::split_schedule(config)
        .map_err(|(key, reason)| Error::invalid(&field(key), reason))?;
    CheckSpec::parse_template(kind, &config)
        .map(|_| ())
        .map_err(|(key, reason)| Error::invalid(&field(key), reason))
}

fn application(config: &serde_json::Value) -> Result<()> {
    let Some(obj) = config.as_object() else {
        if config.is_null() {
            return Ok(());
        }
        return Err(Error::invalid("status_config", "must be an object"));
    };
    for (key, value) in obj {
        match key.as_str() {
            "on_dependency_failed" => {
                if !value
                    .as_str()
                    .is_some_and(|v| ON_DEPENDENCY_FAILED.contains(&v))
                {
                    return Err(Error::invalid(
                        "status_config.on_dependency_failed",
                        format!("must be one of {ON_DEPENDENCY_FAILED:?}"),
                    ));
                }
            }
            other => {
                return Err(Error::invalid(
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
pub fn relation(r: &Relation, catalog: &Catalog) -> Result<()> {
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
pub fn twin_error(twin_id: &str, r: &Relation) -> Error {
    Error::conflict(format!(
        "relation `{twin_id}` already links {} → {} as {}",
        r.source_service_id, r.target_service_id, r.relation_type
    ))
}

/// The rules a relation keeps on its own: both services exist, they
/// differ (not the twin check, which needs the others).
pub fn relation_alone(r: &Relation, catalog: &Catalog) -> Result<()> {
    for (field, id) in [
        ("source_service_id", &r.source_service_id),
        ("target_service_id", &r.target_service_id),
    ] {
        if !catalog.services.contains_key(id) {
            return Err(Error::invalid(
                field,
                format!("service `{id}` does not exist"),
            ));
        }
    }
    if r.source_service_id == r.target_service_id {
        return Err(Error::invalid(
            "target_service_id",
            "a relation needs two different services",
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
    use crate::ErrorCode;
    use crate::catalog::model::{CatalogChange, RelationType};

    fn web() -> Service {
        Service {
            label: "Web".into(),
            status_config: json!({"url": "http://web.internal/health"}),
            ..Service::new("web", ServiceType::ApiEndpoint, 1)
        }
    }

    /// The field and message of a refusal.
    fn refused(r: Result<()>) -> (String, String) {
        let e = r.expect_err("refused");
        (e.field().unwrap_or_default().to_string(), e.to_string())
    }

    fn with(f: impl FnOnce(&mut Service)) -> (String, String) {
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
    fn the_status_config_follows_its_types_schema() {
        assert_eq!(
            with(|s| s.status_config = json!({"url": "nope"})).0,
            "status_config.url"
        );
        let app = |config| {
            with(|s| {
                s.service_type = ServiceType::Application;
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
        for bad in [json!(100), json!(0), json!("99.9")] {
            let field = with(|s| s.metric_config = json!({"objective": bad})).0;
            assert_eq!(field, "metric_config.objective");
        }
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
        let db = Service {
            label: "DB".into(),
            ..Service::new("db", ServiceType::Database, 1)
        };
        c.apply(&[
            CatalogChange::PutService(web()),
            CatalogChange::PutService(db),
        ]);
        c
    }

    fn link(id: &str, from: &str, to: &str, kind: &str) -> Relation {
        let kind = RelationType::parse(kind).expect("a relation type");
        Relation::new(id, (from, to), kind, 1)
    }

    #[test]
    fn a_relation_joins_two_different_existing_services() {
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
    }

    /// The catalog with `r1`: web depends on db.
    fn web_needs_db() -> Catalog {
        let mut c = catalog();
        let r1 = link("r1", "web", "db", "dependency");
        c.apply(&[CatalogChange::PutRelation(r1)]);
        c
    }

    #[test]
    fn a_second_relation_with_the_same_ends_and_type_is_a_conflict() {
        let c = web_needs_db();
        let e = relation(&link("r2", "web", "db", "dependency"), &c).expect_err("twin");
        assert_eq!(e.code(), ErrorCode::Conflict);
        assert!(
            e.to_string()
                .starts_with("relation `r1` already links web → db"),
            "{e}"
        );
        assert!(relation(&link("r2", "web", "db", "data-flow"), &c).is_ok());
    }

    #[test]
    fn a_dependency_that_closes_a_cycle_is_a_conflict_naming_it() {
        let c = web_needs_db();
        let back = [CatalogChange::PutRelation(link(
            "r2",
            "db",
            "web",
            "dependency",
        ))];
        let e = crate::catalog::checked(&c, &back).expect_err("cycle");
        assert_eq!(e.code(), ErrorCode::Conflict);
        assert!(e.to_string().contains("db → web → db"), "{e}");
        // Other relation types may go both ways.
        let flow = [CatalogChange::PutRelation(link(
            "r2",
            "db",
            "web",
            "data-flow",
        ))];
        assert!(crate::catalog::checked(&c, &flow).is_ok());
    }
}
