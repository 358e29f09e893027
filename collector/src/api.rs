//! REST API under `/api`, the live status stream, health and metrics.

mod admin;
mod graph;
pub mod openapi;
pub use self::admin::inputs;
mod sse;
pub mod view;
mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::state::AppState;
use crate::store::HistoryQuery;
use crate::store::rollup::RangeQuery;
use crate::{Error, Result};

/// Largest `limit` the history endpoint accepts.
const MAX_HISTORY_LIMIT: u32 = 10_000;
/// `limit` when none is given.
const DEFAULT_HISTORY_LIMIT: u32 = 1000;
/// Range when `from` is not given: the last 24 hours.
const DEFAULT_RANGE_MS: i64 = 24 * 3600 * 1000;
/// Most buckets one history query may ask for.
const MAX_BUCKETS: i64 = 10_000;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(web::index))
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi::openapi_json))
        .route("/api/docs", get(openapi::docs))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/status", get(all_status))
        .route("/api/status/stream", get(sse::stream))
        .route("/api/status/{service_id}", get(one_status))
        .route("/api/services/{service_id}/history", get(history))
        .route("/api/services/{service_id}/metrics", get(service_metrics))
        .route("/api/agents", get(agents))
        .route("/api/graph", get(graph::graph))
        .merge(admin::routes())
        .fallback(web::fallback)
        .layer(axum::Extension(Arc::new(view::StatusView::default())))
        .with_state(state)
}

#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "The process runs", content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok\n"
}

#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, description = "The store answers and accepts writes"), (status = 503, description = "Not ready", body = crate::error::ErrorBody)))]
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => Error::unavailable(format!("not ready: {e}")).into_response(),
    }
}

#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(
        state.connected_agents(),
        state.service_count(),
        &state.agent_spools(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// All statuses. Serialized once per change; `If-None-Match` gets 304 while
/// nothing changed, and clients that accept gzip get the compressed copy.
#[utoipa::path(get, path = "/api/status", tag = "status", responses((status = 200, description = "Every service's current status; ETag/If-None-Match (304) and gzip", body = Vec<view::ServiceStatus>), (status = 304, description = "Unchanged since the ETag sent")))]
async fn all_status(
    State(state): State<Arc<AppState>>,
    axum::Extension(view): axum::Extension<Arc<view::StatusView>>,
    headers: HeaderMap,
) -> Response {
    let body = view.body(&state);
    let common = [
        (header::ETAG, body.etag.clone()),
        (header::CACHE_CONTROL, "no-cache".to_string()),
        (header::VARY, "Accept-Encoding".to_string()),
    ];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == body.etag));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|e| e.trim().split(';').next() == Some("gzip"))
        });
    let content_type = (header::CONTENT_TYPE, "application/json".to_string());
    if gzip {
        let encoding = (header::CONTENT_ENCODING, "gzip".to_string());
        (common, [content_type, encoding], body.gzip()).into_response()
    } else {
        (common, [content_type], body.json.clone()).into_response()
    }
}

#[utoipa::path(get, path = "/api/status/{service_id}", tag = "status", params(("service_id" = String, Path, description = "Service id")), responses((status = 200, body = view::ServiceStatus), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
async fn one_status(
    State(state): State<Arc<AppState>>,
    Path(service_id): Path<String>,
) -> Result<Response> {
    let status = view::service(&state, &service_id)
        .ok_or_else(|| Error::not_found(format!("service `{service_id}` not found")))?;
    Ok(axum::Json(status).into_response())
}

#[derive(Deserialize)]
struct HistoryParams {
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    step: Option<String>,
}

/// `from`/`to` of a range query: ISO 8601 or epoch ms; defaults to the last 24 hours.
fn time_range(from: &Option<String>, to: &Option<String>) -> Result<(i64, i64)> {
    let parse = |field: &str, v: &str| {
        lightbulb_common::time::parse_instant(v).map_err(|e| Error::bad_field(field, e))
    };
    let to_ms = match to {
        Some(t) => parse("to", t)?,
        None => lightbulb_common::time::now_ms(),
    };
    let from_ms = match from {
        Some(f) => parse("from", f)?,
        None => to_ms - DEFAULT_RANGE_MS,
    };
    if from_ms > to_ms {
        return Err(Error::bad_field("from", "`from` is after `to`"));
    }
    Ok((from_ms, to_ms))
}

