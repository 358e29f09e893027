//! `[insights.ai]`: the model that analyses failures (absent: no
//! analysis); `[insights.anomalies]`: how unusual hours are found;
//! `[[insights.reports]]`: SLA reports mailed on a schedule.

use std::time::Duration;

use lightbulb_common::time::serde_duration;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InsightsConfig {
    /// Failure analysis by an OpenAI-compatible model; off when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai: Option<AiConfig>,
    /// Unusual hours of response time and error rate (always on).
    pub anomalies: AnomalyConfig,
    /// SLA reports mailed on a schedule (`[[insights.reports]]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<ReportConfig>,
}

/// An SLA report mailed on a schedule by the collector leading alert
/// evaluation, as CSV and PDF attachments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Names the report in the mail and the log.
    pub name: String,
    /// Cron expression (minute hour day-of-month month day-of-week).
    pub schedule: String,
    /// The schedule's time zone (IANA name).
    #[serde(default = "utc")]
    pub timezone: String,
    /// The period reported, ending at the scheduled time.
    #[serde(default = "week", with = "serde_duration")]
    pub period: Duration,
    /// Email channels (alerting channel ids) it is sent to.
    pub channels: Vec<String>,
    /// DEGRADED counts as `up` or `down`.
    #[serde(default = "up")]
    pub degraded: String,
    /// Results in maintenance windows are `exclude`d or `include`d.
    #[serde(default = "exclude")]
    pub maintenance: String,
    /// %, for services without their own objective.
    #[serde(default = "objective")]
    pub objective: f64,
}

fn utc() -> String {
    "UTC".into()
}
fn week() -> Duration {
    Duration::from_secs(7 * 86_400)
}
fn up() -> String {
    "up".into()
}
fn exclude() -> String {
    "exclude".into()
}
fn objective() -> f64 {
    99.9
}

