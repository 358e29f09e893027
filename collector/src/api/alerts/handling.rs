//! The alerts (list; acknowledge, take back, resolve, also by a signed
//! one-click link; every action audited) and the outbox's notifications
//! with their delivery attempts.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{change, now};
use crate::alerting::model::{Alert, AlertState, Attempt, Handling, Notification};
use crate::alerting::store::{DocKind, load};
use crate::api::audit;
use crate::audit::ObjectKind;
use crate::catalog::Actor;
use crate::state::AppState;
use crate::{Error, Result};

/// Most alerts or notifications one answer lists.
const LIST_LIMIT: usize = 500;

#[derive(Deserialize, utoipa::IntoParams)]
pub(crate) struct AlertFilter {
    /// `pending`, `firing` or `resolved`; default all.
    state: Option<String>,
    service_id: Option<String>,
}

#[utoipa::path(get, path = "/api/alerts", tag = "alerts", params(AlertFilter), responses((status = 200, description = "Newest first, at most 500", body = Vec<Alert>)))]
pub(crate) async fn list_alerts(
    State(state): State<Arc<AppState>>,
    Query(f): Query<AlertFilter>,
) -> Result<Json<Vec<Alert>>> {
    let mut alerts: Vec<Alert> = load(state.alerting.store.as_ref(), DocKind::Alert).await?;
    alerts.retain(|a| {
        f.state
            .as_deref()
            .is_none_or(|s| serde_json::to_value(a.state).is_ok_and(|v| v == s))
            && f.service_id.as_deref().is_none_or(|s| a.service_id == s)
    });
    alerts.sort_by(|a, b| {
        b.since_ms
            .cmp(&a.since_ms)
            .then_with(|| a.alert_id.cmp(&b.alert_id))
    });
    alerts.truncate(LIST_LIMIT);
    Ok(Json(alerts))
}

#[utoipa::path(get, path = "/api/alerts/notifications", tag = "alerts", responses((status = 200, description = "Newest first, at most 500", body = Vec<Notification>)))]
pub(crate) async fn list_notifications(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<Notification>>> {
    let mut all: Vec<Notification> =
        load(state.alerting.store.as_ref(), DocKind::Notification).await?;
    all.sort_by(|a, b| {
        b.created_ms
            .cmp(&a.created_ms)
            .then_with(|| a.notification_id.cmp(&b.notification_id))
    });
    all.truncate(LIST_LIMIT);
    Ok(Json(all))
}

#[utoipa::path(get, path = "/api/alerts/notifications/{notification_id}/attempts", tag = "alerts", responses((status = 200, description = "Newest first", body = Vec<Attempt>)))]
pub(crate) async fn attempts(
    State(state): State<Arc<AppState>>,
    Path(notification_id): Path<String>,
) -> Result<Json<Vec<Attempt>>> {
    Ok(Json(
        state
            .alerting
            .store
            .attempts(Some(notification_id), LIST_LIMIT)
            .await?,
    ))
}

/// The alert `alert_id` as stored; 404 if there is none.
async fn stored_alert(state: &AppState, alert_id: &str) -> Result<Alert> {
    let alerts: Vec<Alert> = load(state.alerting.store.as_ref(), DocKind::Alert).await?;
    alerts
        .into_iter()
        .find(|a| a.alert_id == alert_id)
        .ok_or_else(|| Error::not_found(format!("no alert `{alert_id}`")))
}

/// Records what `actor` did with an alert; the evaluator applies it within
/// a round (`alerting.interval`).
async fn handle(
    state: &AppState,
    actor: &Actor,
    alert_id: &str,
    action: &str,
    apply: impl FnOnce(&mut Handling),
) -> Result<Response> {
    let alert = stored_alert(state, alert_id).await?;
    if alert.state == AlertState::Resolved {
        return Err(Error::conflict(format!("alert `{alert_id}` is resolved")));
    }
    let before = state.alerting.handling().get(alert_id).cloned();
    let mut h = before.clone().unwrap_or(Handling {
        alert_id: alert_id.to_string(),
        acknowledged_by: None,
        resolved_by: None,
        at_ms: 0,
    });
    h.at_ms = now();
    apply(&mut h);
    state.alerting.put_handling(h.clone()).await?;
    let change = change(ObjectKind::Alert, alert_id, before.as_ref(), Some(&h));
    let id = audit::record(state, actor, action, change).await?;
    Ok(audit::audited(
        Some(id),
        (StatusCode::ACCEPTED, Json(h)).into_response(),
    ))
}

#[utoipa::path(post, path = "/api/alerts/{alert_id}/acknowledge", tag = "alerts", responses((status = 202, description = "Taken; escalation stops at the next round", body = Handling), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "Already resolved", body = crate::error::ErrorBody)))]
pub(crate) async fn acknowledge(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(alert_id): Path<String>,
) -> Result<Response> {
    let by = actor.name.clone();
    handle(&state, &actor, &alert_id, "acknowledge alert", |h| {
        h.acknowledged_by = Some(by)
    })
    .await
}

#[utoipa::path(post, path = "/api/alerts/{alert_id}/unacknowledge", tag = "alerts", responses((status = 202, description = "Taken; escalation resumes at the next round", body = Handling), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn unacknowledge(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(alert_id): Path<String>,
) -> Result<Response> {
    handle(&state, &actor, &alert_id, "unacknowledge alert", |h| {
        h.acknowledged_by = None
    })
    .await
}

#[utoipa::path(post, path = "/api/alerts/{alert_id}/resolve", tag = "alerts", responses((status = 202, description = "Taken; resolved (and notified) at the next round", body = Handling), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn resolve(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(alert_id): Path<String>,
) -> Result<Response> {
    let by = actor.name.clone();
    handle(&state, &actor, &alert_id, "resolve alert", |h| {
        h.resolved_by = Some(by)
    })
    .await
}

/// What a one-click link carries.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LinkInput {
    /// Seconds since the epoch after which the link no longer works.
    #[serde(deserialize_with = "whole_number")]
    expires: i64,
    signature: String,
}

/// A whole number, also written as one with a zero fraction (`5.0`), which
/// JSON Schema counts as an integer.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(serde::de::Error::custom(format!(
            "`{n}` is not a whole number"
        ))),
    }
}

#[utoipa::path(post, path = "/api/alerts/{alert_id}/acknowledge-link", tag = "alerts", request_body = LinkInput, responses((status = 202, body = Handling), (status = 403, description = "The signature does not fit or the link expired", body = crate::error::ErrorBody)))]
pub(crate) async fn acknowledge_by_link(
    State(state): State<Arc<AppState>>,
    request: axum::http::request::Parts,
    Path(alert_id): Path<String>,
    Json(link): Json<LinkInput>,
) -> Result<Response> {
    if link.expires.saturating_mul(1000) < now() {
        return Err(Error::Forbidden(
            "this link has expired; acknowledge the alert on its page".into(),
        ));
    }
    if !state.auth.tokens.link_signed(
        &crate::alerting::link_text(&alert_id, link.expires),
        &link.signature,
    ) {
        return Err(Error::Forbidden(
            "this link is not signed by this collector".into(),
        ));
    }
    let mut actor = Actor::named("link:notification");
    actor.ip = crate::api::guard::client_ip(&request);
    let by = actor.name.clone();
    handle(&state, &actor, &alert_id, "acknowledge alert", |h| {
        h.acknowledged_by = Some(by)
    })
    .await
}
