//! `GET /api/reports/sla`: availability per service against its objective
//! (`crate::insights::sla`), as JSON, CSV or PDF.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::insights::sla::{self, Method, SlaReport};
use crate::state::AppState;
use crate::{Error, Result};

/// Period when `from` is not given: the last 30 days.
const DEFAULT_PERIOD_MS: i64 = 30 * 24 * 3_600_000;
const DEFAULT_OBJECTIVE: f64 = 99.9;

#[derive(Deserialize)]
pub(super) struct SlaParams {
    from: Option<String>,
    to: Option<String>,
    degraded: Option<String>,
    maintenance: Option<String>,
    objective: Option<String>,
    service_id: Option<String>,
    format: Option<String>,
}

fn one_of<'a>(field: &str, given: &'a Option<String>, allowed: &[&'a str]) -> Result<&'a str> {
    match given.as_deref() {
        None => Ok(allowed[0]),
        Some(v) if allowed.contains(&v) => Ok(v),
        Some(v) => Err(Error::bad_field(
            field,
            format!("`{v}` is not one of {}", allowed.join(", ")),
        )),
    }
}

#[utoipa::path(get, path = "/api/reports/sla", tag = "insights", params(("from" = Option<String>, Query, description = "ISO 8601 or epoch ms; default 30 days before `to`"), ("to" = Option<String>, Query, description = "ISO 8601 or epoch ms; default now"), ("degraded" = Option<String>, Query, description = "DEGRADED counts as `up` (default) or `down`"), ("maintenance" = Option<String>, Query, description = "results in maintenance windows `exclude`d (default) or `include`d"), ("objective" = Option<f64>, Query, description = "%, for services without their own `metric_config.objective`; default 99.9"), ("service_id" = Option<String>, Query, description = "only this service"), ("format" = Option<String>, Query, description = "`json` (default), `csv` or `pdf`")), responses((status = 200, description = "The report", content((SlaReport = "application/json"), (String = "text/csv"), (Vec<u8> = "application/pdf"))), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 404, description = "No such service", body = crate::error::ErrorBody)))]
pub(super) async fn sla_report(
    State(state): State<Arc<AppState>>,
    Query(p): Query<SlaParams>,
) -> Result<Response> {
    let (from_ms, to_ms) = super::params::time_range_or(&p.from, &p.to, DEFAULT_PERIOD_MS)?;
    let degraded = one_of("degraded", &p.degraded, &["up", "down"])?;
    let maintenance = one_of("maintenance", &p.maintenance, &["exclude", "include"])?;
    let format = one_of("format", &p.format, &["json", "csv", "pdf"])?;
    let objective = match &p.objective {
        None => DEFAULT_OBJECTIVE,
        Some(o) => o
            .parse::<f64>()
            .ok()
            .filter(|v| *v > 0.0 && *v < 100.0)
            .ok_or_else(|| {
                Error::bad_field(
                    "objective",
                    format!("`{o}` is not a percentage above 0 and below 100"),
                )
            })?,
    };
    let method = Method {
        degraded_is_up: degraded == "up",
        exclude_maintenance: maintenance == "exclude",
        objective,
    };
    let only = p.service_id.as_deref().filter(|s| !s.is_empty());
    let report = sla::report(&state, from_ms, to_ms, method, only).await?;
    let name = format!(
        "lightbulb-sla-{}-{}",
        &report.from[..10.min(report.from.len())],
        &report.to[..10.min(report.to.len())]
    );
    Ok(match format {
        "csv" => download(
            sla::csv::render(&report).into_bytes(),
            "text/csv; charset=utf-8",
            &name,
            "csv",
        ),
        "pdf" => download(sla::pdf::render(&report), "application/pdf", &name, "pdf"),
        _ => Json(report).into_response(),
    })
}

fn download(body: Vec<u8>, content_type: &'static str, name: &str, ext: &str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.{ext}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}