/// `step`: a duration (`10s`, `5m`, `1h`) or whole seconds, at least 1s,
/// giving at most `MAX_BUCKETS` buckets over the range.
fn parse_step(step: &str, from_ms: i64, to_ms: i64) -> Result<i64> {
    let ms = match step.parse::<u64>() {
        Ok(secs) => secs.saturating_mul(1000),
        Err(_) => lightbulb_common::time::parse_duration(step)
            .map_err(|e| Error::bad_field("step", e))?
            .as_millis() as u64,
    };
    if ms < 1000 || ms % 1000 != 0 {
        return Err(Error::bad_field(
            "step",
            format!("`{step}` must be a whole number of seconds, at least 1s"),
        ));
    }
    let ms = ms as i64;
    if (to_ms - from_ms) / ms >= MAX_BUCKETS {
        return Err(Error::bad_field(
            "step",
            format!(
                "`{step}` makes more than {MAX_BUCKETS} buckets over this range; use a larger step"
            ),
        ));
    }
    Ok(ms)
}

/// A service is known while it is live, and after it was deleted for as
/// long as results of it are kept (its history stays readable).
async fn known_service(state: &AppState, service_id: &str) -> Result<()> {
    if view::service(state, service_id).is_some() {
        return Ok(());
    }
    let kept = state
        .store
        .history(HistoryQuery {
            service_id: service_id.to_string(),
            from_ms: 0,
            to_ms: lightbulb_common::time::now_ms(),
            limit: 1,
        })
        .await?;
    if kept.total > 0 {
        Ok(())
    } else {
        Err(Error::not_found(format!(
            "service `{service_id}` not found"
        )))
    }
}

#[utoipa::path(get, path = "/api/services/{service_id}/history", tag = "history", params(("service_id" = String, Path, description = "Service id"), ("from" = Option<String>, Query, description = "ISO 8601 or epoch ms; default 24 h before `to`"), ("to" = Option<String>, Query, description = "ISO 8601 or epoch ms; default now"), ("limit" = Option<u32>, Query, description = "raw points, 1–10000, default 1000"), ("step" = Option<String>, Query, description = "bucket size (`30s`, `5m`, `1h` or seconds); absent: raw points")), responses((status = 200, description = "Raw points (`History`) or, with `step`, `Buckets`", body = crate::store::History), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
async fn history(
    State(state): State<Arc<AppState>>,
    Path(service_id): Path<String>,
    Query(params): Query<HistoryParams>,
) -> Result<Response> {
    let (from_ms, to_ms) = time_range(&params.from, &params.to)?;
    let limit = match &params.limit {
        None => DEFAULT_HISTORY_LIMIT,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=MAX_HISTORY_LIMIT).contains(&n) => n,
            _ => {
                return Err(Error::bad_field(
                    "limit",
                    format!("`{l}` is not a whole number between 1 and {MAX_HISTORY_LIMIT}"),
                ));
            }
        },
    };
    let step_ms = match &params.step {
        Some(step) => Some(parse_step(step, from_ms, to_ms)?),
        None => None,
    };
    known_service(&state, &service_id).await?;
    if let Some(step_ms) = step_ms {
        let range = RangeQuery {
            service_id,
            from_ms,
            to_ms,
        };
        return Ok(axum::Json(state.store.buckets(range, step_ms).await?).into_response());
    }
    let history = state
        .store
        .history(HistoryQuery {
            service_id,
            from_ms,
            to_ms,
            limit,
        })
        .await?;
    Ok(axum::Json(history).into_response())
}

#[derive(Deserialize)]
struct RangeParams {
    from: Option<String>,
    to: Option<String>,
}

/// Latency percentiles, error rate, uptime and check count over a range.
#[utoipa::path(get, path = "/api/services/{service_id}/metrics", tag = "history", params(("service_id" = String, Path, description = "Service id"), ("from" = Option<String>, Query, description = "ISO 8601 or epoch ms"), ("to" = Option<String>, Query, description = "ISO 8601 or epoch ms")), responses((status = 200, body = crate::store::rollup::Summary), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
async fn service_metrics(
    State(state): State<Arc<AppState>>,
    Path(service_id): Path<String>,
    Query(params): Query<RangeParams>,
) -> Result<Response> {
    let (from_ms, to_ms) = time_range(&params.from, &params.to)?;
    known_service(&state, &service_id).await?;
    let range = RangeQuery {
        service_id,
        from_ms,
        to_ms,
    };
    Ok(axum::Json(state.store.summary(range).await?).into_response())
}

#[utoipa::path(get, path = "/api/agents", tag = "agents", responses((status = 200, body = Vec<crate::state::AgentView>)))]
async fn agents(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(state.agents()).into_response()
}
