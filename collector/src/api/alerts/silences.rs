//! Silences and maintenance windows: list (with whether each is open now),
//! create, delete; every change audited.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{change, now};
use crate::alerting::silence::Silence;
use crate::api::audit;
use crate::audit::ObjectKind;
use crate::catalog::Actor;
use crate::catalog::fields::Body;
use crate::state::AppState;
use crate::{Error, Result};

/// A silence, and whether its window is open now.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SilenceView {
    #[serde(flatten)]
    silence: Silence,
    open: bool,
}

#[utoipa::path(get, path = "/api/alerts/silences", tag = "alerts", operation_id = "list_silences", responses((status = 200, body = Vec<SilenceView>)))]
pub(crate) async fn list(State(state): State<Arc<AppState>>) -> Json<Vec<SilenceView>> {
    let t = now();
    Json(
        state
            .alerting
            .silences()
            .into_iter()
            .map(|s| SilenceView {
                open: s.open(t),
                silence: s,
            })
            .collect(),
    )
}

#[utoipa::path(post, path = "/api/alerts/silences", tag = "alerts", operation_id = "create_silence", request_body = crate::api::inputs::SilenceInput, responses((status = 201, body = SilenceView), (status = 409, body = crate::error::ErrorBody), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    bytes: Bytes,
) -> Result<Response> {
    let silence = crate::alerting::silence::read(Body::parse(&bytes)?, &actor.name, now())?;
    if state.alerting.silence(&silence.silence_id).is_some() {
        return Err(Error::conflict(format!(
            "silence `{}` exists",
            silence.silence_id
        )));
    }
    state.alerting.put_silence(silence.clone()).await?;
    let change = change(
        ObjectKind::Silence,
        &silence.silence_id,
        None,
        Some(&silence),
    );
    let action = if silence.maintenance {
        "create maintenance window"
    } else {
        "create silence"
    };
    let id = audit::record(&state, &actor, action, change).await?;
    let view = SilenceView {
        open: silence.open(now()),
        silence,
    };
    Ok(audit::audited(
        Some(id),
        (StatusCode::CREATED, Json(view)).into_response(),
    ))
}

#[utoipa::path(delete, path = "/api/alerts/silences/{silence_id}", tag = "alerts", operation_id = "delete_silence", responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn delete(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(silence_id): Path<String>,
) -> Result<Response> {
    let before = state
        .alerting
        .silence(&silence_id)
        .ok_or_else(|| Error::not_found(format!("no silence `{silence_id}`")))?;
    state.alerting.delete_silence(&silence_id).await?;
    let change = change(ObjectKind::Silence, &silence_id, Some(&before), None);
    let id = audit::record(&state, &actor, "delete silence", change).await?;
    Ok(audit::audited(
        Some(id),
        StatusCode::NO_CONTENT.into_response(),
    ))
}
