//! `secret://` references in `status_config`, filled in on the agent just
//! before a check runs (see `lightbulb_common::secret`). Values read from
//! files and Vault are kept for `cache_ttl`; a check whose secrets changed
//! is rebuilt, and whatever it reports is scrubbed of the values it used.
//! Values are never logged.

mod vault;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lightbulb_common::ServiceType;
use lightbulb_common::secret::{self, SecretRef};
use lightbulb_common::spec::CheckSpec;
use lightbulb_common::time::serde_duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use crate::checks::{self, BoxFuture, Check, Outcome};
pub use vault::{VaultAuth, VaultConfig};

/// `[secrets]` in `agent.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// How long a value read from a file or Vault is reused before it is
    /// read again. Default `5m`.
    #[serde(with = "serde_duration")]
    pub cache_ttl: Duration,
    /// Where `secret://vault/...` references are read (`[secrets.vault]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultConfig>,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            cache_ttl: Duration::from_secs(300),
            vault: None,
        }
    }
}

impl SecretsConfig {
    /// Problems as (key under `secrets`, reason).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.cache_ttl.is_zero() {
            out.push(("cache_ttl".into(), "must be more than 0s".into()));
        }
        if let Some(v) = &self.vault {
            out.extend(
                v.problems()
                    .into_iter()
                    .map(|(k, r)| (format!("vault.{k}"), r)),
            );
        }
        out
    }
}

/// Reads secrets for every check of the agent.
pub struct Secrets {
    ttl: Duration,
    vault: Option<vault::Vault>,
    files: Mutex<HashMap<PathBuf, (Instant, String)>>,
}

impl Secrets {
    pub fn new(config: &SecretsConfig) -> Result<Secrets, String> {
        Ok(Secrets {
            ttl: config.cache_ttl,
            vault: match &config.vault {
                Some(v) => Some(vault::Vault::new(v.clone(), config.cache_ttl)?),
                None => None,
            },
            files: Mutex::new(HashMap::new()),
        })
    }

    /// The value `r` names; the error names the reference, never a value.
    pub async fn get(&self, r: &SecretRef) -> Result<String, String> {
        match r {
            SecretRef::Env(name) => std::env::var(name)
                .map_err(|_| format!("{r}: the agent has no environment variable `{name}`")),
            SecretRef::File(path) => {
                let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((at, v)) = files.get(path)
                    && at.elapsed() < self.ttl
                {
                    return Ok(v.clone());
                }
                let text = std::fs::read_to_string(path).map_err(|e| format!("{r}: {e}"))?;
                let value = text.strip_suffix('\n').unwrap_or(&text);
                let value = value.strip_suffix('\r').unwrap_or(value).to_string();
                files.insert(path.clone(), (Instant::now(), value.clone()));
                Ok(value)
            }
            SecretRef::Vault { mount, path, key } => match &self.vault {
                Some(v) => v
                    .get(mount, path, key)
                    .await
                    .map_err(|e| format!("{r}: {e}")),
                None => Err(format!(
                    "{r}: this agent has no `[secrets.vault]` configured"
                )),
            },
        }
    }

    /// `config` with its references filled in, and the values used.
    pub async fn fill(&self, config: &Value) -> Result<(Value, Vec<String>), String> {
        let mut values: HashMap<SecretRef, String> = HashMap::new();
        for (key, r) in secret::references(config) {
            let r = r.map_err(|why| format!("status_config.{key}: {why}"))?;
            if let std::collections::hash_map::Entry::Vacant(slot) = values.entry(r) {
                let v = self.get(slot.key()).await?;
                slot.insert(v);
            }
        }
        let filled = secret::fill(config, &mut |r| values.get(r).cloned().unwrap_or_default());
        let mut used: Vec<String> = values.into_values().collect();
        used.sort();
        Ok((filled, used))
    }
}

/// A check whose `status_config` holds references: filled in before each
/// run, rebuilt when a value changed (keeping its state otherwise).
pub struct WithSecrets {
    service_type: ServiceType,
    config: Value,
    secrets: Arc<Secrets>,
    built: Option<(Vec<String>, Box<dyn Check>)>,
}

impl WithSecrets {
    pub fn new(service_type: ServiceType, config: Value, secrets: Arc<Secrets>) -> WithSecrets {
        WithSecrets {
            service_type,
            config,
            secrets,
            built: None,
        }
    }
}

impl Check for WithSecrets {
    fn run(&mut self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let (filled, values) = match self.secrets.fill(&self.config).await {
                Ok(f) => f,
                Err(e) => return Outcome::failed(format!("cannot read a secret: {e}")),
            };
            if self.built.as_ref().is_none_or(|(v, _)| *v != values) {
                let spec = match CheckSpec::parse(self.service_type, &filled) {
                    Ok(spec) => spec,
                    Err((key, _)) => {
                        // The reason could quote the value: only the key is told.
                        return Outcome::failed(format!(
                            "status_config{}{key} is not valid once its secret is filled in",
                            if key.is_empty() { "" } else { "." }
                        ));
                    }
                };
                self.built = Some((values, checks::build(&spec)));
            }
            let Some((values, check)) = self.built.as_mut() else {
                unreachable!("built above");
            };
            let mut o = check.run().await;
            o.message = secret::scrub(&o.message, values);
            secret::scrub_json(&mut o.details, values);
            o
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn env_and_file_references_are_filled_and_scrubbed_from_what_the_check_reports() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "file-value\n").unwrap();
        let secrets = Secrets::new(&SecretsConfig::default()).unwrap();
        let config = serde_json::json!({"a": format!("secret://file{}", file.display()),
                                        "b": ["secret://env/LIGHTBULB_NO_SUCH_VARIABLE"]});
        let err = secrets.fill(&config).await.unwrap_err();
        assert!(
            err.contains("no environment variable `LIGHTBULB_NO_SUCH_VARIABLE`"),
            "{err}"
        );
        let (filled, used) = secrets
            .fill(&serde_json::json!({"a": config["a"]}))
            .await
            .unwrap();
        assert_eq!(filled["a"], "file-value");
        assert_eq!(used, ["file-value"]);

        // A TCP check to a closed port reports its address; the address
        // came from nowhere secret, but the failure text is scrubbed of
        // every value used, so a password that appears in it is hidden.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        std::fs::write(&file, format!("{port}\n")).unwrap();
        let secrets = Arc::new(Secrets::new(&SecretsConfig::default()).unwrap());
        let config = serde_json::json!({"url": format!("tcp://127.0.0.1:{port}"),
            "headers": {"X": format!("secret://file{}", file.display())}});
        let mut check = WithSecrets::new(ServiceType::ApiEndpoint, config, secrets);
        let o = check.run().await;
        assert_eq!(o.status, lightbulb_common::Status::Failed);
        assert!(!o.message.contains(&port.to_string()), "{}", o.message);
        assert!(o.message.contains("<redacted>"), "{}", o.message);
    }
}
