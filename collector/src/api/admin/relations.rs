//! `/api/admin/relations`: create, read, update, delete, and validate
//! without saving.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::api::audit::audited;
use crate::catalog::fields::{Body, RelationPatch};
use crate::catalog::model::Relation;
use crate::catalog::{Actor, not_found};
use crate::state::AppState;
use crate::{Error, Result};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RelationResponse {
    #[serde(flatten)]
    pub def: Relation,
    pub created_at: String,
    pub updated_at: String,
}

fn response(r: &Relation) -> RelationResponse {
    RelationResponse {
        def: r.clone(),
        created_at: lightbulb_common::time::format_iso(r.created_at_ms),
        updated_at: lightbulb_common::time::format_iso(r.updated_at_ms),
    }
}

/// The fields of a create (or validate) body.
fn fields(bytes: &[u8]) -> Result<RelationPatch> {
    let mut body = Body::parse(bytes)?;
    let fields = RelationPatch::read(&mut body)?;
    body.finish()?;
    Ok(fields)
}

#[utoipa::path(post, operation_id = "create_relation", path = "/api/admin/relations", tag = "admin", request_body = crate::api::inputs::RelationInput, responses((status = 201, body = RelationResponse), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 409, description = "Conflict: exists already, a dependency cycle, relations left, or managed by a file", body = crate::error::ErrorBody), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(in crate::api) async fn create(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    bytes: Bytes,
) -> Result<Response> {
    let r = state
        .catalog
        .create_relation(&actor, fields(&bytes)?)
        .await?;
    let out = (StatusCode::CREATED, axum::Json(response(&r))).into_response();
    Ok(audited(r.audit_id, out))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Valid {
    valid: bool,
}

/// The checks of `create`, cycle included, without saving anything.
#[utoipa::path(post, operation_id = "validate_relation", path = "/api/admin/relations/validate", tag = "admin", request_body = crate::api::inputs::RelationInput, responses((status = 200, body = Valid), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 409, description = "Conflict: exists already, a dependency cycle, relations left, or managed by a file", body = crate::error::ErrorBody), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(in crate::api) async fn validate(
    State(state): State<Arc<AppState>>,
    bytes: Bytes,
) -> Result<Response> {
    state.catalog.check_relation(fields(&bytes)?)?;
    Ok(axum::Json(Valid { valid: true }).into_response())
}

#[derive(Deserialize)]
pub(in crate::api) struct ListParams {
    service_id: Option<String>,
    relation_type: Option<String>,
}

#[utoipa::path(get, operation_id = "list_relations", path = "/api/admin/relations", tag = "admin", params(("service_id" = Option<String>, Query, description = "at either end"), ("relation_type" = Option<String>, Query)), responses((status = 200, body = Vec<RelationResponse>)))]
pub(in crate::api) async fn list(
    State(state): State<Arc<AppState>>,
    Query(p): Query<ListParams>,
) -> Response {
    let items: Vec<RelationResponse> = state.catalog.read(|c| {
        c.relations
            .values()
            .filter(|r| {
                p.service_id
                    .as_deref()
                    .is_none_or(|id| r.source_service_id == id || r.target_service_id == id)
            })
            .filter(|r| {
                p.relation_type
                    .as_deref()
                    .is_none_or(|t| r.relation_type.as_str() == t)
            })
            .map(response)
            .collect()
    });
    axum::Json(items).into_response()
}

#[utoipa::path(get, operation_id = "show_relation", path = "/api/admin/relations/{relation_id}", tag = "admin", params(("relation_id" = String, Path, description = "Relation id")), responses((status = 200, body = RelationResponse), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub(in crate::api) async fn show(
    State(state): State<Arc<AppState>>,
    Path(relation_id): Path<String>,
) -> Result<Response> {
    state.catalog.read(|c| {
        let r = c
            .relations
            .get(&relation_id)
            .ok_or_else(|| not_found("relation", &relation_id))?;
        Ok(axum::Json(response(r)).into_response())
    })
}

#[utoipa::path(put, operation_id = "update_relation", path = "/api/admin/relations/{relation_id}", tag = "admin", params(("relation_id" = String, Path, description = "Relation id")), request_body(content = crate::api::inputs::RelationInput, description = "only the fields to change"), responses((status = 200, body = RelationResponse), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 404, description = "Not found", body = crate::error::ErrorBody), (status = 409, description = "Conflict: exists already, a dependency cycle, relations left, or managed by a file", body = crate::error::ErrorBody), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(in crate::api) async fn update(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(relation_id): Path<String>,
    bytes: Bytes,
) -> Result<Response> {
    let mut body = Body::parse(&bytes)?;
    if let Some(id) = body.string("relation_id")?
        && id != relation_id
    {
        return Err(Error::invalid("relation_id", "cannot be changed"));
    }
    let fields = RelationPatch::read(&mut body)?;
    body.finish()?;
    let r = state
        .catalog
        .update_relation(&actor, &relation_id, fields)
        .await?;
    Ok(audited(
        r.audit_id,
        axum::Json(response(&r)).into_response(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Deleted {
    deleted: String,
}

#[utoipa::path(delete, operation_id = "delete_relation", path = "/api/admin/relations/{relation_id}", tag = "admin", params(("relation_id" = String, Path, description = "Relation id")), responses((status = 200, body = Deleted), (status = 404, description = "Not found", body = crate::error::ErrorBody), (status = 409, description = "Conflict: exists already, a dependency cycle, relations left, or managed by a file", body = crate::error::ErrorBody)))]
pub(in crate::api) async fn delete(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(relation_id): Path<String>,
) -> Result<Response> {
    let done = state.catalog.delete_relation(&actor, &relation_id).await?;
    let out = axum::Json(Deleted {
        deleted: relation_id,
    });
    Ok(audited(done.audit_id, out.into_response()))
}