impl ReportConfig {
    fn problems(&self, key: &str, problem: &mut impl FnMut(&str, String)) {
        let mut at = |field: &str, why: String| problem(&format!("{key}.{field}"), why);
        if self.name.trim().is_empty() {
            at("name", "is required".into());
        }
        if let Err(e) = crate::alerting::cron::Cron::parse(&self.schedule) {
            at("schedule", e);
        }
        if jiff::tz::TimeZone::get(&self.timezone).is_err() {
            at(
                "timezone",
                format!("`{}` is not a known time zone", self.timezone),
            );
        }
        if !(Duration::from_secs(3_600)..=Duration::from_secs(366 * 86_400)).contains(&self.period)
        {
            at("period", "must be from 1h to 366d".into());
        }
        if self.channels.is_empty() {
            at("channels", "must name at least one email channel".into());
        }
        if !matches!(self.degraded.as_str(), "up" | "down") {
            at(
                "degraded",
                format!("`{}` is not `up` or `down`", self.degraded),
            );
        }
        if !matches!(self.maintenance.as_str(), "exclude" | "include") {
            at(
                "maintenance",
                format!("`{}` is not `exclude` or `include`", self.maintenance),
            );
        }
        if !(self.objective > 0.0 && self.objective < 100.0) {
            at("objective", "must be above 0 and below 100".into());
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// How often the hours not yet final are judged again.
    #[serde(with = "serde_duration")]
    pub interval: Duration,
    /// Scaled median absolute deviations above the usual value that make
    /// an hour unusual.
    pub threshold: f64,
    /// Weeks before an hour whose same hour is its baseline.
    pub weeks: u32,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            interval: Duration::from_secs(60),
            threshold: 4.0,
            weeks: 4,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiConfig {
    /// The chat completions API's base, up to and with `/v1`: OpenAI's, or
    /// a self-hosted server's (`http://127.0.0.1:8080/v1`).
    pub api_base: String,
    /// A literal key, `secret://env/NAME` or `secret://file/PATH`; empty
    /// for servers that take none. Never logged; `<redacted>` in print-config.
    #[serde(serialize_with = "crate::config::redact")]
    pub api_key: String,
    /// The model asked (required).
    pub model: String,
    /// How long one request may take.
    #[serde(with = "serde_duration")]
    pub timeout: Duration,
    /// Further attempts after a timeout, a connection error, 429 or 5xx.
    pub retries: u32,
    /// Tokens (sent and answered) spent in any hour, at most.
    pub tokens_per_hour: u64,
    /// The failure context sent, at most (bytes of JSON).
    pub max_context_bytes: usize,
    /// The answer's length, at most (tokens).
    pub max_answer_tokens: u32,
    /// Analyse every service that turns FAILED or DEGRADED (once per
    /// incident); when false, only on request.
    pub on_transition: bool,
    /// Time between two automatic analyses of one service.
    #[serde(with = "serde_duration")]
    pub cooldown: Duration,
    /// Regular expressions whose matches are replaced before sending,
    /// besides the built-in ones (tokens, keys, passwords, emails, IPs).
    pub redact: Vec<String>,
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            api_base: "https://api.openai.com/v1".into(),
            api_key: String::new(),
            model: String::new(),
            timeout: Duration::from_secs(60),
            retries: 2,
            tokens_per_hour: 100_000,
            max_context_bytes: 24_000,
            max_answer_tokens: 1_000,
            on_transition: true,
            cooldown: Duration::from_secs(15 * 60),
            redact: Vec::new(),
        }
    }
}

impl InsightsConfig {
    pub(super) fn problems(&self, problem: &mut impl FnMut(&str, String)) {
        let a = &self.anomalies;
        if a.interval < Duration::from_secs(1) {
            problem("insights.anomalies.interval", "must be at least 1s".into());
        }
        if !(a.threshold.is_finite() && (1.0..=100.0).contains(&a.threshold)) {
            problem(
                "insights.anomalies.threshold",
                "must be from 1 to 100".into(),
            );
        }
        if !(2..=12).contains(&a.weeks) {
            problem("insights.anomalies.weeks", "must be from 2 to 12".into());
        }
        for (i, r) in self.reports.iter().enumerate() {
            r.problems(&format!("insights.reports[{i}]"), problem);
            if self.reports[..i].iter().any(|o| o.name == r.name) {
                problem(
                    &format!("insights.reports[{i}].name"),
                    format!("`{}` names another report too", r.name),
                );
            }
        }
        let Some(ai) = &self.ai else { return };
        if !(ai.api_base.starts_with("http://") || ai.api_base.starts_with("https://")) {
            problem(
                "insights.ai.api_base",
                format!("`{}` is not an http(s):// address", ai.api_base),
            );
        }
        if ai.model.trim().is_empty() {
            problem(
                "insights.ai.model",
                "is required: the model to ask (e.g. `gpt-4o-mini`)".into(),
            );
        }
        if let Some(Err(why)) = lightbulb_common::secret::SecretRef::parse(&ai.api_key) {
            problem("insights.ai.api_key", why);
        }
        if ai.timeout < Duration::from_secs(1) {
            problem("insights.ai.timeout", "must be at least 1s".into());
        }
        if ai.retries > 10 {
            problem("insights.ai.retries", "must be at most 10".into());
        }
        if ai.max_context_bytes < 1_000 {
            problem(
                "insights.ai.max_context_bytes",
                "must be at least 1000".into(),
            );
        }
        if ai.max_answer_tokens < 100 {
            problem(
                "insights.ai.max_answer_tokens",
                "must be at least 100".into(),
            );
        }
        if ai.tokens_per_hour < u64::from(ai.max_answer_tokens) {
            problem(
                "insights.ai.tokens_per_hour",
                "must be at least `insights.ai.max_answer_tokens`".into(),
            );
        }
        for (i, pattern) in ai.redact.iter().enumerate() {
            if let Err(e) = regex::Regex::new(pattern) {
                problem(&format!("insights.ai.redact[{i}]"), e.to_string());
            }
        }
    }
}
