//! `secret://` references: a string in `status_config` that names where a
//! credential lives instead of holding it. The agent fills them in at run
//! time; everything else (the collector, its stores, exports, logs) only
//! ever sees the reference.
//!
//! - `secret://env/NAME`: an environment variable of the agent;
//! - `secret://file/PATH`: a file's content, without a trailing newline
//!   (`PATH` is absolute: `secret://file/run/secrets/db` reads `/run/secrets/db`);
//! - `secret://vault/<mount>/<path>#<key>`: a key of a Vault or OpenBao
//!   KV version 2 secret.

use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

pub const SCHEME: &str = "secret://";

/// Where a secret lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
    Vault {
        mount: String,
        path: String,
        key: String,
    },
}

impl SecretRef {
    /// `None` when `text` is not a reference; `Some(Err(reason))` when it
    /// is one but malformed.
    pub fn parse(text: &str) -> Option<Result<SecretRef, String>> {
        let rest = text.strip_prefix(SCHEME)?;
        Some(
            parse_rest(rest)
                .map_err(|why| format!("`{text}` is not a valid secret reference: {why}")),
        )
    }
}

impl SecretRef {
    /// The value an env or file reference names, read by `holder` (`the
    /// collector`); the error names the reference, never a value. Vault
    /// references are for checks, which agents run.
    pub fn read_local(&self, holder: &str) -> Result<String, String> {
        match self {
            SecretRef::Env(name) => std::env::var(name)
                .map_err(|_| format!("{holder} has no environment variable `{name}`")),
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| format!("cannot read `{}`: {e}", path.display())),
            SecretRef::Vault { .. } => Err(format!(
                "{holder} reads env and file references; Vault references are for checks"
            )),
        }
    }
}

fn parse_rest(rest: &str) -> Result<SecretRef, String> {
    const FORMS: &str =
        "use secret://env/NAME, secret://file/PATH or secret://vault/MOUNT/PATH#KEY";
    let (kind, what) = rest.split_once('/').ok_or(FORMS)?;
    match kind {
        "env" => {
            let ok = !what.is_empty()
                && !what.starts_with(|c: char| c.is_ascii_digit())
                && what.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if ok {
                Ok(SecretRef::Env(what.to_string()))
            } else {
                Err("an environment variable name is letters, digits and `_`".into())
            }
        }
        "file" => {
            let path = what.trim_start_matches('/');
            if path.is_empty() || path.split('/').any(|p| p == "..") {
                return Err("the file path is empty or contains `..`".into());
            }
            Ok(SecretRef::File(PathBuf::from(format!("/{path}"))))
        }
        "vault" => {
            let (location, key) = what
                .split_once('#')
                .ok_or("a Vault reference ends in #KEY, the key inside the secret")?;
            let (mount, path) = location
                .split_once('/')
                .filter(|(m, p)| !m.is_empty() && !p.is_empty())
                .ok_or("a Vault reference names the KV mount and the secret's path: vault/MOUNT/PATH#KEY")?;
            let bad = |s: &str| s.split('/').any(|p| p.is_empty() || p == "." || p == "..");
            if bad(path) || key.is_empty() {
                return Err(
                    "the secret's path has an empty or `..` part, or the key is empty".into(),
                );
            }
            Ok(SecretRef::Vault {
                mount: mount.to_string(),
                path: path.to_string(),
                key: key.to_string(),
            })
        }
        other => Err(format!("unknown kind `{other}`; {FORMS}")),
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "{SCHEME}env/{name}"),
            SecretRef::File(path) => write!(f, "{SCHEME}file{}", path.display()),
            SecretRef::Vault { mount, path, key } => {
                write!(f, "{SCHEME}vault/{mount}/{path}#{key}")
            }
        }
    }
}

/// Every reference in `config`, by its key path (`headers.Authorization`),
/// malformed ones as `Err(reason)`.
pub fn references(config: &Value) -> Vec<(String, Result<SecretRef, String>)> {
    let mut out = Vec::new();
    walk(config, String::new(), &mut |key, s| {
        if let Some(r) = SecretRef::parse(s) {
            out.push((key.to_string(), r));
        }
    });
    out
}

