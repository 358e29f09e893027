//! `GET /api/patterns`: the failure patterns of a range, fleet-wide or of
//! one service (`crate::insights::patterns`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use lightbulb_common::time::format_iso;
use serde::{Deserialize, Serialize};

use crate::insights::patterns::{self, FailureQuery, Pattern};
use crate::state::AppState;
use crate::{Error, Result};

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 200;
/// Failing results mined at most, the newest of the range.
pub const SCAN: u32 = 20_000;

#[derive(Deserialize)]
pub(super) struct PatternParams {
    from: Option<String>,
    to: Option<String>,
    service_id: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Patterns {
    pub from: String,
    pub to: String,
    /// Failing results mined.
    pub results: u64,
    /// The range held more failing results than are mined: the oldest were
    /// left out.
    pub more: bool,
    /// Most frequent first.
    pub patterns: Vec<Pattern>,
}

#[utoipa::path(get, path = "/api/patterns", tag = "history", params(("from" = Option<String>, Query, description = "ISO 8601 or epoch ms; default 24 h before `to`"), ("to" = Option<String>, Query, description = "ISO 8601 or epoch ms; default now"), ("service_id" = Option<String>, Query, description = "only this service's results"), ("limit" = Option<u32>, Query, description = "patterns, 1–200, default 20")), responses((status = 200, body = Patterns), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn patterns(
    State(state): State<Arc<AppState>>,
    Query(p): Query<PatternParams>,
) -> Result<Json<Patterns>> {
    let (from_ms, to_ms) = super::params::time_range(&p.from, &p.to)?;
    let limit = super::params::limit(&p.limit, DEFAULT_LIMIT, MAX_LIMIT)? as usize;
    let query = FailureQuery {
        from_ms,
        to_ms,
        service_id: p.service_id.filter(|s| !s.is_empty()),
        limit: SCAN + 1,
    };
    let mut lines = state.store.failures(query).await?;
    let more = lines.len() > SCAN as usize;
    lines.truncate(SCAN as usize);
    let results = lines.len() as u64;
    let found = tokio::task::spawn_blocking(move || patterns::mine(&lines, limit))
        .await
        .map_err(|e| Error::internal(format!("mining failure patterns: {e}")))?;
    Ok(Json(Patterns {
        from: format_iso(from_ms),
        to: format_iso(to_ms),
        results,
        more,
        patterns: found,
    }))
}
