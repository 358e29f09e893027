//! A JSON object read field by field, so that every error names its field
//! (`scope.labels.team`, `escalation[1].after`): not JSON → 400; a
//! missing, mistyped or unknown field → 422.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::{Error, Result};

/// The fields not yet read, and the path of the object they are in
/// (`condition.`) for error names.
pub struct Body(Map<String, Value>, String);

impl Body {
    pub fn from_map(map: Map<String, Value>) -> Body {
        Body(map, String::new())
    }

    pub fn parse(bytes: &[u8]) -> Result<Body> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Body::from_map(map)),
            Ok(_) => Err(Error::bad_request("the body must be a JSON object")),
            Err(e) => Err(Error::bad_request(format!("the body is not JSON: {e}"))),
        }
    }

    /// `key` as named in errors: with the path of this object.
    pub fn field(&self, key: &str) -> String {
        format!("{}{key}", self.1)
    }

    pub fn string(&mut self, key: &str) -> Result<Option<String>> {
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(Error::invalid(
                &self.field(key),
                format!("must be a string, not {}", kind(&other)),
            )),
        }
    }

    pub fn boolean(&mut self, key: &str) -> Result<Option<bool>> {
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(Error::invalid(
                &self.field(key),
                format!("must be true or false, not {}", kind(&other)),
            )),
        }
    }

    /// A list, each item read by `item` with its name (`key[i]`).
    fn list<T>(
        &mut self,
        key: &str,
        item: impl Fn(Value, String) -> Result<T>,
    ) -> Result<Option<Vec<T>>> {
        let field = self.field(key);
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| item(v, format!("{field}[{i}]")))
                .collect::<Result<_>>()
                .map(Some),
            Some(other) => Err(Error::invalid(
                &field,
                format!("must be a list, not {}", kind(&other)),
            )),
        }
    }

    /// A list of strings.
    pub fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>> {
        self.list(key, |v, field| match v {
            Value::String(s) => Ok(s),
            other => Err(Error::invalid(
                &field,
                format!("must be a string, not {}", kind(&other)),
            )),
        })
    }

    /// A whole number in `range`.
    pub fn integer(
        &mut self,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>> {
        let field = self.field(key);
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_i64().filter(|n| range.contains(n)) {
                Some(n) => Ok(Some(n)),
                None => Err(Error::invalid(
                    &field,
                    format!(
                        "must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )),
            },
            Some(other) => Err(Error::invalid(
                &field,
                format!("must be a number, not {}", kind(&other)),
            )),
        }
    }

    /// Any finite number.
    pub fn number(&mut self, key: &str) -> Result<Option<f64>> {
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_f64().filter(|f| f.is_finite()) {
                Some(f) => Ok(Some(f)),
                None => Err(Error::invalid(&self.field(key), "must be a finite number")),
            },
            Some(other) => Err(Error::invalid(
                &self.field(key),
                format!("must be a number, not {}", kind(&other)),
            )),
        }
    }

    /// A duration (`2m`) in ms, at most `max_ms` (`max` says it in words).
    pub fn duration(&mut self, key: &str, max_ms: i64, max: &str) -> Result<Option<i64>> {
        let field = self.field(key);
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        let ms = lightbulb_common::time::parse_duration(&text)
            .map_err(|e| Error::invalid(&field, e))?
            .as_millis() as i64;
        if ms > max_ms {
            return Err(Error::invalid(&field, format!("must be at most {max}")));
        }
        Ok(Some(ms))
    }

    /// The fields not yet read.
    pub fn keys(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    /// An object whose fields are named `prefix.field` in errors.
    pub fn nested(map: Map<String, Value>, prefix: &str) -> Body {
        Body(map, format!("{prefix}."))
    }

    /// A list of objects, their fields named `key[i].field` in errors.
    pub fn objects(&mut self, key: &str) -> Result<Option<Vec<Body>>> {
        self.list(key, |v, field| match v {
            Value::Object(map) => Ok(Body(map, format!("{field}."))),
            other => Err(Error::invalid(
                &field,
                format!("must be an object, not {}", kind(&other)),
            )),
        })
    }

    /// A nested object, its fields named `key.field` in errors.
    pub fn object(&mut self, key: &str) -> Result<Option<Body>> {
        let field = self.field(key);
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Body(map, format!("{field}.")))),
            Some(other) => Err(Error::invalid(
                &field,
                format!("must be an object, not {}", kind(&other)),
            )),
        }
    }

    /// Any JSON value; `Some(Null)` when the field is given as `null`.
    pub fn json(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key)
    }

    pub fn labels(&mut self, name: &str) -> Result<Option<BTreeMap<String, String>>> {
        let key = &self.field(name);
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    other => Err(Error::invalid(
                        &format!("{key}.{k}"),
                        format!("must be a string, not {}", kind(&other)),
                    )),
                })
                .collect::<Result<_>>()
                .map(Some),
            Some(other) => Err(Error::invalid(
                key,
                format!("must be an object of strings, not {}", kind(&other)),
            )),
        }
    }

    /// Fails on the first field nobody asked for.
    pub fn finish(self) -> Result<()> {
        match self.0.keys().next() {
            Some(key) => Err(Error::invalid(&self.field(key), "unknown field")),
            None => Ok(()),
        }
    }
}

pub fn required<T>(value: Option<T>, field: &str) -> Result<T> {
    value.ok_or_else(|| Error::invalid(field, "is required"))
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
