//! `/api/alerts`: rules and channels (read, create, replace, delete; every
//! change audited) and a test message to a channel. The alerts themselves
//! and their notifications are `alerts/handling.rs`.

pub(super) mod handling;
pub(super) mod silences;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::audit;
use crate::alerting::fields;
use crate::alerting::model::{Channel, Event, Message, Rule, Severity};
use crate::audit::{ObjectChange, ObjectKind};
use crate::catalog::fields::Body;
use crate::catalog::{Actor, owner};
use crate::state::AppState;
use crate::{Error, Result};

pub(super) fn change<T: Serialize>(
    kind: ObjectKind,
    id: &str,
    before: Option<&T>,
    after: Option<&T>,
) -> Vec<ObjectChange> {
    let json = |v: Option<&T>| v.map(|v| serde_json::to_value(v).expect("serializes"));
    vec![ObjectChange {
        kind,
        id: id.to_string(),
        before: json(before),
        after: json(after),
    }]
}

#[utoipa::path(get, path = "/api/alerts/rules", tag = "alerts", responses((status = 200, body = Vec<Rule>)))]
pub(super) async fn list_rules(State(state): State<Arc<AppState>>) -> Json<Vec<Rule>> {
    Json(state.alerting.rules())
}

#[utoipa::path(post, path = "/api/alerts/rules", tag = "alerts", request_body = crate::api::inputs::RuleInput, responses((status = 201, body = Rule), (status = 409, description = "A rule with this id exists", body = crate::error::ErrorBody), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn create_rule(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    bytes: Bytes,
) -> Result<Response> {
    let alerting = &state.alerting;
    let rule = fields::rule(
        Body::parse(&bytes)?,
        None,
        |c| alerting.channel(c).is_some(),
        now(),
    )?;
    if alerting.rule(&rule.rule_id).is_some() {
        return Err(Error::conflict(format!(
            "rule `{}` exists; replace it with PUT",
            rule.rule_id
        )));
    }
    alerting.put_rule(rule.clone()).await?;
    let id = audit::record(
        &state,
        &actor,
        "create alert rule",
        change(ObjectKind::AlertRule, &rule.rule_id, None, Some(&rule)),
    )
    .await?;
    Ok(audit::audited(
        Some(id),
        (StatusCode::CREATED, Json(rule)).into_response(),
    ))
}

#[utoipa::path(put, path = "/api/alerts/rules/{rule_id}", tag = "alerts", request_body = crate::api::inputs::RuleInput, responses((status = 200, body = Rule), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "The catalog file holds it", body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn put_rule(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(rule_id): Path<String>,
    bytes: Bytes,
) -> Result<Response> {
    let alerting = &state.alerting;
    let before = alerting
        .rule(&rule_id)
        .ok_or_else(|| Error::not_found(format!("no rule `{rule_id}`")))?;
    owner::may_change("rule", &rule_id, before.managed_by.as_deref(), None)?;
    let rule = fields::rule(
        Body::parse(&bytes)?,
        Some(&rule_id),
        |c| alerting.channel(c).is_some(),
        now(),
    )?;
    alerting.put_rule(rule.clone()).await?;
    let id = audit::record(
        &state,
        &actor,
        "update alert rule",
        change(ObjectKind::AlertRule, &rule_id, Some(&before), Some(&rule)),
    )
    .await?;
    Ok(audit::audited(Some(id), Json(rule).into_response()))
}

#[utoipa::path(delete, path = "/api/alerts/rules/{rule_id}", tag = "alerts", responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "The catalog file holds it", body = crate::error::ErrorBody)))]
pub(super) async fn delete_rule(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(rule_id): Path<String>,
) -> Result<Response> {
    let before = state
        .alerting
        .rule(&rule_id)
        .ok_or_else(|| Error::not_found(format!("no rule `{rule_id}`")))?;
    owner::may_change("rule", &rule_id, before.managed_by.as_deref(), None)?;
    state.alerting.delete_rule(&rule_id).await?;
    let id = audit::record(
        &state,
        &actor,
        "delete alert rule",
        change(ObjectKind::AlertRule, &rule_id, Some(&before), None),
    )
    .await?;
    Ok(audit::audited(
        Some(id),
        StatusCode::NO_CONTENT.into_response(),
    ))
}

#[utoipa::path(get, path = "/api/alerts/channels", tag = "alerts", responses((status = 200, description = "Secrets shown as `<redacted>`", body = Vec<Channel>)))]
pub(super) async fn list_channels(State(state): State<Arc<AppState>>) -> Json<Vec<Channel>> {
    Json(
        state
            .alerting
            .channels()
            .iter()
            .map(Channel::redacted)
            .collect(),
    )
}

