//! `GET /api/capacity`: gauges with a limit and when they reach it
//! (`crate::insights::capacity`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use lightbulb_common::time::format_iso;
use serde::{Deserialize, Serialize};

use crate::insights::capacity::{self, GaugeForecast};
use crate::state::AppState;
use crate::{Error, Result};

const DAY_MS: i64 = 86_400_000;

#[derive(Deserialize)]
pub(super) struct CapacityParams {
    horizon: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Capacity {
    pub at: String,
    /// How far ahead a gauge reaching its limit counts as at risk.
    pub horizon: String,
    /// At risk first, soonest first.
    pub gauges: Vec<GaugeForecast>,
}

#[utoipa::path(get, path = "/api/capacity", tag = "insights", params(("horizon" = Option<String>, Query, description = "how far ahead, 1h to 365d (`30d`, `12h`); default 30d")), responses((status = 200, body = Capacity), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody)))]
pub(super) async fn capacity(
    State(state): State<Arc<AppState>>,
    Query(p): Query<CapacityParams>,
) -> Result<Json<Capacity>> {
    let horizon = p.horizon.unwrap_or_else(|| "30d".into());
    let horizon_ms = lightbulb_common::time::parse_duration(&horizon)
        .ok()
        .map(|d| d.as_millis() as i64)
        .filter(|ms| (3_600_000..=365 * DAY_MS).contains(ms))
        .ok_or_else(|| {
            Error::bad_field(
                "horizon",
                format!("`{horizon}` is not a duration from 1h to 365d"),
            )
        })?;
    let mut specs = state.catalog.read(capacity::specs);
    let agents = state.store.agents().await?;
    specs.extend(capacity::spool_specs(
        agents.into_iter().map(|a| a.agent_id),
    ));
    let now = lightbulb_common::time::now_ms();
    let gauges = capacity::forecasts(state.store.as_ref(), &specs, now, horizon_ms).await?;
    Ok(Json(Capacity {
        at: format_iso(now),
        horizon,
        gauges,
    }))
}
