//! The request bodies of the API, as the OpenAPI document describes them.
//! Bodies are read field by field (`catalog::fields`) so that every
//! problem names its field; these types say what the fields are.

use std::collections::BTreeMap;

use utoipa::ToSchema;

/// A service as created.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    /// `^[a-z0-9][a-z0-9-]{0,62}$`, unique; cannot change.
    pub service_id: String,
    pub label: String,
    /// temporal_workflow, python_process, api_endpoint, database, kubernetes_pod, application
    pub service_type: String,
    /// The check, by the type's schema (e.g. `{"url": "…", "degraded_ms": 500}`),
    /// plus optional `interval` and `timeout`; for an application
    /// `{"on_dependency_failed": "degraded" | "failed"}`.
    pub status_config: Object,
    pub metric_config: Option<Object>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Agents whose labels include all of these run the check.
    pub labels: Option<BTreeMap<String, String>>,
}

/// A service's fields to change; the others stay.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceChange {
    /// The path's id, if given: it cannot change.
    pub service_id: Option<String>,
    pub label: Option<String>,
    /// As for a new service.
    pub service_type: Option<String>,
    /// As for a new service, by its (new or kept) type.
    pub status_config: Option<Object>,
    pub metric_config: Option<Object>,
    pub enabled: Option<bool>,
    pub labels: Option<BTreeMap<String, String>>,
}

/// Any JSON object.
#[derive(ToSchema)]
pub struct Object(pub BTreeMap<String, serde_json::Value>);

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelationInput {
    pub source_service_id: String,
    pub target_service_id: String,
    /// dependency, communication or data-flow
    pub relation_type: String,
    /// Default true.
    pub enabled: Option<bool>,
}

#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkInput {
    pub action: BulkActionName,
    /// Each id's outcome is reported; at most 10,000.
    #[schema(max_items = 10000)]
    pub service_ids: Vec<String>,
    /// With delete: also delete the services' relations.
    pub cascade: Option<bool>,
}

/// Services and relations, as imported and exported (absent or null: none).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportDocument {
    pub services: Option<Vec<ServiceInput>>,
    pub relations: Option<Vec<RelationInput>>,
}

/// The local break-glass admin's credentials.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

/// A new API token.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// What it is for (1–100 characters, not all spaces).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// `read` (a viewer's rights), `write` (an editor's) or `admin`.
    pub scope: TokenScope,
    /// How long it lives (`30d`, `12h`; 1s–366d). Default `90d`. Any
    /// duration like `1h 30m` is taken; the pattern shows the usual ones.
    #[schema(
        pattern = r"^([1-9][0-9]{0,3}(s|m)|[1-9][0-9]{0,2}h|([1-9]|[1-9][0-9]|[12][0-9]{2}|3[0-5][0-9]|36[0-6])d)$"
    )]
    pub expires_in: Option<String>,
}

/// A token's scope.
#[derive(ToSchema)]
#[allow(non_camel_case_types)]
pub enum TokenScope {
    read,
    write,
    admin,
}

/// What a bulk operation does.
#[derive(ToSchema)]
#[allow(non_camel_case_types)]
pub enum BulkActionName {
    enable,
    disable,
    delete,
}

/// A saved view, as created.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewInput {
    /// 1–100 characters.
    pub name: String,
    pub definition: Option<crate::views::ViewDefinition>,
    /// Make it the caller's start page (their other views stop being it).
    pub start: Option<bool>,
}

/// A saved view's fields to change; the others stay.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewChange {
    /// 1–100 characters.
    pub name: Option<String>,
    pub definition: Option<crate::views::ViewDefinition>,
    /// Make it the caller's start page (their other views stop being it).
    pub start: Option<bool>,
}

/// A browser's push subscription: what `PushSubscription.toJSON()` gives,
/// and which services to push.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct PushSubscriptionInput {
    /// The push service's URL for the browser (https).
    pub endpoint: String,
    pub keys: crate::push::PushKeys,
    /// Ignored (as the browser sends it).
    pub expirationTime: Option<serde_json::Value>,
    /// Services whose status changes are pushed; none or absent: every service.
    pub services: Option<Vec<String>>,
    /// What the user calls this browser (at most 100 characters).
    pub label: Option<String>,
}

