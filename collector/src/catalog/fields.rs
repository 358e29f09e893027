//! A service's and a relation's fields as given in a request body or an
//! import item, read with `Body` so that every error names its field.

use serde_json::Value;

use crate::catalog::model::{Labels, Relation, RelationType, Service, ServiceType};
use crate::{Error, Result};

pub use super::body::{Body, required};

/// The editable fields of a service as given (absent: left as they are).
#[derive(Debug, Default)]
pub struct ServicePatch {
    pub label: Option<String>,
    pub service_type: Option<ServiceType>,
    pub status_config: Option<Value>,
    pub metric_config: Option<Value>,
    pub enabled: Option<bool>,
    pub labels: Option<Labels>,
}

impl ServicePatch {
    pub fn read(body: &mut Body) -> Result<ServicePatch> {
        Ok(ServicePatch {
            label: body.string("label")?,
            service_type: body
                .string("service_type")?
                .map(|t| service_type(&t))
                .transpose()?,
            status_config: body.json("status_config"),
            metric_config: body.json("metric_config"),
            enabled: body.boolean("enabled")?,
            labels: body.labels("labels")?,
        })
    }

    /// `base` with the given fields changed.
    pub fn apply(self, mut base: Service) -> Service {
        if let Some(label) = self.label {
            base.label = label;
        }
        if let Some(kind) = self.service_type {
            base.service_type = kind;
        }
        if let Some(config) = self.status_config {
            base.status_config = config;
        }
        if let Some(config) = self.metric_config {
            base.metric_config = config;
        }
        if let Some(enabled) = self.enabled {
            base.enabled = enabled;
        }
        if let Some(labels) = self.labels {
            base.labels = labels;
        }
        base
    }

    /// A new service with these fields (the type is required).
    pub fn create(self, service_id: &str, now_ms: i64) -> Result<Service> {
        let kind = required(self.service_type, "service_type")?;
        Ok(self.apply(Service::new(service_id, kind, now_ms)))
    }
}

/// The editable fields of a relation as given (absent: left as they are).
#[derive(Debug, Default)]
pub struct RelationPatch {
    pub source_service_id: Option<String>,
    pub target_service_id: Option<String>,
    pub relation_type: Option<RelationType>,
    pub enabled: Option<bool>,
}

impl RelationPatch {
    pub fn read(body: &mut Body) -> Result<RelationPatch> {
        Ok(RelationPatch {
            source_service_id: body.string("source_service_id")?,
            target_service_id: body.string("target_service_id")?,
            relation_type: body
                .string("relation_type")?
                .map(|t| relation_type(&t))
                .transpose()?,
            enabled: body.boolean("enabled")?,
        })
    }

    /// `base` with the given fields changed.
    pub fn apply(self, mut base: Relation) -> Relation {
        if let Some(v) = self.source_service_id {
            base.source_service_id = v;
        }
        if let Some(v) = self.target_service_id {
            base.target_service_id = v;
        }
        if let Some(v) = self.relation_type {
            base.relation_type = v;
        }
        if let Some(v) = self.enabled {
            base.enabled = v;
        }
        base
    }

    /// A new relation with these fields (both ends and the type are required).
    pub fn create(self, relation_id: &str, now_ms: i64) -> Result<Relation> {
        let source = required(self.source_service_id.as_deref(), "source_service_id")?;
        let target = required(self.target_service_id.as_deref(), "target_service_id")?;
        let kind = required(self.relation_type, "relation_type")?;
        let base = Relation::new(relation_id, (source, target), kind, now_ms);
        Ok(RelationPatch {
            enabled: self.enabled,
            ..RelationPatch::default()
        }
        .apply(base))
    }
}

/// A service type by name; the error lists the names there are.
pub fn service_type(name: &str) -> Result<ServiceType> {
    ServiceType::parse(name).ok_or_else(|| {
        Error::invalid(
            "service_type",
            format!(
                "`{name}` is not one of temporal_workflow, python_process, api_endpoint, database, kubernetes_pod, application"
            ),
        )
    })
}

/// A relation type by name; the error lists the names there are.
pub fn relation_type(name: &str) -> Result<RelationType> {
    RelationType::parse(name).ok_or_else(|| {
        let names = RelationType::ALL.map(RelationType::as_str);
        Error::invalid("relation_type", format!("`{name}` is not one of {names:?}"))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(v: Value) -> Body {
        match v {
            Value::Object(map) => Body::from_map(map),
            _ => unreachable!("an object"),
        }
    }

    fn refused<T: std::fmt::Debug>(r: Result<T>) -> (String, String) {
        let e = r.expect_err("refused");
        (e.field().unwrap_or_default().to_string(), e.to_string())
    }

    #[test]
    fn a_new_service_needs_a_known_type() {
        let new = |v| ServicePatch::read(&mut body(v)).and_then(|p| p.create("web", 1));
        assert_eq!(
            refused(new(json!({"label": "Web"}))),
            ("service_type".into(), "is required".into())
        );
        let (field, message) = refused(new(json!({"service_type": "nope"})));
        assert_eq!(field, "service_type");
        assert!(
            message.starts_with("`nope` is not one of temporal_workflow"),
            "{message}"
        );
        let s = new(json!({"service_type": "database", "enabled": false})).unwrap();
        assert_eq!((s.service_type, s.enabled), (ServiceType::Database, false));
    }

    #[test]
    fn a_new_relation_needs_both_ends_and_a_known_type() {
        let new = |v| RelationPatch::read(&mut body(v)).and_then(|p| p.create("rel-1", 1));
        assert_eq!(
            refused(new(
                json!({"source_service_id": "a", "relation_type": "dependency"})
            )),
            ("target_service_id".into(), "is required".into())
        );
        assert_eq!(
            refused(new(
                json!({"source_service_id": "a", "target_service_id": "b", "relation_type": "uses"})
            )),
            (
                "relation_type".into(),
                r#"`uses` is not one of ["dependency", "communication", "data-flow"]"#.into()
            )
        );
        let r = new(json!({"source_service_id": "a", "target_service_id": "b", "relation_type": "data-flow"}))
            .unwrap();
        assert_eq!(r.relation_type, RelationType::DataFlow);
    }

    #[test]
    fn fields_of_the_wrong_kind_or_unknown_are_named() {
        assert_eq!(
            refused(ServicePatch::read(&mut body(json!({"enabled": "yes"})))),
            (
                "enabled".into(),
                "must be true or false, not a string".into()
            )
        );
        assert_eq!(
            refused(ServicePatch::read(&mut body(
                json!({"labels": {"zone": 1}})
            ))),
            (
                "labels.zone".into(),
                "must be a string, not a number".into()
            )
        );
        assert_eq!(
            refused(body(json!({"colour": "red"})).finish()),
            ("colour".into(), "unknown field".into())
        );
    }
}
