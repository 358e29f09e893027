//! Rules, channels, alerts and notifications as stored (each one JSON
//! document per id) and served.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

pub use super::condition::{Condition, Verdict};

/// Which services a rule watches; an empty list or map matches all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleScope {
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub service_types: Vec<String>,
    /// Every label here must be on the service with this value.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl RuleScope {
    pub fn matches(&self, id: &str, service_type: &str, labels: &BTreeMap<String, String>) -> bool {
        (self.services.is_empty() || self.services.iter().any(|s| s == id))
            && (self.service_types.is_empty()
                || self.service_types.iter().any(|t| t == service_type))
            && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rule {
    pub rule_id: String,
    pub name: String,
    pub condition: Condition,
    pub scope: RuleScope,
    pub severity: Severity,
    /// How long the condition must hold before the alert fires, ms.
    pub for_ms: i64,
    /// Channel ids notified when an alert of this rule fires and resolves.
    pub channels: Vec<String>,
    pub enabled: bool,
    pub updated_ms: i64,
    /// A firing alert resolves only once its condition has been absent
    /// this long, ms: a service that recovers for one check keeps firing.
    #[serde(default)]
    pub resolve_after_ms: i64,
    /// Further notifications while a firing alert is not acknowledged.
    #[serde(default)]
    pub escalation: Vec<EscalationStep>,
    /// After the last step, its channels are notified again this often
    /// (ms) until the alert is acknowledged or resolved.
    #[serde(default)]
    pub repeat_ms: Option<i64>,
    /// At most this many notifications of one service's alerts within
    /// `flap_window_ms`; past it the service is flapping and its alerts
    /// are recorded without notifying. 0: no limit.
    #[serde(default = "default_flap_limit")]
    pub flap_limit: u32,
    #[serde(default = "default_flap_window")]
    pub flap_window_ms: i64,
    /// `file:<path>` for a rule the catalog file holds (changed only
    /// there); none for one made through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
}

#[cfg(test)]
mod sample;

pub fn default_flap_limit() -> u32 {
    6
}

pub fn default_flap_window() -> i64 {
    600_000
}

/// Notify `channels` once an alert has fired `after_ms` ago unacknowledged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EscalationStep {
    pub after_ms: i64,
    pub channels: Vec<String>,
}

/// What people did with an alert: acknowledged it (or took that back), or
/// resolved it by hand. The evaluator applies it at its next round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Handling {
    pub alert_id: String,
    /// `None`: not acknowledged (or un-acknowledged).
    pub acknowledged_by: Option<String>,
    pub resolved_by: Option<String>,
    pub at_ms: i64,
}

/// Where notifications go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Channel {
    pub channel_id: String,
    pub name: String,
    pub target: Target,
    pub updated_ms: i64,
    /// `file:<path>` for a channel the catalog file holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
}

/// How SMTP is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on the same host or a test sink.
    None,
}

/// A channel's kind and settings. Secrets (`secret`, `password`,
/// `routing_key`) are stored to be used, and shown as `<redacted>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// JSON POSTed to `url`, signed with HMAC-SHA256 when `secret` is set.
    Webhook {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
    },
    /// A Slack incoming webhook (Block Kit).
    Slack { url: String },
    /// A Microsoft Teams workflow webhook (an Adaptive Card).
    Teams { url: String },
    /// PagerDuty Events API v2: the alert id is the dedup key, so the
    /// incident a firing opens is resolved with the alert.
    Pagerduty {
        routing_key: String,
        /// Default `https://events.pagerduty.com/v2/enqueue`.
        url: String,
    },
    /// A ServiceNow incident (Table API), created on firing (once: found
    /// again by its correlation id), noted on escalation, resolved with the alert.
    Servicenow {
        /// `https://<instance>.service-now.com`.
        instance: String,
        username: String,
        password: String,
    },
    /// Mail through an SMTP server.
    Email {
        host: String,
        port: u16,
        tls: SmtpTls,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
        from: String,
        to: Vec<String>,
    },
    /// Web Push to the browsers subscribed on the dashboard: those of
    /// `users` (identities as `GET /api/push/subscriptions` shows their
    /// `owner`; everyone's when empty) that follow the alert's service.
    WebPush {
        #[serde(default)]
        users: Vec<String>,
    },
}

pub const REDACTED: &str = "<redacted>";

