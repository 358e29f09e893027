//! `POST /api/admin/services/bulk`: enable, disable or delete many services;
//! each is done (and audited) on its own, and the answer says which failed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::Result;
use crate::admin::body::{Body, required};
use crate::admin::{Actor, not_found, owner, validate};
use crate::state::AppState;
use crate::store::catalog::{Catalog, CatalogChange};

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

/// The changes `action` makes to one service.
fn changes(catalog: &Catalog, id: &str, action: &str, cascade: bool) -> Result<Vec<CatalogChange>> {
    let current = catalog
        .services
        .get(id)
        .ok_or_else(|| not_found("service", id))?;
    owner::may_change("service", id, current.managed_by.as_deref(), None)?;
    if action != "delete" {
        let mut def = current.clone();
        def.enabled = action == "enable";
        def.updated_at_ms = lightbulb_common::time::now_ms().max(def.updated_at_ms);
        return Ok(vec![CatalogChange::PutService(def)]);
    }
    crate::admin::delete_service(catalog, id, cascade).map(|(changes, _)| changes)
}

#[utoipa::path(post, path = "/api/admin/services/bulk", tag = "admin", request_body = crate::api::inputs::BulkInput, responses((status = 200, body = BulkOperationResponse), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 422, description = "Breaks a rule; the error names the field", body = crate::error::ErrorBody)))]
pub(in crate::api) async fn bulk(
    State(state): State<Arc<AppState>>,
    bytes: Bytes,
) -> Result<Response> {
    let mut body = Body::parse(&bytes)?;
    let action = required(body.string("action")?, "action")?;
    if !ACTIONS.contains(&action.as_str()) {
        return Err(validate::invalid(
            "action",
            format!("`{action}` is not one of {ACTIONS:?}"),
        ));
    }
    let cascade = body.boolean("cascade")?.unwrap_or(false);
    let ids = match required(body.json("service_ids"), "service_ids")? {
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err(validate::invalid(
                    "service_ids",
                    "must be an array of service ids",
                )),
            })
            .collect::<Result<Vec<_>>>()?,
        _ => {
            return Err(validate::invalid(
                "service_ids",
                "must be an array of service ids",
            ));
        }
    };
    if ids.len() > MAX_ITEMS {
        return Err(validate::invalid(
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
    let what = format!("bulk {action}");
    for id in ids {
        let done = state
            .admin
            .change(&Actor::api(), &what, |c| {
                Ok((changes(c, &id, &action, cascade)?, ()))
            })
            .await;
        match done {
            Ok(()) => out.success_count += 1,
            Err(e) => {
                out.failed_count += 1;
                out.errors.push(ItemError {
                    item_id: id,
                    error_message: e.message,
                });
            }
        }
    }
    Ok(axum::Json(out).into_response())
}
