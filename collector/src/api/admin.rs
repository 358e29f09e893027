//! `/api/admin/services` and `/api/admin/relations`: the catalog through
//! REST. Every change goes through `Registry::change`.

pub(super) mod bulk;
pub mod inputs;
pub(super) mod relations;
pub(super) mod transfer;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::api::audit::audited;
use crate::catalog::fields::{Body, ServicePatch, required};
use crate::catalog::model::{Catalog, Relation, Service};
use crate::catalog::{Actor, not_found};
use crate::state::AppState;
use crate::{Error, Result};

const MAX_PER_PAGE: usize = 500;
/// What the service list sorts by (`-` in front reverses).
pub(crate) const SORTS: [&str; 6] = [
    "service_id",
    "label",
    "service_type",
    "status",
    "created_at",
    "updated_at",
];

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/admin/services", get(list).post(create))
        .route("/api/admin/services/bulk", post(bulk::bulk))
        .route("/api/admin/import", post(transfer::import_json))
        .route(
            "/api/admin/import/services.csv",
            post(transfer::import_services_csv),
        )
        .route(
            "/api/admin/import/relations.csv",
            post(transfer::import_relations_csv),
        )
        .route("/api/admin/export", get(transfer::export_json))
        .route("/api/admin/catalog-file", get(transfer::catalog_file))
        .route(
            "/api/admin/export/services.csv",
            get(transfer::export_services_csv),
        )
        .route(
            "/api/admin/export/relations.csv",
            get(transfer::export_relations_csv),
        )
        .route(
            "/api/admin/services/{service_id}",
            get(show).put(update).delete(delete),
        )
        .route(
            "/api/admin/relations",
            get(relations::list).post(relations::create),
        )
        .route("/api/admin/relations/validate", post(relations::validate))
        .route(
            "/api/admin/relations/{relation_id}",
            get(relations::show)
                .put(relations::update)
                .delete(relations::delete),
        )
}

/// A relation seen from one of its services.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RelationSummary {
    pub relation_id: String,
    /// The service at the other end.
    pub service_id: String,
    #[schema(value_type = String)]
    pub relation_type: crate::catalog::model::RelationType,
    pub enabled: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Relations {
    pub incoming: Vec<RelationSummary>,
    pub outgoing: Vec<RelationSummary>,
}

/// A service as the admin API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceResponse {
    #[serde(flatten)]
    pub def: Service,
    pub created_at: String,
    pub updated_at: String,
    /// The current status (UNKNOWN until a result arrives).
    pub status: &'static str,
    pub relations: Relations,
}

fn summary(r: &Relation, other: &str) -> RelationSummary {
    RelationSummary {
        relation_id: r.relation_id.clone(),
        service_id: other.to_string(),
        relation_type: r.relation_type,
        enabled: r.enabled,
    }
}

/// `status` is looked up before the catalog lock is taken (see `AppState`).
fn response(status: &'static str, catalog: &Catalog, s: &Service) -> ServiceResponse {
    let mut relations = Relations {
        incoming: Vec::new(),
        outgoing: Vec::new(),
    };
    for r in catalog.relations.values() {
        if r.target_service_id == s.service_id {
            relations.incoming.push(summary(r, &r.source_service_id));
        }
        if r.source_service_id == s.service_id {
            relations.outgoing.push(summary(r, &r.target_service_id));
        }
    }
    ServiceResponse {
        def: s.clone(),
        created_at: lightbulb_common::time::format_iso(s.created_at_ms),
        updated_at: lightbulb_common::time::format_iso(s.updated_at_ms),
        status,
        relations,
    }
}

#[derive(Deserialize)]
pub(in crate::api) struct ListParams {
    page: Option<String>,
    per_page: Option<String>,
    search: Option<String>,
    service_type: Option<String>,
    enabled: Option<String>,
    status: Option<String>,
    sort: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Page<T> {
    items: Vec<T>,
    total: usize,
    page: usize,
    per_page: usize,
}

#[utoipa::path(get, operation_id = "list_services", path = "/api/admin/services", tag = "admin", params(("page" = Option<usize>, Query), ("per_page" = Option<usize>, Query, description = "1–500, default 50"), ("search" = Option<String>, Query, description = "in id or label"), ("service_type" = Option<String>, Query), ("enabled" = Option<bool>, Query), ("status" = Option<String>, Query), ("sort" = Option<String>, Query, description = "service_id, label, service_type, status, created_at, updated_at; `-` reverses")), responses((status = 200, body = Page<ServiceResponse>), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn list(
    State(state): State<Arc<AppState>>,
    Query(p): Query<ListParams>,
) -> Result<Response> {
    let page = super::number(&p.page, "page", 1, usize::MAX)?;
    let per_page = super::number(&p.per_page, "per_page", 50, MAX_PER_PAGE)?;
    let enabled = match p.enabled.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(Error::bad_field(
                "enabled",
                format!("`{other}` is not true or false"),
            ));
        }
    };
    let (field, descending) = match p.sort.as_deref().unwrap_or("service_id") {
        s if s.starts_with('-') => (&s[1..], true),
        s => (s, false),
    };
    if !SORTS.contains(&field) {
        return Err(Error::bad_field(
            "sort",
            format!("`{field}` is not one of {SORTS:?} (prefix - to reverse)"),
        ));
    }
    let search = p.search.as_deref().map(str::to_lowercase);
    let statuses = state.status_by_id();
    let mut items = state.catalog.read(|catalog| {
        catalog
            .services
            .values()
            .filter(|s| {
                search
                    .as_deref()
                    .is_none_or(|q| s.service_id.contains(q) || s.label.to_lowercase().contains(q))
            })
            .filter(|s| {
                p.service_type
                    .as_deref()
                    .is_none_or(|t| s.service_type.as_str() == t)
            })
            .filter(|s| enabled.is_none_or(|e| s.enabled == e))
            .map(|s| {
                let status = statuses.get(&s.service_id).map_or("UNKNOWN", |s| s.name());
                response(status, catalog, s)
            })
            .filter(|r| {
                p.status
                    .as_deref()
                    .is_none_or(|st| r.status.eq_ignore_ascii_case(st))
            })
            .collect::<Vec<_>>()
    });
    items.sort_by(|a, b| {
        let order = match field {
            "label" => a.def.label.cmp(&b.def.label),
            "service_type" => a.def.service_type.as_str().cmp(b.def.service_type.as_str()),
            "status" => a.status.cmp(b.status),
            "created_at" => a.def.created_at_ms.cmp(&b.def.created_at_ms),
            "updated_at" => a.def.updated_at_ms.cmp(&b.def.updated_at_ms),
            _ => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.def.service_id.cmp(&b.def.service_id));
        if descending { order.reverse() } else { order }
    });
    let total = items.len();
    let items = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    Ok(axum::Json(Page {
        items,
        total,
        page,
        per_page,
    })
    .into_response())
}

