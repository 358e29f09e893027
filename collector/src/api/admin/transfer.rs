//! Import and export of the catalog: JSON (`{services, relations}`) and CSV
//! (one file each). Imports are all or nothing, with `?dry_run=true` to only
//! report what would happen.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::admin::Actor;
use crate::admin::import::{self, Document, Problem};
use crate::state::AppState;
use crate::{Error, ErrorCode, Result};

#[derive(Deserialize)]
pub(super) struct ImportParams {
    dry_run: Option<bool>,
}

#[derive(Serialize)]
struct Imported {
    dry_run: bool,
    created: usize,
    updated: usize,
    problems: Vec<Problem>,
}

#[derive(Serialize)]
struct Refused<'a> {
    error: RefusedError<'a>,
    problems: &'a [Problem],
}

#[derive(Serialize)]
struct RefusedError<'a> {
    code: ErrorCode,
    message: &'a str,
}

async fn run(state: &AppState, doc: Document, dry_run: bool) -> Result<Response> {
    let now = lightbulb_common::time::now_ms();
    let outcome = state
        .admin
        .change(&Actor::api(), "import", |catalog| {
            let plan = import::plan(catalog, doc, None, now);
            // Nothing is stored on a dry run or when anything is wrong.
            let changes = if dry_run || !plan.problems.is_empty() {
                Vec::new()
            } else {
                plan.changes.clone()
            };
            Ok((changes, plan))
        })
        .await?;
    if !outcome.problems.is_empty() {
        let message = format!(
            "{} problem(s); nothing was imported",
            outcome.problems.len()
        );
        let body = Refused {
            error: RefusedError {
                code: ErrorCode::Invalid,
                message: &message,
            },
            problems: &outcome.problems,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response());
    }
    Ok(axum::Json(Imported {
        dry_run,
        created: outcome.created,
        updated: outcome.updated,
        problems: Vec::new(),
    })
    .into_response())
}

fn bad_document(message: String) -> Error {
    Error::new(ErrorCode::BadRequest, message)
}

pub(super) async fn import_json(
    State(state): State<Arc<AppState>>,
    Query(p): Query<ImportParams>,
    bytes: Bytes,
) -> Result<Response> {
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| bad_document(format!("the body is not JSON: {e}")))?;
    let doc = import::from_json(value).map_err(bad_document)?;
    run(&state, doc, p.dry_run.unwrap_or(false)).await
}

fn csv_text(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes).map_err(|_| bad_document("the CSV is not UTF-8".into()))
}

pub(super) async fn import_services_csv(
    State(state): State<Arc<AppState>>,
    Query(p): Query<ImportParams>,
    bytes: Bytes,
) -> Result<Response> {
    let services =
        import::from_csv(csv_text(&bytes)?, &import::SERVICE_COLUMNS).map_err(bad_document)?;
    let doc = Document {
        services,
        relations: Vec::new(),
    };
    run(&state, doc, p.dry_run.unwrap_or(false)).await
}

pub(super) async fn import_relations_csv(
    State(state): State<Arc<AppState>>,
    Query(p): Query<ImportParams>,
    bytes: Bytes,
) -> Result<Response> {
    let relations =
        import::from_csv(csv_text(&bytes)?, &import::RELATION_COLUMNS).map_err(bad_document)?;
    let doc = Document {
        services: Vec::new(),
        relations,
    };
    run(&state, doc, p.dry_run.unwrap_or(false)).await
}

pub(super) async fn export_json(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(state.admin.read(import::export)).into_response()
}

fn csv(text: String) -> Response {
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response()
}

pub(super) async fn export_services_csv(State(state): State<Arc<AppState>>) -> Response {
    csv(state.admin.read(|c| import::to_csv(c, true)))
}

pub(super) async fn export_relations_csv(State(state): State<Arc<AppState>>) -> Response {
    csv(state.admin.read(|c| import::to_csv(c, false)))
}
