//! AI failure analysis: a service's failure context (`context.rs`),
//! redacted (`redact.rs`), sent to any OpenAI-compatible chat completions
//! server with a JSON schema for the answer (`answer.rs`), within a token
//! budget per hour (`budget.rs`); every analysis is stored with exactly
//! what was sent (`record.rs`). The collector leading alert evaluation
//! analyses each incident once by itself (`incidents.rs`: a change to FAILED or DEGRADED
//! from a healthy status, not one a failing dependency explains), at most
//! once per service per cooldown; anyone with catalog rights may ask for
//! one (`POST /api/insights/{service_id}`).

pub mod answer;
pub mod budget;
pub mod context;
mod incidents;
pub mod record;
pub mod redact;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequestArgs, CreateChatCompletionResponse, ResponseFormat,
    ResponseFormatJsonSchema,
};
use lightbulb_common::secret::SecretRef;
use lightbulb_common::time::{format_iso, now_ms};
use tracing::{info, warn};

use self::record::{Analysis, Outcome, Trigger};
use self::redact::Redactor;
use crate::config::AiConfig;
use crate::state::AppState;
use crate::{Error, Result};

/// What the model is told it is doing; the context follows as the user's message.
pub const SYSTEM: &str = "You are the on-call assistant of lightbulb, a service-health monitor. \
The user's message is the failure context of one service as JSON: its check, its status and \
message, the newest result's details (process, pod logs and events, Temporal or ClickHouse \
evidence), its status changes of the last day, its dependencies and dependants with their \
statuses, and its most frequent failure patterns. Values shown as [REDACTED:...] were removed \
on purpose. Find the most likely root cause. Answer with one JSON object: summary (one or two \
sentences), likely_root_cause, evidence (lines quoted from the context), next_steps (what to \
check or do, most useful first) and confidence (0 to 1). Base everything on the context, and \
say so when it is not enough.";

/// A raw answer kept, at most (bytes).
const RAW_KEPT: usize = 8 * 1024;
/// Automatic analyses running at once.
const AT_ONCE: usize = 2;

pub struct Analyst {
    config: AiConfig,
    client: Client<OpenAIConfig>,
    redactor: Redactor,
    pub budget: budget::Budget,
    /// Services being analysed now.
    busy: Mutex<HashSet<String>>,
    /// When each service was last analysed by itself.
    last_auto: Mutex<HashMap<String, i64>>,
    running: tokio::sync::Semaphore,
}

