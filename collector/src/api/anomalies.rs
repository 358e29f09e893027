//! `GET /api/services/{service_id}/anomalies`: a service's unusual hours
//! (`crate::insights::anomaly`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use lightbulb_common::time::format_iso;
use serde::Serialize;

use super::history::RangeParams;
use crate::Result;
use crate::insights::anomaly::{self, Metric, Settings};
use crate::state::AppState;

/// An unusual hour.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnomalyView {
    pub metric: Metric,
    /// The hour's start.
    pub start: String,
    pub value: f64,
    /// The median of the same hour in the weeks before.
    pub expected: f64,
    /// Scaled median absolute deviations above `expected`.
    pub score: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Anomalies {
    pub service_id: String,
    pub from: String,
    pub to: String,
    /// Oldest first.
    pub anomalies: Vec<AnomalyView>,
}

#[utoipa::path(get, path = "/api/services/{service_id}/anomalies", tag = "history", params(("service_id" = String, Path, description = "Service id"), ("from" = Option<String>, Query, description = "ISO 8601 or epoch ms; default 24 h before `to`"), ("to" = Option<String>, Query, description = "ISO 8601 or epoch ms; default now")), responses((status = 200, body = Anomalies), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub(super) async fn anomalies(
    State(state): State<Arc<AppState>>,
    Path(service_id): Path<String>,
    Query(params): Query<RangeParams>,
) -> Result<Json<Anomalies>> {
    let (from_ms, to_ms) = super::params::time_range(&params.from, &params.to)?;
    super::history::known_service(&state, &service_id).await?;
    let found = anomaly::of_service(
        state.store.as_ref(),
        &service_id,
        from_ms,
        to_ms,
        &Settings::default(),
    )
    .await?;
    Ok(Json(Anomalies {
        service_id,
        from: format_iso(from_ms),
        to: format_iso(to_ms),
        anomalies: found
            .into_iter()
            .map(|a| AnomalyView {
                metric: a.metric,
                start: format_iso(a.start_ms),
                value: a.value,
                expected: a.expected,
                score: a.score,
            })
            .collect(),
    }))
}