#[utoipa::path(get, operation_id = "show_service", path = "/api/admin/services/{service_id}", tag = "admin", params(("service_id" = String, Path, description = "Service id")), responses((status = 200, body = ServiceResponse), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub(super) async fn show(
    State(state): State<Arc<AppState>>,
    Path(service_id): Path<String>,
) -> Result<Response> {
    let status = state.status(&service_id).name();
    state.catalog.read(|catalog| {
        let s = catalog
            .services
            .get(&service_id)
            .ok_or_else(|| not_found("service", &service_id))?;
        Ok(axum::Json(response(status, catalog, s)).into_response())
    })
}

#[utoipa::path(post, operation_id = "create_service", path = "/api/admin/services", tag = "admin", request_body = super::inputs::ServiceInput, responses((status = 201, body = ServiceResponse), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 409, description = "Conflict: exists already, a dependency cycle, relations left, or managed by a file", body = crate::error::ErrorBody), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn create(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    bytes: Bytes,
) -> Result<Response> {
    let mut body = Body::parse(&bytes)?;
    let service_id = required(body.string("service_id")?, "service_id")?;
    let fields = ServicePatch::read(&mut body)?;
    body.finish()?;
    let s = state
        .catalog
        .create_service(&actor, &service_id, fields)
        .await?;
    let out = (StatusCode::CREATED, axum::Json(render(&state, &s))).into_response();
    Ok(audited(s.audit_id, out))
}

/// A service as stored now, with its status and relations.
fn render(state: &AppState, s: &Service) -> ServiceResponse {
    let status = state.status(&s.service_id).name();
    state.catalog.read(|c| response(status, c, s))
}

#[utoipa::path(put, operation_id = "update_service", path = "/api/admin/services/{service_id}", tag = "admin", params(("service_id" = String, Path, description = "Service id")), request_body = super::inputs::ServiceChange, responses((status = 200, body = ServiceResponse), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 404, description = "Not found", body = crate::error::ErrorBody), (status = 409, description = "Conflict: exists already, a dependency cycle, relations left, or managed by a file", body = crate::error::ErrorBody), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn update(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(service_id): Path<String>,
    bytes: Bytes,
) -> Result<Response> {
    let mut body = Body::parse(&bytes)?;
    if let Some(id) = body.string("service_id")?
        && id != service_id
    {
        return Err(Error::invalid(
            "service_id",
            "cannot be changed; create a new service instead",
        ));
    }
    let fields = ServicePatch::read(&mut body)?;
    body.finish()?;
    let s = state
        .catalog
        .update_service(&actor, &service_id, fields)
        .await?;
    Ok(audited(
        s.audit_id,
        axum::Json(render(&state, &s)).into_response(),
    ))
}

#[derive(Deserialize)]
pub(in crate::api) struct DeleteParams {
    cascade: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Deleted {
    deleted: String,
    relations_deleted: Vec<String>,
}

#[utoipa::path(delete, operation_id = "delete_service", path = "/api/admin/services/{service_id}", tag = "admin", params(("service_id" = String, Path, description = "Service id"), ("cascade" = Option<bool>, Query, description = "also delete its relations")), responses((status = 200, body = Deleted), (status = 404, description = "Not found", body = crate::error::ErrorBody), (status = 409, description = "Conflict: exists already, a dependency cycle, relations left, or managed by a file", body = crate::error::ErrorBody)))]
pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(service_id): Path<String>,
    Query(p): Query<DeleteParams>,
) -> Result<Response> {
    let deleted = state
        .catalog
        .delete_service(&actor, &service_id, p.cascade.unwrap_or(false))
        .await?;
    let out = axum::Json(Deleted {
        deleted: deleted.value.service_id,
        relations_deleted: deleted.value.relations,
    });
    Ok(audited(deleted.audit_id, out.into_response()))
}
