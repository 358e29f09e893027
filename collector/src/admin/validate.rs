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
        code: ErrorCode::Invalid,
        message: message.into(),
        field: Some(field.to_string()),
    }
}

pub fn service(s: &ServiceDef) -> Result<()> {
    validate_service_id(&s.service_id).map_err(|e| invalid("service_id", e))?;
    if s.label.trim().is_empty() {
        return Err(invalid("label", "must not be empty"));
    }
    if s.label.chars().count() > 200 {
        return Err(invalid("label", "must be at most 200 characters"));
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