impl Channel {
    /// As shown through the API: secrets replaced.
    pub fn redacted(&self) -> Channel {
        let mut c = self.clone();
        match &mut c.target {
            Target::Webhook { secret, .. } => {
                if secret.is_some() {
                    *secret = Some(REDACTED.into());
                }
            }
            Target::Email { password, .. } => {
                if password.is_some() {
                    *password = Some(REDACTED.into());
                }
            }
            Target::Pagerduty { routing_key, .. } => *routing_key = REDACTED.into(),
            Target::Servicenow { password, .. } => *password = REDACTED.into(),
            // A chat webhook's URL is its credential.
            Target::Slack { url } | Target::Teams { url } => *url = REDACTED.into(),
            Target::WebPush { .. } => {}
        }
        c
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition holds, not yet for the rule's `for`.
    Pending,
    Firing,
    Resolved,
}

/// One rule's alert for one service, from the moment its condition held
/// until it stopped holding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alert {
    /// `<rule_id>:<service_id>:<since_ms>`.
    pub alert_id: String,
    pub rule_id: String,
    pub service_id: String,
    pub severity: Severity,
    pub state: AlertState,
    pub since_ms: i64,
    pub fired_ms: Option<i64>,
    pub resolved_ms: Option<i64>,
    /// The service's status and message when the alert last changed.
    pub status: String,
    pub message: String,
    /// The failing dependency this alert is grouped under: it is named in
    /// that alert's notification instead of notifying on its own.
    pub root_cause: Option<String>,
    /// Whether its firing was notified (then its resolution is too).
    pub notified: bool,
    /// Services failing because this one does, named in its notifications.
    pub impacted: Vec<String>,
    #[serde(default)]
    pub acknowledged_by: Option<String>,
    #[serde(default)]
    pub acknowledged_ms: Option<i64>,
    /// Who resolved it by hand, if someone did.
    #[serde(default)]
    pub resolved_by: Option<String>,
    /// Escalation notifications sent so far.
    #[serde(default)]
    pub escalations: u32,
    #[serde(default)]
    pub last_escalation_ms: Option<i64>,
    /// Its service changed too often: recorded, not notified.
    #[serde(default)]
    pub flapping: bool,
    /// The silence or maintenance window its notifications are held back by.
    #[serde(default)]
    pub silenced_by: Option<String>,
}

impl Alert {
    pub fn id(rule_id: &str, service_id: &str, since_ms: i64) -> String {
        format!("{rule_id}:{service_id}:{since_ms}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    Firing,
    /// Still firing, not acknowledged: an escalation step.
    Escalated,
    Resolved,
    /// Sent by `POST /api/alerts/channels/{id}/test`.
    Test,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Firing => "firing",
            Event::Escalated => "escalated",
            Event::Resolved => "resolved",
            Event::Test => "test",
        }
    }
}

/// What a notification says, the same for every channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    pub event: Event,
    pub alert_id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub service_id: String,
    pub service_label: String,
    pub status: String,
    pub message: String,
    pub since_ms: i64,
    /// Services impacted because this one failed (their alerts are grouped here).
    pub impacted: Vec<String>,
    /// The service's page on the dashboard.
    pub link: String,
    /// Which escalation this is (1, 2, …), for `escalated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<u32>,
    /// A signed link that acknowledges the alert in one click (a week long).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledge_link: Option<String>,
}

impl Message {
    /// One line: `[FIRING critical] db: FAILED (connection refused)`.
    pub fn subject(&self) -> String {
        let event = self.event.as_str().to_uppercase();
        let severity = self.severity.as_str();
        let more = match self.impacted.len() {
            0 => String::new(),
            n => format!(", impacting {n} service{}", if n == 1 { "" } else { "s" }),
        };
        format!(
            "[{event} {severity}] {}: {}{more}",
            self.service_label, self.status
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Waiting for its (next) attempt.
    Queued,
    Sent,
    /// Attempts kept failing for a day; the log says why.
    GaveUp,
    /// Held back by a silence or maintenance window: recorded, not sent.
    Suppressed,
}

/// One message to one channel: written to the outbox before it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    /// `<alert_id>:<event>:<channel_id>`: the same alert event is queued
    /// once per channel, whoever queues it.
    pub notification_id: String,
    pub channel_id: String,
    pub created_ms: i64,
    pub delivery: Delivery,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub message: Message,
    /// What the receiver calls it, once sent (a ServiceNow incident number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// One delivery attempt, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    pub notification_id: String,
    pub at_ms: i64,
    pub attempt: u32,
    pub ok: bool,
    /// The receiver's answer (HTTP status, SMTP reply code), if any.
    pub code: Option<u16>,
    pub detail: String,
}
