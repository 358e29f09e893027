//! `[alerting]`: how often rules are evaluated, where notifications link
//! to, and the contact Web Push names.

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
    /// The contact push services are given with every Web Push, should
    /// they need to reach whoever runs this collector (`mailto:` or
    /// `https:`). Default `mailto:lightbulb@localhost`.
    pub push_contact: String,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            interval: Duration::from_secs(1),
            dashboard_url: None,
            push_contact: "mailto:lightbulb@localhost".into(),
        }
    }
}

impl AlertingConfig {
    pub(super) fn problems(&self, problem: &mut impl FnMut(&str, String)) {
        if self.interval < Duration::from_millis(100) {
            problem("alerting.interval", "must be at least 100ms".into());
        }
        if let Some(url) = &self.dashboard_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problem(
                "alerting.dashboard_url",
                format!("`{url}` is not an http(s):// address"),
            );
        }
        let contact = &self.push_contact;
        if !(contact.starts_with("mailto:") || contact.starts_with("https://")) {
            problem(
                "alerting.push_contact",
                format!("`{contact}` is not a mailto: or https:// address"),
            );
        }
    }
}
