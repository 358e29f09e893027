//! REST API under `/api`, the live status stream, health and metrics.

mod admin;
mod alerts;
mod anomalies;
mod audit;
mod auth;
mod capacity;
mod graph;
mod guard;
mod headers;
mod history;
mod insights;
mod limits;
pub mod openapi;
mod params;
mod patterns;
mod rejections;
mod reports;
mod search;
pub use self::admin::inputs;
mod push;
mod sse;
pub mod view;
mod views;
mod web;
mod websocket;

use std::sync::Arc;

use crate::state::AppState;
use crate::{Error, Result};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};

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
        .route("/api/status/websocket", get(websocket::websocket))
        .route("/api/status/{service_id}", get(one_status))
        .route("/api/services/{service_id}/history", get(history::history))
        .route(
            "/api/services/{service_id}/metrics",
            get(history::service_metrics),
        )
        .route(
            "/api/services/{service_id}/anomalies",
            get(anomalies::anomalies),
        )
        .route("/api/agents", get(agents))
        .route("/api/auth/me", get(auth::me))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/oidc/login", get(auth::oidc_login))
        .route("/api/auth/oidc/callback", get(auth::oidc_callback))
        .route(
            "/api/tokens",
            get(auth::list_tokens).post(auth::create_token),
        )
        .route("/api/tokens/{token_id}", delete(auth::revoke_token))
        .route("/api/audit", get(audit::list))
        .route("/api/audit.csv", get(audit::csv))
        .route("/api/audit/{audit_id}/revert", post(audit::revert))
        .route("/api/graph", get(graph::graph))
        .route("/api/search", get(search::search))
        .route("/api/patterns", get(patterns::patterns))
        .route("/api/reports/sla", get(reports::sla_report))
        .route("/api/capacity", get(capacity::capacity))
        .route("/api/anomalies", get(anomalies::found))
        .route(
            "/api/insights/{service_id}",
            get(insights::insights).post(insights::analyse),
        )
        .route(
            "/api/views",
            get(views::list_views).post(views::create_view),
        )
        .route(
            "/api/views/{view_id}",
            get(views::get_view)
                .put(views::update_view)
                .delete(views::delete_view),
        )
        .route("/api/push/key", get(push::push_key))
        .route(
            "/api/push/subscriptions",
            get(push::list_subscriptions).put(push::subscribe),
        )
        .route(
            "/api/push/subscriptions/{subscription_id}",
            delete(push::unsubscribe),
        )
        .route(
            "/api/push/subscriptions/{subscription_id}/test",
            post(push::test_push),
        )
        .route("/api/alerts", get(alerts::handling::list_alerts))
        .route(
            "/api/alerts/rules",
            get(alerts::list_rules).post(alerts::create_rule),
        )
        .route(
            "/api/alerts/rules/{rule_id}",
            put(alerts::put_rule).delete(alerts::delete_rule),
        )
        .route(
            "/api/alerts/channels",
            get(alerts::list_channels).post(alerts::create_channel),
        )
        .route(
            "/api/alerts/channels/{channel_id}",
            put(alerts::put_channel).delete(alerts::delete_channel),
        )
        .route(
            "/api/alerts/channels/{channel_id}/test",
            post(alerts::test_channel),
        )
        .route(
            "/api/alerts/notifications",
            get(alerts::handling::list_notifications),
        )
        .route(
            "/api/alerts/{alert_id}/acknowledge",
            post(alerts::handling::acknowledge),
        )
        .route(
            "/api/alerts/{alert_id}/unacknowledge",
            post(alerts::handling::unacknowledge),
        )
        .route(
            "/api/alerts/{alert_id}/resolve",
            post(alerts::handling::resolve),
        )
        .route(
            "/api/alerts/silences",
            get(alerts::silences::list).post(alerts::silences::create),
        )
        .route(
            "/api/alerts/silences/{silence_id}",
            delete(alerts::silences::delete),
        )
        .route(
            "/api/alerts/{alert_id}/acknowledge-link",
            post(alerts::handling::acknowledge_by_link),
        )
        .route(
            "/api/alerts/notifications/{notification_id}/attempts",
            get(alerts::handling::attempts),
        )
        .merge(admin::routes())
        .fallback(web::fallback)
        .layer(axum::middleware::from_fn(rejections::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(axum::Extension(Arc::new(limits::Limits::new(
            &state.config.limits,
        ))))
        .layer(axum::Extension(Arc::new(view::StatusView::default())))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::headers,
        ))
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

#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text format", content_type = "text/plain"), (status = 401, description = "`http.metrics_token_file` is set and the bearer token is not it", body = crate::error::ErrorBody)))]
async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if !state.auth.may_scrape(&headers) {
        return Error::Unauthenticated(
            "`/metrics` asks for its token (`http.metrics_token_file`)".into(),
        )
        .into_response();
    }
    let spools = state.agent_spools();
    let text = state.metrics.render(&crate::metrics::Scrape {
        agents: state.connected_agents(),
        services: state.service_count(),
        outbox_queued: state.alerting.outbox.queued_count(),
        pushes: state.push.counts(),
        spools: &spools,
    });
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

#[utoipa::path(get, path = "/api/agents", tag = "agents", responses((status = 200, body = Vec<crate::state::AgentView>)))]
async fn agents(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(state.agents()).into_response()
}

/// A query parameter that must be a whole number in `1..=max`.
pub(crate) fn number(
    text: &Option<String>,
    field: &str,
    default: usize,
    max: usize,
) -> Result<usize> {
    match text {
        None => Ok(default),
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(Error::bad_field(
                field,
                format!("`{t}` is not a whole number between 1 and {max}"),
            )),
        },
    }
}
