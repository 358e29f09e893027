//! Unusual hours (`crate::insights::anomaly`):
//! `GET /api/services/{service_id}/anomalies` computes a service's for any
//! range from its rollups (the charts' marks); `GET /api/anomalies` lists
//! those the scanner found and stored, fleet-wide or of one service.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use lightbulb_common::time::format_iso;
use serde::{Deserialize, Serialize};

use super::history::RangeParams;
use crate::Result;
use crate::insights::anomaly::stored::AnomalyQuery;
use crate::insights::anomaly::{self, Metric};
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
        &state.anomalies.settings,
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

const DEFAULT_LIMIT: u32 = 200;
const MAX_LIMIT: u32 = 1_000;

#[derive(Deserialize)]
pub(super) struct FleetParams {
    from: Option<String>,
    to: Option<String>,
    service_id: Option<String>,
    limit: Option<String>,
}

/// A service's unusual hour, as the scanner stored it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundAnomaly {
    pub service_id: String,
    /// The catalog's label; the id when the service has none.
    pub label: String,
    pub metric: Metric,
    /// The hour's start.
    pub start: String,
    /// The hour's value when last judged (it grows while the hour runs).
    pub value: f64,
    /// The median of the same hour in the weeks before.
    pub expected: f64,
    /// Scaled median absolute deviations above `expected`.
    pub score: f64,
    /// When it was last judged.
    pub detected: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundAnomalies {
    pub from: String,
    pub to: String,
    /// Newest hour first, then highest score.
    pub anomalies: Vec<FoundAnomaly>,
    /// More matched than `limit`.
    pub more: bool,
}

#[utoipa::path(get, path = "/api/anomalies", tag = "history", params(("from" = Option<String>, Query, description = "hours starting from; ISO 8601 or epoch ms; default 24 h before `to`"), ("to" = Option<String>, Query, description = "ISO 8601 or epoch ms; default now"), ("service_id" = Option<String>, Query, description = "only this service's"), ("limit" = Option<u32>, Query, description = "1–1000, default 200")), responses((status = 200, body = FoundAnomalies), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn found(
    State(state): State<Arc<AppState>>,
    Query(p): Query<FleetParams>,
) -> Result<Json<FoundAnomalies>> {
    let (from_ms, to_ms) = super::params::time_range(&p.from, &p.to)?;
    let limit = super::params::limit(&p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let query = AnomalyQuery {
        // An hour that began before `from` runs into the range.
        from_ms: from_ms.div_euclid(anomaly::HOUR_MS) * anomaly::HOUR_MS,
        to_ms: to_ms.saturating_add(1),
        service_id: p.service_id.filter(|s| !s.is_empty()),
        limit: limit + 1,
    };
    let mut stored = state.store.anomalies(query).await?;
    let more = stored.len() > limit as usize;
    stored.truncate(limit as usize);
    let labels = state.catalog.read(|c| {
        stored
            .iter()
            .map(|f| {
                c.services
                    .get(&f.service_id)
                    .map(|s| s.label.clone())
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| f.service_id.clone())
            })
            .collect::<Vec<_>>()
    });
    Ok(Json(FoundAnomalies {
        from: format_iso(from_ms),
        to: format_iso(to_ms),
        anomalies: stored
            .into_iter()
            .zip(labels)
            .map(|(f, label)| FoundAnomaly {
                label,
                metric: f.anomaly.metric,
                start: format_iso(f.anomaly.start_ms),
                value: f.anomaly.value,
                expected: f.anomaly.expected,
                score: f.anomaly.score,
                detected: format_iso(f.detected_ms),
                service_id: f.service_id,
            })
            .collect(),
        more,
    }))
}