impl Analyst {
    /// The analyst `config` describes; `None` when AI analysis is off.
    pub fn new(config: Option<&AiConfig>) -> Result<Option<Arc<Analyst>>> {
        let Some(config) = config else {
            return Ok(None);
        };
        let key = match SecretRef::parse(&config.api_key) {
            None => config.api_key.clone(),
            Some(r) => r
                .and_then(|r| r.read_local("the collector"))
                .map_err(|why| Error::bad_field("insights.ai.api_key", why))?,
        };
        lightbulb_common::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("lightbulb-collector/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("an HTTP client for the model: {e}")))?;
        let openai = OpenAIConfig::new()
            .with_api_base(config.api_base.trim_end_matches('/'))
            .with_api_key(key.clone());
        let redactor = Redactor::new(&config.redact, vec![key])
            .map_err(|e| Error::bad_field("insights.ai.redact", e.to_string()))?;
        info!(model = %config.model, api_base = %config.api_base, "AI failure analysis is on");
        Ok(Some(Arc::new(Analyst {
            // Without the client's own retries: ours are configured, and logged.
            client: Client::build(http.clone(), openai)
                .with_http_service(async_openai::middleware::ReqwestService::new(http)),
            redactor,
            budget: budget::Budget::new(config.tokens_per_hour),
            busy: Mutex::new(HashSet::new()),
            last_auto: Mutex::new(HashMap::new()),
            running: tokio::sync::Semaphore::new(AT_ONCE),
            config: config.clone(),
        })))
    }

    /// Analyses `service_id` now and stores the analysis, whatever its
    /// outcome; errors only when nothing was sent (unknown service, one
    /// already under way, the budget spent, the store failing).
    pub async fn analyse(
        &self,
        state: &AppState,
        service_id: &str,
        trigger: Trigger,
        requested_by: Option<String>,
        incident_ms: Option<i64>,
    ) -> Result<Analysis> {
        let _busy = Busy::take(&self.busy, service_id).ok_or_else(|| {
            Error::conflict(format!("an analysis of `{service_id}` is under way"))
        })?;
        let created_ms = now_ms();
        let context = context::gather(
            state,
            service_id,
            created_ms,
            &self.redactor,
            self.config.max_context_bytes,
        )
        .await?;
        let estimate = ((SYSTEM.len() + context.text.len()) / 3) as u64
            + u64::from(self.config.max_answer_tokens);
        let reservation = self.budget.reserve(estimate, created_ms).map_err(|secs| {
            Error::TooManyRequests {
                message: format!(
                    "the AI token budget of {} per hour is spent ({} used); an analysis needs up to {estimate}, \
                     free in {secs} s (`insights.ai.tokens_per_hour`)",
                    self.config.tokens_per_hour,
                    self.budget.used(created_ms)
                ),
                retry_after_secs: secs,
            }
        })?;
        let started = Instant::now();
        let reply = self.ask(&context.text).await;
        let mut analysis = Analysis {
            analysis_id: format!("{created_ms:x}-{:08x}", fastrand::u32(..)),
            service_id: service_id.to_string(),
            created: format_iso(created_ms),
            created_ms,
            trigger,
            requested_by,
            incident_start: incident_ms.map(format_iso),
            incident_ms,
            status: context.status,
            outcome: Outcome::Failed,
            model: self.config.model.clone(),
            answer: None,
            raw_answer: None,
            error: None,
            context: context.text,
            redactions: context.redactions as u32,
            prompt_tokens: None,
            completion_tokens: None,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        let used = match &reply {
            Ok(r) => r.usage.as_ref().map(|u| u64::from(u.total_tokens)),
            Err(_) => Some(0),
        };
        self.budget.settle(reservation, used);
        match reply {
            Err(why) => analysis.error = Some(why),
            Ok(response) => {
                analysis.prompt_tokens = response.usage.as_ref().map(|u| u.prompt_tokens);
                analysis.completion_tokens = response.usage.as_ref().map(|u| u.completion_tokens);
                let message = response.choices.into_iter().next().map(|c| c.message);
                let text = message
                    .as_ref()
                    .and_then(|m| m.content.clone().or_else(|| m.refusal.clone()))
                    .unwrap_or_default();
                match answer::parse(&text) {
                    Ok(a) => {
                        analysis.outcome = Outcome::Answered;
                        analysis.answer = Some(a);
                    }
                    Err(why) => {
                        analysis.outcome = Outcome::InvalidAnswer;
                        analysis.error = Some(why);
                        analysis.raw_answer = Some(cut_bytes(&text, RAW_KEPT));
                    }
                }
            }
        }
        info!(
            service = service_id,
            outcome = ?analysis.outcome,
            duration_ms = analysis.duration_ms,
            tokens = used.unwrap_or(0),
            redactions = analysis.redactions,
            error = analysis.error.as_deref().unwrap_or(""),
            "AI analysis"
        );
        state.store.put_analysis(analysis.clone()).await?;
        Ok(analysis)
    }

    /// The model's reply, or why there is none; retries what may pass.
    async fn ask(
        &self,
        context: &str,
    ) -> std::result::Result<CreateChatCompletionResponse, String> {
        let schema = ResponseFormatJsonSchema {
            description: Some("An analysis of a service failure".into()),
            name: "failure_analysis".into(),
            schema: answer::schema(),
            strict: Some(true),
        };
        let request = CreateChatCompletionRequestArgs::default()
            .model(&self.config.model)
            .messages([
                ChatCompletionRequestSystemMessage::from(SYSTEM).into(),
                ChatCompletionRequestUserMessage::from(context).into(),
            ])
            .response_format(ResponseFormat::JsonSchema {
                json_schema: schema,
            })
            .max_completion_tokens(self.config.max_answer_tokens)
            .temperature(0.2)
            .build()
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let attempts = self.config.retries + 1;
        let mut wait = Duration::from_secs(1);
        for attempt in 1..=attempts {
            match self.client.chat().create(request.clone()).await {
                Ok(r) => return Ok(r),
                Err(e) if attempt < attempts && retryable(&e) => {
                    warn!(attempt, error = %self.describe(&e), "the model did not answer; trying again");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
                Err(e) => {
                    let tries = if attempt > 1 {
                        format!(" ({attempt} attempts)")
                    } else {
                        String::new()
                    };
                    return Err(format!("{}{tries}", self.describe(&e)));
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    fn describe(&self, e: &OpenAIError) -> String {
        let at = &self.config.api_base;
        match e {
            OpenAIError::Reqwest(e) if e.is_timeout() => format!(
                "the model server at {at} did not answer within {} (`insights.ai.timeout`)",
                humantime::format_duration(self.config.timeout)
            ),
            OpenAIError::Reqwest(e) => {
                let mut why = e.to_string();
                let mut source = std::error::Error::source(e);
                while let Some(s) = source {
                    why = format!("{why}: {s}");
                    source = s.source();
                }
                format!("the model server at {at} is unreachable: {why}")
            }
            OpenAIError::ApiError(r) => format!("the model server at {at} answered {r}"),
            OpenAIError::JSONDeserialize(e, _) => format!(
                "the model server at {at} answered something other than a chat completion: {e}"
            ),
            other => format!("the model server at {at}: {other}"),
        }
    }
}

fn retryable(e: &OpenAIError) -> bool {
    match e {
        OpenAIError::Reqwest(e) => e.is_timeout() || e.is_connect() || e.is_request(),
        OpenAIError::ApiError(r) => {
            r.status_code.as_u16() == 429 || r.status_code.is_server_error()
        }
        _ => false,
    }
}

fn cut_bytes(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// A service marked busy until dropped.
struct Busy<'a> {
    set: &'a Mutex<HashSet<String>>,
    id: String,
}

impl<'a> Busy<'a> {
    fn take(set: &'a Mutex<HashSet<String>>, id: &str) -> Option<Busy<'a>> {
        let fresh = set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string());
        fresh.then(|| Busy {
            set,
            id: id.to_string(),
        })
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}
