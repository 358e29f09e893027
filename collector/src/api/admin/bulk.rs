//! `POST /api/admin/services/bulk`: enable, disable or delete many services;
//! each is done (and audited) on its own, and the answer says which failed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::catalog::Actor;
use crate::catalog::commands::BulkAction;
use crate::catalog::fields::{Body, required};
use crate::state::AppState;
use crate::{Error, Result};

const ACTIONS: [&str; 3] = ["enable", "disable", "delete"];
const MAX_ITEMS: usize = 10_000;

#[derive(Serialize, utoipa::ToSchema)]
struct ItemError {
    item_id: String,
    error_message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct BulkOperationResponse {
    success_count: usize,
    failed_count: usize,
    errors: Vec<ItemError>,
}

#[utoipa::path(post, path = "/api/admin/services/bulk", tag = "admin", request_body = crate::api::inputs::BulkInput, responses((status = 200, body = BulkOperationResponse), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(in crate::api) async fn bulk(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    bytes: Bytes,
) -> Result<Response> {
    let mut body = Body::parse(&bytes)?;
    let action = required(body.string("action")?, "action")?;
    if !ACTIONS.contains(&action.as_str()) {
        return Err(Error::invalid(
            "action",
            format!("`{action}` is not one of {ACTIONS:?}"),
        ));
    }
    let cascade = body.boolean("cascade")?.unwrap_or(false);
    let action = match action.as_str() {
        "enable" => BulkAction::Enable,
        "disable" => BulkAction::Disable,
        _ => BulkAction::Delete { cascade },
    };
    let ids = match required(body.json("service_ids"), "service_ids")? {
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err(Error::invalid(
                    "service_ids",
                    "must be an array of service ids",
                )),
            })
            .collect::<Result<Vec<_>>>()?,
        _ => {
            return Err(Error::invalid(
                "service_ids",
                "must be an array of service ids",
            ));
        }
    };
    if ids.len() > MAX_ITEMS {
        return Err(Error::invalid(
            "service_ids",
            format!("at most {MAX_ITEMS} per request"),
        ));
    }
    body.finish()?;
    let mut out = BulkOperationResponse {
        success_count: 0,
        failed_count: 0,
        errors: Vec::new(),
    };
    for (id, done) in state.catalog.bulk(&actor, action, ids).await {
        match done {
            Ok(_) => out.success_count += 1,
            Err(e) => {
                out.failed_count += 1;
                out.errors.push(ItemError {
                    item_id: id,
                    error_message: e.to_string(),
                });
            }
        }
    }
    Ok(axum::Json(out).into_response())
}