/// An alert rule, as created or replaced.
#[derive(ToSchema)]
pub struct RuleInput {
    /// `^[a-z0-9][a-z0-9-]{0,62}$`; with PUT, the path's id (may be left out).
    pub rule_id: Option<String>,
    /// Default: the id.
    pub name: Option<String>,
    /// `{"kind": "status", "statuses": ["FAILED", "DEGRADED", "UNKNOWN"]}`.
    #[schema(value_type = Object)]
    pub condition: serde_json::Value,
    /// `{"services": [], "service_types": [], "labels": {}}`; empty matches all.
    #[schema(value_type = Option<Object>)]
    pub scope: Option<serde_json::Value>,
    /// `critical`, `warning` (default) or `info`.
    pub severity: Option<String>,
    /// How long the condition must hold before the alert fires (`2m`). Default `0s`.
    #[schema(rename = "for")]
    pub for_: Option<String>,
    /// Channel ids to notify.
    pub channels: Option<Vec<String>>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Keep firing until the condition has been absent this long (`5m`). Default `0s`.
    pub resolve_after: Option<String>,
    /// `[{"after": "15m", "channels": ["lead"]}, …]`: while unacknowledged,
    /// notify these channels this long after firing.
    #[schema(value_type = Option<Vec<Object>>)]
    pub escalation: Option<serde_json::Value>,
    /// After the last step, notify its channels again this often (at least `1m`).
    pub repeat: Option<String>,
    /// At most this many notifications per service within `flap_window`
    /// (default 6 in `10m`); 0: no limit.
    #[schema(maximum = 1000)]
    pub flap_limit: Option<u32>,
    pub flap_window: Option<String>,
}

/// A notification channel, as created or replaced. `webhook` takes `url`
/// and `secret`; `slack` and `teams` their webhook `url` (https);
/// `pagerduty` a `routing_key` (and `url`, default PagerDuty's Events API
/// v2); `servicenow` its `instance` URL, `username` and `password`;
/// `email` takes `host`, `port`, `tls`, `username`, `password`, `from` and
/// `to`. A secret sent back as `<redacted>` keeps the stored one.
#[derive(ToSchema)]
pub struct ChannelInput {
    pub channel_id: Option<String>,
    pub name: Option<String>,
    /// `webhook`, `slack`, `teams`, `pagerduty`, `servicenow` or `email`.
    pub kind: String,
    /// webhook, slack, teams, pagerduty: where the JSON is POSTed.
    pub url: Option<String>,
    /// pagerduty: the integration's 32-character routing key.
    pub routing_key: Option<String>,
    /// servicenow: `https://<instance>.service-now.com`.
    pub instance: Option<String>,
    /// webhook: key of the `X-Lightbulb-Signature` HMAC.
    pub secret: Option<String>,
    /// email: the SMTP server.
    pub host: Option<String>,
    /// email: default 587 (465 with `tls = "tls"`).
    pub port: Option<u16>,
    /// email: `starttls` (default), `tls` or `none`.
    pub tls: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
}

/// A silence or maintenance window: one-off (`starts` and `ends` or
/// `duration`) or `recurring`.
#[derive(ToSchema)]
pub struct SilenceInput {
    /// Default: made up.
    pub silence_id: Option<String>,
    pub comment: Option<String>,
    /// A maintenance window: shown on the dashboard, left out of
    /// availability reports. Default false.
    pub maintenance: Option<bool>,
    /// `{"services": [], "labels": {}, "rules": []}`: at least one.
    #[schema(value_type = Object)]
    pub matchers: serde_json::Value,
    /// RFC 3339 (`2026-12-01T02:00:00Z`). Default: now.
    pub starts: Option<String>,
    pub ends: Option<String>,
    /// Instead of `ends` (`2h`).
    pub duration: Option<String>,
    /// `{"cron": "0 2 * * SAT", "duration": "2h", "timezone": "Europe/Berlin"}`.
    #[schema(value_type = Option<Object>)]
    pub recurring: Option<serde_json::Value>,
}
