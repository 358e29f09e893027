//! `/api/views`: the caller's saved views (`crate::views`). Anyone who may
//! read statuses may keep views of their own; a view is read by anyone with
//! its id (its link), and changed only by its owner. Every change is audited
//! (without the audit id header: the audit log's revert is for the catalog).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::audit;
use crate::audit::{ObjectChange, ObjectKind};
use crate::catalog::Actor;
use crate::catalog::body::Body;
use crate::state::AppState;
use crate::views::{self, SavedView, ViewDefinition};
use crate::{Error, Result};

fn change(before: Option<&SavedView>, after: Option<&SavedView>) -> Vec<ObjectChange> {
    let json = |v: Option<&SavedView>| v.map(|v| serde_json::to_value(v).expect("views serialize"));
    vec![ObjectChange {
        kind: ObjectKind::View,
        id: after
            .or(before)
            .map(|v| v.view_id.clone())
            .unwrap_or_default(),
        before: json(before),
        after: json(after),
    }]
}

/// The name, definition and start flag of a request body, as given.
fn read(bytes: &[u8]) -> Result<(Option<String>, Option<ViewDefinition>, Option<bool>)> {
    let mut body = Body::parse(bytes)?;
    let name = body.string("name")?;
    let definition = match body.json("definition") {
        None => None,
        Some(v) => Some(
            serde_json::from_value::<ViewDefinition>(v)
                .map_err(|e| Error::invalid("definition", e.to_string()))?,
        ),
    };
    let start = body.boolean("start")?;
    body.finish()?;
    if let Some(n) = &name
        && (n.trim().is_empty() || n.chars().count() > 100)
    {
        return Err(Error::invalid("name", "must be 1–100 characters"));
    }
    if let Some(d) = &definition {
        d.validate()?;
    }
    Ok((name, definition, start))
}

async fn find(state: &AppState, view_id: &str) -> Result<SavedView> {
    state
        .store
        .views()
        .await?
        .into_iter()
        .find(|v| v.view_id == view_id)
        .ok_or_else(|| Error::not_found(format!("view `{view_id}` not found")))
}

/// Makes `view` the owner's only start page.
async fn only_start(state: &AppState, view: &SavedView) -> Result<()> {
    for mut other in state.store.views().await? {
        if other.owner == view.owner && other.view_id != view.view_id && other.start {
            other.start = false;
            state.store.put_view(other).await?;
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/views", tag = "views", responses((status = 200, description = "The caller's views, by name", body = [SavedView])))]
pub(super) async fn list_views(
    State(state): State<Arc<AppState>>,
    actor: Actor,
) -> Result<Json<Vec<SavedView>>> {
    let mut mine: Vec<SavedView> = state
        .store
        .views()
        .await?
        .into_iter()
        .filter(|v| v.owner == actor.name)
        .collect();
    mine.sort_by_key(|v| v.name.to_lowercase());
    Ok(Json(mine))
}

#[utoipa::path(get, path = "/api/views/{view_id}", tag = "views", params(("view_id" = String, Path, description = "View id")), responses((status = 200, body = SavedView), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub(super) async fn get_view(
    State(state): State<Arc<AppState>>,
    Path(view_id): Path<String>,
) -> Result<Json<SavedView>> {
    Ok(Json(find(&state, &view_id).await?))
}

#[utoipa::path(post, path = "/api/views", tag = "views", request_body = crate::api::inputs::ViewInput, responses((status = 201, body = SavedView), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn create_view(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    bytes: Bytes,
) -> Result<Response> {
    let (name, definition, start) = read(&bytes)?;
    let name = name.ok_or_else(|| Error::invalid("name", "is required"))?;
    let now = lightbulb_common::time::now_ms();
    let view = SavedView {
        view_id: views::new_id(&name),
        name,
        owner: actor.name.clone(),
        definition: definition.unwrap_or_default(),
        start: start.unwrap_or(false),
        created_ms: now,
        updated_ms: now,
    };
    if view.start {
        only_start(&state, &view).await?;
    }
    state.store.put_view(view.clone()).await?;
    audit::record(&state, &actor, "save view", change(None, Some(&view))).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The view, if `actor` owns it.
async fn owned(state: &AppState, actor: &Actor, view_id: &str) -> Result<SavedView> {
    let view = find(state, view_id).await?;
    if view.owner != actor.name {
        return Err(Error::Forbidden(format!(
            "view `{view_id}` belongs to {}; save a copy of your own instead",
            view.owner
        )));
    }
    Ok(view)
}

#[utoipa::path(put, path = "/api/views/{view_id}", tag = "views", params(("view_id" = String, Path, description = "View id")), request_body = crate::api::inputs::ViewChange, responses((status = 200, body = SavedView), (status = 403, description = "Another user's view", body = crate::error::ErrorBody), (status = 404, description = "Not found", body = crate::error::ErrorBody), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn update_view(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(view_id): Path<String>,
    bytes: Bytes,
) -> Result<Response> {
    let (name, definition, start) = read(&bytes)?;
    let before = owned(&state, &actor, &view_id).await?;
    let mut after = before.clone();
    after.name = name.unwrap_or(after.name);
    after.definition = definition.unwrap_or(after.definition);
    after.start = start.unwrap_or(after.start);
    after.updated_ms = lightbulb_common::time::now_ms();
    if after.start {
        only_start(&state, &after).await?;
    }
    state.store.put_view(after.clone()).await?;
    audit::record(
        &state,
        &actor,
        "change view",
        change(Some(&before), Some(&after)),
    )
    .await?;
    Ok(Json(after).into_response())
}

#[utoipa::path(delete, path = "/api/views/{view_id}", tag = "views", params(("view_id" = String, Path, description = "View id")), responses((status = 200, body = SavedView), (status = 403, description = "Another user's view", body = crate::error::ErrorBody), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub(super) async fn delete_view(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(view_id): Path<String>,
) -> Result<Response> {
    let before = owned(&state, &actor, &view_id).await?;
    state.store.delete_view(view_id).await?;
    audit::record(&state, &actor, "delete view", change(Some(&before), None)).await?;
    Ok(Json(before).into_response())
}
