//! `/api/audit`: the audit log, as JSON pages or CSV, and reverting a
//! catalog change from it; `audited` names, on every response to a change,
//! the audit entry that records it (`Lightbulb-Audit-Id`), for the
//! dashboard's Undo.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditEntry, AuditPage, AuditQuery, ObjectChange};
use crate::catalog::Actor;
use crate::catalog::csv::line;
use crate::state::AppState;
use crate::{Error, Result};

/// The response header naming a change's audit entry.
pub const AUDIT_ID: &str = "lightbulb-audit-id";

/// `response`, naming the audit entry of the change it answers.
pub(crate) fn audited(audit_id: Option<i64>, mut response: Response) -> Response {
    if let Some(id) = audit_id {
        response
            .headers_mut()
            .insert(AUDIT_ID, HeaderValue::from(id));
    }
    response
}

/// Stores an entry for a change outside the catalog (sign-in, tokens).
pub(crate) async fn record(
    state: &AppState,
    actor: &Actor,
    action: &str,
    changes: Vec<ObjectChange>,
) -> Result<i64> {
    let entry = AuditEntry {
        at_ms: lightbulb_common::time::now_ms(),
        actor: actor.name.clone(),
        ip: actor.ip.clone(),
        action: action.to_string(),
        changes,
    };
    let id = state.store.record_audit(entry).await?;
    tracing::info!(target: "lightbulb::audit", actor = %actor.name, action, audit_id = id, "recorded");
    Ok(id)
}

#[derive(Deserialize)]
pub(super) struct AuditParams {
    actor: Option<String>,
    object: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

const MAX_PER_PAGE: usize = 500;
/// Most rows one CSV export holds.
const MAX_CSV_ROWS: u32 = 100_000;

impl AuditParams {
    fn query(&self) -> Result<AuditQuery> {
        let instant = |field: &str, v: &Option<String>| {
            v.as_deref()
                .map(|t| {
                    lightbulb_common::time::parse_instant(t).map_err(|e| Error::bad_field(field, e))
                })
                .transpose()
        };
        let page = super::number(&self.page, "page", 1, 1_000_000)?;
        let per_page = super::number(&self.per_page, "per_page", 50, MAX_PER_PAGE)?;
        let blank = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        Ok(AuditQuery {
            actor: blank(&self.actor),
            object: blank(&self.object),
            action: blank(&self.action),
            from_ms: instant("from", &self.from)?,
            to_ms: instant("to", &self.to)?,
            limit: per_page as u32,
            offset: ((page - 1) * per_page) as u32,
        })
    }
}

#[utoipa::path(get, path = "/api/audit", tag = "audit", params(("actor" = Option<String>, Query, description = "exactly, e.g. user:alice"), ("object" = Option<String>, Query, description = "a service, relation or token id it changed"), ("action" = Option<String>, Query, description = "exactly, e.g. `delete service`"), ("from" = Option<String>, Query, description = "ISO 8601 or epoch ms"), ("to" = Option<String>, Query, description = "ISO 8601 or epoch ms"), ("page" = Option<usize>, Query), ("per_page" = Option<usize>, Query, description = "1–500, default 50")), responses((status = 200, body = AuditPage), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn list(
    State(state): State<Arc<AppState>>,
    Query(p): Query<AuditParams>,
) -> Result<Response> {
    Ok(axum::Json(state.store.audit(p.query()?).await?).into_response())
}

#[utoipa::path(get, path = "/api/audit.csv", tag = "audit", params(("actor" = Option<String>, Query), ("object" = Option<String>, Query), ("action" = Option<String>, Query), ("from" = Option<String>, Query), ("to" = Option<String>, Query)), responses((status = 200, description = "id,time,actor,ip,action,objects,changes (changes as JSON), newest first", content_type = "text/csv")))]
pub(super) async fn csv(
    State(state): State<Arc<AppState>>,
    Query(p): Query<AuditParams>,
) -> Result<Response> {
    let query = AuditQuery {
        limit: MAX_CSV_ROWS,
        offset: 0,
        ..p.query()?
    };
    let page = state.store.audit(query).await?;
    let columns = ["id", "time", "actor", "ip", "action", "objects", "changes"];
    let mut out = line(&columns.map(String::from));
    for r in page.records {
        let e = &r.entry;
        let objects: Vec<&str> = e.changes.iter().map(|c| c.id.as_str()).collect();
        let row = [
            r.id.to_string(),
            lightbulb_common::time::format_iso(e.at_ms),
            e.actor.clone(),
            e.ip.clone().unwrap_or_default(),
            e.action.clone(),
            objects.join(" "),
            serde_json::to_string(&e.changes).unwrap_or_default(),
        ];
        out.push_str(&line(&row));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
struct Reverted {
    /// The entry that was undone.
    reverted: i64,
    /// The entry recording the revert (revert it to redo).
    audit_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/audit/{audit_id}/revert", tag = "audit", params(("audit_id" = i64, Path, description = "Audit entry id")), responses((status = 200, body = Reverted), (status = 404, description = "Not found", body = crate::error::ErrorBody), (status = 409, description = "Later changes touched the same objects, or not a catalog change", body = crate::error::ErrorBody)))]
pub(super) async fn revert(
    State(state): State<Arc<AppState>>,
    actor: Actor,
    Path(audit_id): Path<i64>,
) -> Result<Response> {
    let record = state
        .store
        .audit_record(audit_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("audit entry {audit_id} not found")))?;
    let done = state.catalog.revert(&actor, &record).await?;
    let out = axum::Json(Reverted {
        reverted: audit_id,
        audit_id: done.audit_id,
    });
    Ok(audited(done.audit_id, out.into_response()))
}
