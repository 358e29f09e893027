//! `[alerting]`: how often rules are evaluated and where notifications link to.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingConfig {
    /// Time between evaluations of every rule. Default `1s`.
    #[serde(with = "lightbulb_common::time::serde_duration")]
    pub interval: Duration,
    /// The dashboard's address as people reach it, for the links in
    /// notifications (`https://lightbulb.example.com`). Default: the HTTP
    /// listener's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_url: Option<String>,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            interval: Duration::from_secs(1),
            dashboard_url: None,
        }
    }
}
