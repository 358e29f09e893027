//! Objects (request bodies, import items) read field by field, so every
//! error names its field: not JSON → 400; a missing, mistyped or unknown
//! field → 422.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::admin::validate::invalid;
use crate::store::catalog::{RelationDef, ServiceDef};
use crate::{Error, Result};

pub struct Body(Map<String, Value>);

impl Body {
    pub fn from_map(map: Map<String, Value>) -> Body {
        Body(map)
    }

    pub fn parse(bytes: &[u8]) -> Result<Body> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(Error::new(
                crate::ErrorCode::BadRequest,
                "the body must be a JSON object",
            )),
            Err(e) => Err(Error::new(
                crate::ErrorCode::BadRequest,
                format!("the body is not JSON: {e}"),
            )),
        }
    }

    pub fn string(&mut self, key: &str) -> Result<Option<String>> {
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(invalid(
                key,
                format!("must be a string, not {}", kind(&other)),
            )),
        }
    }

    pub fn boolean(&mut self, key: &str) -> Result<Option<bool>> {
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(invalid(
                key,
                format!("must be true or false, not {}", kind(&other)),
            )),
        }
    }

    /// Any JSON value; `Some(Null)` when the field is given as `null`.
    pub fn json(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key)
    }

    pub fn labels(&mut self, key: &str) -> Result<Option<BTreeMap<String, String>>> {
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    other => Err(invalid(
                        &format!("{key}.{k}"),
                        format!("must be a string, not {}", kind(&other)),
                    )),
                })
                .collect::<Result<_>>()
                .map(Some),
            Some(other) => Err(invalid(
                key,
                format!("must be an object of strings, not {}", kind(&other)),
            )),
        }
    }

    /// Fails on the first field nobody asked for.
    pub fn finish(self) -> Result<()> {
        match self.0.keys().next() {
            Some(key) => Err(invalid(key, "unknown field")),
            None => Ok(()),
        }
    }
}

pub fn required<T>(value: Option<T>, field: &str) -> Result<T> {
    value.ok_or_else(|| invalid(field, "is required"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The editable fields of a service from a body, over `base`.
pub fn service_fields(body: &mut Body, mut base: ServiceDef) -> Result<ServiceDef> {
    if let Some(label) = body.string("label")? {
        base.label = label;
    }
    if let Some(kind) = body.string("service_type")? {
        base.service_type = kind;
    }
    if let Some(config) = body.json("status_config") {
        base.status_config = config;
    }
    if let Some(config) = body.json("metric_config") {
        base.metric_config = config;
    }
    if let Some(enabled) = body.boolean("enabled")? {
        base.enabled = enabled;
    }
    if let Some(labels) = body.labels("labels")? {
        base.labels = labels;
    }
    Ok(base)
}

/// The editable fields of a relation from a body, over `base`.
pub fn relation_fields(mut body: Body, mut base: RelationDef) -> Result<RelationDef> {
    if let Some(v) = body.string("source_service_id")? {
        base.source_service_id = v;
    }
    if let Some(v) = body.string("target_service_id")? {
        base.target_service_id = v;
    }
    if let Some(v) = body.string("relation_type")? {
        base.relation_type = v;
    }
    if let Some(v) = body.boolean("enabled")? {
        base.enabled = v;
    }
    body.finish()?;
    Ok(base)
}
