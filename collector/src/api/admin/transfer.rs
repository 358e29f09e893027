//! Import and export of the catalog: JSON (`{services, relations}`) and CSV
//! (one file each). Imports are all or nothing, with `?dry_run=true` to only
//! report what would happen.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::catalog::Actor;
use crate::catalog::import::{self, Document, Problem};
use crate::state::AppState;
use crate::{Error, ErrorCode, Result};

#[derive(Deserialize)]
pub(in crate::api) struct ImportParams {
    dry_run: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Imported {
    dry_run: bool,
    created: usize,
    updated: usize,
    problems: Vec<Problem>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Refused {
    error: RefusedError,
    problems: Vec<Problem>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct RefusedError {
    code: ErrorCode,
    message: String,
}

async fn run(state: &AppState, actor: Actor, doc: Document, dry_run: bool) -> Result<Response> {
    let done = state
        .catalog
        .import(&actor, "import", doc, None, dry_run)
        .await?;
    let plan = done.value;
    if !plan.problems.is_empty() {
        let message = format!("{} problem(s); nothing was imported", plan.problems.len());
        let code = plan.refusal_code();
        let body = Refused {
            error: RefusedError { code, message },
            problems: plan.problems,
        };
        return Ok((code.http_status(), axum::Json(body)).into_response());
    }
    let out = axum::Json(Imported {
        dry_run,
        created: plan.created,
        updated: plan.updated,
        problems: Vec::new(),
    });
    Ok(crate::api::audit::audited(
        done.audit_id,
        out.into_response(),
    ))
}

fn bad_document(message: String) -> Error {
    Error::bad_request(message)
}

#[utoipa::path(post, path = "/api/admin/import", tag = "admin", params(("dry_run" = Option<bool>, Query)), request_body = crate::api::inputs::ImportDocument, responses((status = 200, body = Imported), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 409, description = "Every problem, one of them an object a file or discovery owns; nothing imported", body = Refused), (status = 422, description = "Every problem; nothing imported", body = Refused)))]
pub(in crate::api) async fn import_json(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Query(p): Query<ImportParams>,
    bytes: Bytes,
) -> Result<Response> {
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| bad_document(format!("the body is not JSON: {e}")))?;
    let doc = import::from_json(value).map_err(bad_document)?;
    run(&state, actor, doc, p.dry_run.unwrap_or(false)).await
}

fn csv_text(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes).map_err(|_| bad_document("the CSV is not UTF-8".into()))
}

#[utoipa::path(post, path = "/api/admin/import/services.csv", tag = "admin", params(("dry_run" = Option<bool>, Query)), request_body(content = String, content_type = "text/csv", description = "header: service_id,label,service_type,enabled,labels,status_config,metric_config"), responses((status = 200, body = Imported), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 422, body = Refused)))]
pub(in crate::api) async fn import_services_csv(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Query(p): Query<ImportParams>,
    bytes: Bytes,
) -> Result<Response> {
    let services =
        import::from_csv(csv_text(&bytes)?, &import::SERVICE_COLUMNS).map_err(bad_document)?;
    let doc = Document {
        services,
        relations: Vec::new(),
    };
    run(&state, actor, doc, p.dry_run.unwrap_or(false)).await
}

#[utoipa::path(post, path = "/api/admin/import/relations.csv", tag = "admin", params(("dry_run" = Option<bool>, Query)), request_body(content = String, content_type = "text/csv", description = "header: relation_id,source_service_id,target_service_id,relation_type,enabled"), responses((status = 200, body = Imported), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 422, body = Refused)))]
pub(in crate::api) async fn import_relations_csv(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Query(p): Query<ImportParams>,
    bytes: Bytes,
) -> Result<Response> {
    let relations =
        import::from_csv(csv_text(&bytes)?, &import::RELATION_COLUMNS).map_err(bad_document)?;
    let doc = Document {
        services: Vec::new(),
        relations,
    };
    run(&state, actor, doc, p.dry_run.unwrap_or(false)).await
}

#[derive(Deserialize)]
pub(in crate::api) struct ExportParams {
    format: Option<String>,
}

/// The catalog as JSON, or with `?format=toml` as a catalog file.
#[utoipa::path(get, path = "/api/admin/export", tag = "admin", params(("format" = Option<String>, Query, description = "json (default) or toml (a catalog file)")), responses((status = 200, description = "The catalog: JSON, or with `format=toml` a catalog file", content((crate::api::inputs::ImportDocument = "application/json"), (String = "application/toml"))), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody)))]
pub(in crate::api) async fn export_json(
    State(state): State<Arc<AppState>>,
    Query(p): Query<ExportParams>,
) -> Result<Response> {
    let doc = state.catalog.read(import::export);
    match p.format.as_deref() {
        None | Some("json") => Ok(axum::Json(doc).into_response()),
        Some("toml") => {
            let text = toml::to_string_pretty(&crate::catalog::file::without_nulls(doc))
                .map_err(|e| Error::internal(format!("cannot write TOML: {e}")))?;
            Ok(([(header::CONTENT_TYPE, "application/toml")], text).into_response())
        }
        Some(other) => Err(Error::bad_field(
            "format",
            format!("`{other}` is not json or toml"),
        )),
    }
}

/// The catalog file's standing: last applied, last error, drift.
#[utoipa::path(get, path = "/api/admin/catalog-file", tag = "admin", responses((status = 200, body = crate::catalog::file::FileState), (status = 204, description = "No catalog file is configured ([catalog] file)")))]
pub(in crate::api) async fn catalog_file(State(state): State<Arc<AppState>>) -> Result<Response> {
    match &state.catalog_file {
        Some(file) => {
            let rules = crate::file_alerting::FileAlerting(&state);
            Ok(axum::Json(file.status(&state.catalog, &rules)).into_response())
        }
        None => Ok(axum::http::StatusCode::NO_CONTENT.into_response()),
    }
}

fn csv(text: String) -> Response {
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response()
}

#[utoipa::path(get, path = "/api/admin/export/services.csv", tag = "admin", responses((status = 200, content_type = "text/csv", body = String)))]
pub(in crate::api) async fn export_services_csv(State(state): State<Arc<AppState>>) -> Response {
    csv(state.catalog.read(|c| import::to_csv(c, true)))
}

#[utoipa::path(get, path = "/api/admin/export/relations.csv", tag = "admin", responses((status = 200, content_type = "text/csv", body = String)))]
pub(in crate::api) async fn export_relations_csv(State(state): State<Arc<AppState>>) -> Response {
    csv(state.catalog.read(|c| import::to_csv(c, false)))
}
