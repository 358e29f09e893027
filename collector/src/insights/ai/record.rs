//! An analysis as stored and served, and where analyses are kept.

use serde::{Deserialize, Serialize};

use super::answer::Answer;
use crate::{BoxFuture, Result};

/// What started an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AnalysisTrigger)]
pub enum Trigger {
    /// The service turned FAILED or DEGRADED.
    Transition,
    /// Someone asked (`POST /api/insights/{service_id}`).
    Request,
}

/// How it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AnalysisOutcome)]
pub enum Outcome {
    /// The model answered as asked.
    Answered,
    /// The model answered something else (`raw_answer`, and `error` says why).
    InvalidAnswer,
    /// No answer: the model was unreachable, refused, or took too long (`error`).
    Failed,
}

/// One analysis of a service's failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Analysis {
    pub analysis_id: String,
    pub service_id: String,
    /// When it was asked for.
    pub created: String,
    #[serde(skip)]
    pub created_ms: i64,
    pub trigger: Trigger,
    /// Who asked, for an analysis on request.
    pub requested_by: Option<String>,
    /// When the incident began: the change to FAILED or DEGRADED from a
    /// healthy status. An incident is analysed once by itself.
    pub incident_start: Option<String>,
    #[serde(skip)]
    pub incident_ms: Option<i64>,
    /// The service's status when it was asked for.
    pub status: String,
    pub outcome: Outcome,
    pub model: String,
    pub answer: Option<Answer>,
    /// The reply as written, when it was not a valid answer (cut at 8 KiB).
    pub raw_answer: Option<String>,
    pub error: Option<String>,
    /// Exactly what was sent as the failure context (after redaction).
    pub context: String,
    /// Values replaced in the context before it was sent.
    pub redactions: u32,
    pub prompt_tokens: Option<u32>,
    pub completion_tokens: Option<u32>,
    pub duration_ms: u64,
}

/// Where analyses are kept (both stores; `tests/conformance_insights.rs`).
pub trait AnalysisStore: Send + Sync + 'static {
    fn put_analysis(&self, analysis: Analysis) -> BoxFuture<'static, Result<()>>;
    /// A service's analyses, newest first, at most `limit`.
    fn analyses(&self, service_id: String, limit: u32) -> BoxFuture<'_, Result<Vec<Analysis>>>;
}

/// A stored body read back, with the times kept beside it.
pub fn from_stored(body: &str, created_ms: i64, incident_ms: i64) -> Result<Analysis> {
    let mut a: Analysis = serde_json::from_str(body)
        .map_err(|e| crate::Error::internal(format!("stored analysis: {e}")))?;
    a.created_ms = created_ms;
    a.incident_ms = (incident_ms != 0).then_some(incident_ms);
    Ok(a)
}
