//! Layered configuration: defaults → `/etc/lightbulb/<bin>.toml` → `--config FILE`
//! → `LIGHTBULB_*` environment (`__` separates nesting levels).

use std::fmt;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Every problem found in a configuration, each naming where it came from.
#[derive(Debug)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    pub fn one(problem: impl Into<String>) -> ConfigError {
        ConfigError {
            problems: vec![problem.into()],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration:")?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Loads `T` for binary `bin`. Only environment variables whose first level is
/// one of `keys` are read, so agent and collector can share an environment.
pub fn load<T>(
    bin: &str,
    file: Option<&Path>,
    keys: &'static [&'static str],
) -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Default,
{
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    let system = format!("/etc/lightbulb/{bin}.toml");
    if Path::new(&system).is_file() {
        figment = figment.merge(Toml::file(&system));
    }
    if let Some(file) = file {
        if !file.is_file() {
            return Err(ConfigError::one(format!(
                "config file `{}` does not exist or is not a file",
                file.display()
            )));
        }
        figment = figment.merge(Toml::file(file));
    }
    let env = Env::prefixed("LIGHTBULB_")
        .filter(move |k| {
            let first = k.as_str().split("__").next().unwrap_or("");
            keys.iter().any(|key| first.eq_ignore_ascii_case(key))
        })
        .split("__");
    figment = figment.merge(env);
    figment.extract::<T>().map_err(|e| ConfigError {
        problems: e.into_iter().map(|e| describe(&e)).collect(),
    })
}

fn describe(e: &figment::Error) -> String {
    let mut path = e.path.clone();
    if let figment::error::Kind::UnknownField(name, _) = &e.kind
        && path.last() != Some(name)
    {
        path.push(name.clone());
    }
    let key = if path.is_empty() {
        String::from("(top level)")
    } else {
        path.join(".")
    };
    let source = match e.metadata.as_ref().and_then(|m| m.source.as_ref()) {
        Some(figment::Source::File(p)) => format!("file `{}`", p.display()),
        Some(other) => other.to_string(),
        None => e
            .metadata
            .as_ref()
            .map(|m| m.name.to_string())
            .unwrap_or_else(|| "configuration".into()),
    };
    format!("{source}: key `{key}`: {}", e.kind)
}