fn walk(value: &Value, key: String, f: &mut impl FnMut(&str, &str)) {
    let join = |k: &str| {
        if key.is_empty() {
            k.to_string()
        } else {
            format!("{key}.{k}")
        }
    };
    match value {
        Value::String(s) => f(&key, s),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, format!("{key}[{i}]"), f);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                walk(v, join(k), f);
            }
        }
        _ => {}
    }
}

/// `config` with every reference replaced by `fill(reference)`.
pub fn fill(config: &Value, fill: &mut impl FnMut(&SecretRef) -> String) -> Value {
    match config {
        Value::String(s) => match SecretRef::parse(s) {
            Some(Ok(r)) => Value::String(fill(&r)),
            _ => config.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| self::fill(v, fill)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), self::fill(v, fill)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `text` with every one of `values` (and its URL-encoded form) replaced
/// by `<redacted>`: what a check reports never carries a secret it used.
pub fn scrub(text: &str, values: &[String]) -> String {
    let mut out = text.to_string();
    for v in values.iter().filter(|v| !v.is_empty()) {
        out = out.replace(v.as_str(), "<redacted>");
        let form: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
        for encoded in [form, percent_encoded(v)] {
            if encoded != *v {
                out = out.replace(&encoded, "<redacted>");
            }
        }
    }
    out
}

/// Every byte but the URL-unreserved ones as `%XX`.
fn percent_encoded(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every string in `value` scrubbed (see [`scrub`]).
pub fn scrub_json(value: &mut Value, values: &[String]) {
    match value {
        Value::String(s) => *s = scrub(s, values),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, values)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub_json(v, values)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_three_kinds_parse_and_print_back() {
        for text in [
            "secret://env/DB_PASSWORD",
            "secret://file/run/secrets/db",
            "secret://vault/secret/apps/web#api_key",
        ] {
            let r = SecretRef::parse(text).unwrap().unwrap();
            assert_eq!(r.to_string(), text);
        }
        assert_eq!(
            SecretRef::parse("secret://file//etc/token")
                .unwrap()
                .unwrap(),
            SecretRef::File("/etc/token".into())
        );
        assert!(SecretRef::parse("plain text").is_none());
    }

    #[test]
    fn malformed_references_say_why() {
        for (text, says) in [
            ("secret://", "secret://env/NAME"),
            ("secret://ldap/x", "unknown kind `ldap`"),
            ("secret://env/", "environment variable"),
            ("secret://env/A-B", "environment variable"),
            ("secret://file/../etc/shadow", "`..`"),
            ("secret://vault/secret/app", "#KEY"),
            ("secret://vault/secret#k", "MOUNT/PATH"),
            ("secret://vault/secret/a//b#k", "empty"),
            ("secret://vault/secret/app#", "key is empty"),
        ] {
            let why = SecretRef::parse(text).unwrap().unwrap_err();
            assert!(why.contains(says), "{text}: {why}");
        }
    }

    #[test]
    fn references_are_found_by_key_and_filled() {
        let config = json!({"url": "http://x", "headers": {"X-Key": "secret://env/KEY"},
                            "list": ["secret://vault/kv/a#b"], "bad": "secret://nope/x"});
        let found = references(&config);
        let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["bad", "headers.X-Key", "list[0]"]);
        assert!(found[0].1.is_err());
        let filled = fill(&config, &mut |r| format!("<{r}>"));
        assert_eq!(filled["headers"]["X-Key"], "<secret://env/KEY>");
        assert_eq!(filled["list"][0], "<secret://vault/kv/a#b>");
        assert_eq!(filled["bad"], "secret://nope/x");
    }

    #[test]
    fn scrubbing_removes_plain_and_url_encoded_values() {
        let values = vec!["p@ss word".to_string()];
        let text = "login p@ss word failed at http://u:p%40ss+word@h/ and p%40ss%20word";
        assert_eq!(
            scrub(text, &values),
            "login <redacted> failed at http://u:<redacted>@h/ and <redacted>"
        );
        let mut v = json!({"error": ["p@ss word"]});
        scrub_json(&mut v, &values);
        assert_eq!(v, json!({"error": ["<redacted>"]}));
    }
}
