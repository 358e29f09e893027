//! `GET /api/search`: recent results whose message or details hold every
//! word of `q`, newest first, with the matches marked (`crate::search`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use lightbulb_common::time::format_iso;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::search::{self, Part, SearchQuery};
use crate::state::AppState;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

#[derive(Deserialize)]
pub(super) struct SearchParams {
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    service_id: Option<String>,
    limit: Option<String>,
}

/// One matching result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub service_id: String,
    pub agent_id: String,
    pub seq: u64,
    pub timestamp: String,
    pub status_code: u8,
    pub status: &'static str,
    /// The message, cut into parts; `hit` marks the matches.
    pub message: Vec<Part>,
    /// The part of `details` around its first match, if it has one.
    pub details: Option<Vec<Part>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// The words looked for, lower-cased.
    pub terms: Vec<String>,
    pub from: String,
    pub to: String,
    pub hits: Vec<SearchHit>,
    /// More results match than `limit`: narrow the range or add words.
    pub more: bool,
}

#[utoipa::path(get, path = "/api/search", tag = "history", params(("q" = String, Query, description = "words, each found anywhere in a message or details, case aside (at least 3 characters each, at most 8)"), ("from" = Option<String>, Query, description = "ISO 8601 or epoch ms; default 24 h before `to`"), ("to" = Option<String>, Query, description = "ISO 8601 or epoch ms; default now"), ("service_id" = Option<String>, Query, description = "only this service's results"), ("limit" = Option<u32>, Query, description = "1–500, default 50")), responses((status = 200, body = SearchResults), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn search(
    State(state): State<Arc<AppState>>,
    Query(p): Query<SearchParams>,
) -> Result<Json<SearchResults>> {
    let terms = search::terms(p.q.as_deref().unwrap_or_default())?;
    let (from_ms, to_ms) = super::params::time_range(&p.from, &p.to)?;
    let limit = super::params::limit(&p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let query = SearchQuery {
        terms: terms.clone(),
        from_ms,
        to_ms,
        service_id: p.service_id.filter(|s| !s.is_empty()),
        limit: limit + 1,
    };
    let mut found = state.store.search(query).await?;
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
    let hits = found
        .into_iter()
        .map(|f| SearchHit {
            message: search::parts(&f.message, &terms),
            details: search::excerpt(&f.details, &terms).map(|e| search::parts(&e, &terms)),
            service_id: f.service_id,
            agent_id: f.agent_id,
            seq: f.seq,
            timestamp: format_iso(f.ts_ms),
            status_code: f.status.code(),
            status: f.status.name(),
        })
        .collect();
    Ok(Json(SearchResults {
        terms,
        from: format_iso(from_ms),
        to: format_iso(to_ms),
        hits,
        more,
    }))
}
