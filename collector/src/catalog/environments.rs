//! The catalog file's formats (TOML, or YAML by its `.yaml`/`.yml` name)
//! and its per-environment overrides: `environments.<name>.<section>.<id>`
//! is merged into the item of `services`, `alert_channels` or
//! `alert_rules` with that id (tables key by key, anything else replaced),
//! for the environment `[catalog] environment` names.
//!
//! ```toml
//! [[services]]
//! service_id = "web"
//! status_config = { url = "http://web.dev.internal/health", interval = "30s" }
//!
//! [environments.prod.services.web]
//! status_config.url = "https://web.prod.internal/health"
//! labels = { zone = "eu" }
//! ```

use std::path::Path;

use serde_json::{Map, Value};

/// The sections an environment may override, with the key naming an item.
const SECTIONS: &[(&str, &str)] = &[
    ("services", "service_id"),
    ("alert_channels", "channel_id"),
    ("alert_rules", "rule_id"),
];

/// The file's text as JSON, parsed by its extension.
pub fn parse(path: &Path, text: &str) -> Result<Value, String> {
    let yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let value: Value = if yaml {
        serde_saphyr::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?
    } else {
        let v: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
        serde_json::to_value(v).map_err(|e| e.to_string())?
    };
    match value {
        Value::Object(_) => Ok(value),
        // An empty YAML file declares nothing.
        Value::Null => Ok(Value::Object(Map::new())),
        _ => Err("must be a table (mapping) of sections".into()),
    }
}

/// Removes `environments` from `doc`, applying the one named (if any).
pub fn select(doc: &mut Value, environment: Option<&str>) -> Result<(), String> {
    let top = doc.as_object_mut().expect("parse returns a table");
    let declared = match top.remove("environments") {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err("`environments` must be a table of environments".into()),
    };
    let Some(name) = environment else {
        return Ok(());
    };
    let Some(env) = declared.get(name) else {
        let names: Vec<&str> = declared.keys().map(String::as_str).collect();
        return Err(format!(
            "environment `{name}` is not declared under `environments` (declared: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    };
    let env = env
        .as_object()
        .ok_or_else(|| format!("environments.{name} must be a table"))?;
    for (section, overrides) in env {
        let at = format!("environments.{name}.{section}");
        let Some((_, id_key)) = SECTIONS.iter().find(|(s, _)| s == section) else {
            return Err(format!(
                "{at}: only services, alert_channels and alert_rules can be overridden"
            ));
        };
        let overrides = overrides
            .as_object()
            .ok_or_else(|| format!("{at} must be a table keyed by {id_key}"))?;
        for (id, patch) in overrides {
            let at = format!("{at}.{id}");
            if !patch.is_object() {
                return Err(format!("{at} must be a table of the fields to change"));
            }
            if patch.get(*id_key).is_some_and(|v| v.as_str() != Some(id)) {
                return Err(format!("{at}: {id_key} may not be changed"));
            }
            let item = top
                .get_mut(section.as_str())
                .and_then(Value::as_array_mut)
                .and_then(|items| {
                    items
                        .iter_mut()
                        .find(|i| i.get(*id_key).and_then(Value::as_str) == Some(id))
                })
                .ok_or_else(|| format!("{at}: no item of `{section}` has {id_key} `{id}`"))?;
            merge(item, patch.clone());
        }
    }
    Ok(())
}

/// Merges `patch` into `into`: tables key by key, anything else replaced.
fn merge(into: &mut Value, patch: Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const FILE: &str = r#"
[[services]]
service_id = "web"
label = "Web"
labels = { zone = "eu" }
status_config = { url = "http://web.dev/health", interval = "30s" }

[environments.prod.services.web]
status_config.url = "https://web.prod/health"
labels = { tier = "front" }

[environments.staging.services.web]
enabled = false
"#;

    fn read(text: &str, name: &str, env: Option<&str>) -> Result<Value, String> {
        let mut doc = parse(Path::new(name), text)?;
        select(&mut doc, env)?;
        Ok(doc)
    }

    #[test]
    fn an_environment_overrides_field_by_field() {
        let prod = read(FILE, "c.toml", Some("prod")).unwrap();
        let web = &prod["services"][0];
        assert_eq!(
            web["status_config"],
            json!({"url": "https://web.prod/health", "interval": "30s"})
        );
        assert_eq!(web["labels"], json!({"zone": "eu", "tier": "front"}));
        assert!(prod.get("environments").is_none());
        let base = read(FILE, "c.toml", None).unwrap();
        assert_eq!(
            base["services"][0]["status_config"]["url"],
            "http://web.dev/health"
        );
        let staging = read(FILE, "c.toml", Some("staging")).unwrap();
        assert_eq!(staging["services"][0]["enabled"], false);
    }

    #[test]
    fn yaml_reads_like_toml() {
        let yaml = "services:\n  - service_id: web\n    label: Web\n    status_config: {url: 'http://web.dev/health'}\nenvironments:\n  prod:\n    services:\n      web:\n        status_config: {url: 'https://web.prod/health'}\n";
        let prod = read(yaml, "c.yaml", Some("prod")).unwrap();
        assert_eq!(
            prod["services"][0]["status_config"]["url"],
            "https://web.prod/health"
        );
        assert!(
            read("- a\n- b\n", "c.yml", None)
                .unwrap_err()
                .contains("must be a table")
        );
    }

    #[test]
    fn mistakes_name_the_environment_and_key() {
        assert_eq!(
            read(FILE, "c.toml", Some("qa")).unwrap_err(),
            "environment `qa` is not declared under `environments` (declared: prod, staging)"
        );
        let typo = format!("{FILE}\n[environments.prod.services.wbe]\nenabled = false\n");
        assert_eq!(
            read(&typo, "c.toml", Some("prod")).unwrap_err(),
            "environments.prod.services.wbe: no item of `services` has service_id `wbe`"
        );
        let rename = format!("{FILE}\n[environments.dev.services.web]\nservice_id = \"api\"\n");
        assert_eq!(
            read(&rename, "c.toml", Some("dev")).unwrap_err(),
            "environments.dev.services.web: service_id may not be changed"
        );
        let relations = "[environments.dev.relations.x]\nenabled = false\n";
        assert!(
            read(relations, "c.toml", Some("dev"))
                .unwrap_err()
                .starts_with("environments.dev.relations: only services")
        );
    }
}
