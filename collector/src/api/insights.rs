//! `/api/insights/{service_id}`: a service's AI analyses, and asking for
//! one now (`crate::insights::ai`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::alerts::change;
use super::audit;
use crate::audit::ObjectKind;
use crate::catalog::Actor;
use crate::insights::ai::record::{Analysis, Trigger};
use crate::state::AppState;
use crate::{Error, Result};

const DEFAULT_LIMIT: u32 = 10;
const MAX_LIMIT: u32 = 50;

#[derive(Deserialize)]
pub(super) struct InsightParams {
    limit: Option<String>,
}

/// A service's analyses and whether analysis is on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Insights {
    pub service_id: String,
    /// `[insights.ai]` is configured.
    pub enabled: bool,
    pub model: Option<String>,
    /// Tokens spent in the last hour by this collector, and the most allowed.
    pub tokens_used: u64,
    pub tokens_per_hour: u64,
    /// Newest first.
    pub analyses: Vec<Analysis>,
}

/// What an analysis asked for leaves in the audit log (not its context).
#[derive(Serialize)]
struct Asked<'a> {
    service_id: &'a str,
    model: &'a str,
    outcome: crate::insights::ai::record::Outcome,
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
}

#[utoipa::path(get, path = "/api/insights/{service_id}", tag = "insights", params(("service_id" = String, Path, description = "Service id"), ("limit" = Option<u32>, Query, description = "analyses, 1–50, default 10")), responses((status = 200, body = Insights), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub(super) async fn insights(
    State(state): State<Arc<AppState>>,
    Path(service_id): Path<String>,
    Query(p): Query<InsightParams>,
) -> Result<Json<Insights>> {
    let limit = super::params::limit(&p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    super::history::known_service(&state, &service_id).await?;
    let analyses = state.store.analyses(service_id.clone(), limit).await?;
    let ai = state.config.insights.ai.as_ref();
    Ok(Json(Insights {
        service_id,
        enabled: state.analyst.is_some(),
        model: ai.map(|a| a.model.clone()),
        tokens_used: state
            .analyst
            .as_ref()
            .map_or(0, |a| a.budget.used(lightbulb_common::time::now_ms())),
        tokens_per_hour: ai.map_or(0, |a| a.tokens_per_hour),
        analyses,
    }))
}

#[utoipa::path(post, path = "/api/insights/{service_id}", tag = "insights", params(("service_id" = String, Path, description = "Service id")), responses((status = 201, description = "The analysis, whatever its outcome (a model that did not answer gives `failed` and says why)", body = Analysis), (status = 404, description = "Not found", body = crate::error::ErrorBody), (status = 409, description = "AI analysis is not configured, or an analysis of the service is under way", body = crate::error::ErrorBody), (status = 429, description = "The hourly token budget is spent", body = crate::error::ErrorBody)))]
pub(super) async fn analyse(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(service_id): Path<String>,
) -> Result<Response> {
    let Some(analyst) = state.analyst.clone() else {
        return Err(Error::conflict(
            "AI analysis is off: configure a model under `[insights.ai]` in collector.toml",
        ));
    };
    let analysis = analyst
        .analyse(
            &state,
            &service_id,
            Trigger::Request,
            Some(actor.name.clone()),
            None,
        )
        .await?;
    let asked = Asked {
        service_id: &analysis.service_id,
        model: &analysis.model,
        outcome: analysis.outcome,
        prompt_tokens: analysis.prompt_tokens,
        completion_tokens: analysis.completion_tokens,
    };
    let id = audit::record(
        &state,
        &actor,
        "ask for an AI analysis",
        change(
            ObjectKind::Analysis,
            &analysis.analysis_id,
            None,
            Some(&asked),
        ),
    )
    .await?;
    Ok(audit::audited(
        Some(id),
        (StatusCode::CREATED, Json(analysis)).into_response(),
    ))
}
