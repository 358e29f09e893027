//! `/api/push`: Web Push subscriptions of the caller's browsers
//! (`crate::push`). Anyone who may read statuses may subscribe; a
//! subscription is seen and changed by its owner only. Every change is
//! audited, without the browser's keys or its push URL (which reach it).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use super::audit;
use crate::audit::{ObjectChange, ObjectKind};
use crate::catalog::Actor;
use crate::catalog::body::{Body, required};
use crate::push::{self, Outcome, PushKeys, PushMessage, PushSubscription};
use crate::state::AppState;
use crate::{Error, Result};

/// What a browser needs to subscribe.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PushKey {
    /// The VAPID public key (`applicationServerKey`), base64url.
    pub public_key: String,
}

/// One of the caller's subscriptions, with how its last push went.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MySubscription {
    #[serde(flatten)]
    pub subscription: PushSubscription,
    pub last_push: Option<Outcome>,
}

fn audited(s: &PushSubscription) -> serde_json::Value {
    let service = url::Url::parse(&s.endpoint)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    serde_json::json!({
        "owner": s.owner, "label": s.label, "services": s.services, "push_service": service,
    })
}

fn change(
    before: Option<&PushSubscription>,
    after: Option<&PushSubscription>,
) -> Vec<ObjectChange> {
    vec![ObjectChange {
        kind: ObjectKind::PushSubscription,
        id: after
            .or(before)
            .map(|s| s.subscription_id.clone())
            .unwrap_or_default(),
        before: before.map(audited),
        after: after.map(audited),
    }]
}

async fn owned(state: &AppState, actor: &Actor, id: &str) -> Result<PushSubscription> {
    state
        .push
        .store()
        .push_subscriptions()
        .await?
        .into_iter()
        .find(|s| s.subscription_id == id && s.owner == actor.name)
        .ok_or_else(|| Error::not_found(format!("you have no push subscription `{id}`")))
}

#[utoipa::path(get, path = "/api/push/key", tag = "push", responses((status = 200, body = PushKey)))]
pub(super) async fn push_key(State(state): State<Arc<AppState>>) -> Json<PushKey> {
    Json(PushKey {
        public_key: state.push.public_key(),
    })
}

#[utoipa::path(get, path = "/api/push/subscriptions", tag = "push", responses((status = 200, description = "The caller's subscribed browsers", body = [MySubscription])))]
pub(super) async fn list_subscriptions(
    State(state): State<Arc<AppState>>,
    actor: Actor,
) -> Result<Json<Vec<MySubscription>>> {
    let mine = state
        .push
        .store()
        .push_subscriptions()
        .await?
        .into_iter()
        .filter(|s| s.owner == actor.name)
        .map(|s| MySubscription {
            last_push: state.push.outcome(&s.subscription_id),
            subscription: s,
        })
        .collect();
    Ok(Json(mine))
}

#[utoipa::path(put, path = "/api/push/subscriptions", tag = "push", request_body = crate::api::inputs::PushSubscriptionInput, responses((status = 201, description = "Subscribed", body = PushSubscription), (status = 200, description = "This browser's subscription replaced", body = PushSubscription), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn subscribe(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    bytes: Bytes,
) -> Result<Response> {
    let mut body = Body::parse(&bytes)?;
    let endpoint = required(body.string("endpoint")?, "endpoint")?;
    let mut keys = required(body.object("keys")?, "keys")?;
    let keys = PushKeys {
        p256dh: required(keys.string("p256dh")?, "keys.p256dh")?,
        auth: required(keys.string("auth")?, "keys.auth")?,
    };
    // What `PushSubscription.toJSON()` adds; push services here do not expire.
    body.json("expirationTime");
    let services = body.strings("services")?.unwrap_or_default();
    let label = body.string("label")?.unwrap_or_default();
    body.finish()?;
    let now = lightbulb_common::time::now_ms();
    let id = push::id_for(&endpoint);
    let before = state
        .push
        .store()
        .push_subscriptions()
        .await?
        .into_iter()
        .find(|s| s.subscription_id == id);
    let after = PushSubscription {
        subscription_id: id,
        owner: actor.name.clone(),
        endpoint,
        keys,
        services,
        label,
        created_ms: before.as_ref().map_or(now, |b| b.created_ms),
        updated_ms: now,
    };
    after.validate()?;
    state
        .push
        .store()
        .put_push_subscription(after.clone())
        .await?;
    let (action, code) = match &before {
        None => ("subscribe to pushes", StatusCode::CREATED),
        Some(_) => ("change push subscription", StatusCode::OK),
    };
    audit::record(
        &state,
        &actor,
        action,
        change(before.as_ref(), Some(&after)),
    )
    .await?;
    Ok((code, Json(after)).into_response())
}

#[utoipa::path(delete, path = "/api/push/subscriptions/{subscription_id}", tag = "push", params(("subscription_id" = String, Path, description = "Subscription id")), responses((status = 204, description = "Unsubscribed"), (status = 404, description = "Not one of the caller's", body = crate::error::ErrorBody)))]
pub(super) async fn unsubscribe(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let before = owned(&state, &actor, &id).await?;
    state.push.store().delete_push_subscription(id).await?;
    audit::record(
        &state,
        &actor,
        "unsubscribe from pushes",
        change(Some(&before), None),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/push/subscriptions/{subscription_id}/test", tag = "push", params(("subscription_id" = String, Path, description = "Subscription id")), responses((status = 200, description = "How the push went", body = Outcome), (status = 404, description = "Not one of the caller's", body = crate::error::ErrorBody)))]
pub(super) async fn test_push(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Json<Outcome>> {
    let sub = owned(&state, &actor, &id).await?;
    let message = PushMessage {
        title: "lightbulb test notification".into(),
        body: format!("Pushes reach this browser ({}).", actor.name),
        tag: "test".into(),
        url: "/".into(),
        urgent: false,
    };
    Ok(Json(state.push.send(&sub, &message).await))
}