#[utoipa::path(post, path = "/api/alerts/channels", tag = "alerts", request_body = crate::api::inputs::ChannelInput, responses((status = 201, body = Channel), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn create_channel(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    bytes: Bytes,
) -> Result<Response> {
    let channel = fields::channel(Body::parse(&bytes)?, None, None, now())?;
    if state.alerting.channel(&channel.channel_id).is_some() {
        return Err(Error::conflict(format!(
            "channel `{}` exists; replace it with PUT",
            channel.channel_id
        )));
    }
    state.alerting.put_channel(channel.clone()).await?;
    let shown = channel.redacted();
    let id = audit::record(
        &state,
        &actor,
        "create alert channel",
        change(
            ObjectKind::AlertChannel,
            &shown.channel_id,
            None,
            Some(&shown),
        ),
    )
    .await?;
    Ok(audit::audited(
        Some(id),
        (StatusCode::CREATED, Json(shown)).into_response(),
    ))
}

#[utoipa::path(put, path = "/api/alerts/channels/{channel_id}", tag = "alerts", request_body = crate::api::inputs::ChannelInput, responses((status = 200, body = Channel), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "The catalog file holds it", body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn put_channel(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(channel_id): Path<String>,
    bytes: Bytes,
) -> Result<Response> {
    let before = state
        .alerting
        .channel(&channel_id)
        .ok_or_else(|| Error::not_found(format!("no channel `{channel_id}`")))?;
    owner::may_change("channel", &channel_id, before.managed_by.as_deref(), None)?;
    let channel = fields::channel(
        Body::parse(&bytes)?,
        Some(&channel_id),
        Some(&before),
        now(),
    )?;
    state.alerting.put_channel(channel.clone()).await?;
    let shown = channel.redacted();
    let change = change(
        ObjectKind::AlertChannel,
        &channel_id,
        Some(&before.redacted()),
        Some(&shown),
    );
    let id = audit::record(&state, &actor, "update alert channel", change).await?;
    Ok(audit::audited(Some(id), Json(shown).into_response()))
}

#[utoipa::path(delete, path = "/api/alerts/channels/{channel_id}", tag = "alerts", responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, description = "Rules still notify it, or the catalog file holds it", body = crate::error::ErrorBody)))]
pub(super) async fn delete_channel(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(channel_id): Path<String>,
) -> Result<Response> {
    let before = state
        .alerting
        .channel(&channel_id)
        .ok_or_else(|| Error::not_found(format!("no channel `{channel_id}`")))?;
    owner::may_change("channel", &channel_id, before.managed_by.as_deref(), None)?;
    let users: Vec<String> = state
        .alerting
        .rules()
        .into_iter()
        .filter(|r| r.channels.contains(&channel_id))
        .map(|r| r.rule_id)
        .collect();
    if !users.is_empty() {
        return Err(Error::conflict(format!(
            "rules {} notify channel `{channel_id}`; take it out of them first",
            users.join(", ")
        )));
    }
    state.alerting.delete_channel(&channel_id).await?;
    let change = change(
        ObjectKind::AlertChannel,
        &channel_id,
        Some(&before.redacted()),
        None,
    );
    let id = audit::record(&state, &actor, "delete alert channel", change).await?;
    Ok(audit::audited(
        Some(id),
        StatusCode::NO_CONTENT.into_response(),
    ))
}

/// How a test message went.
#[derive(Serialize, utoipa::ToSchema)]
struct TestAnswer {
    ok: bool,
    /// The receiver's answer (HTTP status, SMTP reply code), if any.
    code: Option<u16>,
    detail: String,
}

#[utoipa::path(post, path = "/api/alerts/channels/{channel_id}/test", tag = "alerts", responses((status = 200, description = "Sent or not: `ok` and the receiver's answer", body = TestAnswer), (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn test_channel(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(channel_id): Path<String>,
) -> Result<Response> {
    let channel = state
        .alerting
        .channel(&channel_id)
        .ok_or_else(|| Error::not_found(format!("no channel `{channel_id}`")))?;
    let base = state
        .config
        .alerting
        .dashboard_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.config.http.listen));
    let message = Message {
        event: Event::Test,
        alert_id: format!("test:{channel_id}"),
        rule_id: "test".into(),
        rule_name: "Test message".into(),
        severity: Severity::Info,
        service_id: "lightbulb".into(),
        service_label: "lightbulb".into(),
        status: "OK".into(),
        message: format!("A test of channel `{channel_id}`, sent by {}", actor.name),
        since_ms: now(),
        impacted: Vec::new(),
        link: base,
        escalation: None,
        acknowledge_link: None,
    };
    let answer = state.alerting.outbox.test(&channel, message).await;
    let change = change::<Channel>(ObjectKind::AlertChannel, &channel_id, None, None);
    let id = audit::record(&state, &actor, "test alert channel", change).await?;
    let body = TestAnswer {
        ok: answer.ok,
        code: answer.code,
        detail: answer.detail,
    };
    Ok(audit::audited(Some(id), Json(body).into_response()))
}

pub(super) fn now() -> i64 {
    lightbulb_common::time::now_ms()
}
