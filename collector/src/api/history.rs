//! `/api/services/{id}/history` and `/metrics`: a service's raw results,
//! buckets and range summaries, read from the store and rendered here
//! (times as ISO 8601, statuses by name, gaps with a sentence).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use lightbulb_common::time::format_iso;
use serde::{Deserialize, Serialize};

use super::view;
use crate::state::AppState;
use crate::stats::Stats;
use crate::store::rollup::{self, RangeQuery};
use crate::store::{self, HistoryQuery};
use crate::{Error, Result};

/// Largest `limit` the history endpoint accepts.
const MAX_HISTORY_LIMIT: u32 = 10_000;
/// `limit` when none is given.
const DEFAULT_HISTORY_LIMIT: u32 = 1000;
/// Most buckets one history query may ask for.
const MAX_BUCKETS: i64 = 10_000;

/// One stored result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryPoint {
    pub timestamp: String,
    pub status_code: u8,
    pub status: &'static str,
    pub message: String,
    pub response_time_ms: Option<f64>,
    pub cpu_usage: Option<f64>,
    pub memory_usage: Option<f64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
    pub agent_id: String,
    pub seq: u64,
}

/// A stretch of a service's history with no data: an agent's full spool
/// dropped its results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryGap {
    pub agent_id: String,
    /// Results dropped.
    pub dropped: u64,
    /// Check times of the oldest and newest dropped result.
    pub from: String,
    pub to: String,
    /// E.g. "no data: 72,668 results dropped by agent d1's full spool
    /// between 2026-11-30T12:01:07Z and 2026-11-30T12:09:13Z".
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct History {
    pub service_id: String,
    /// Results in the range (the points may be fewer, up to `limit`).
    pub total: u64,
    pub points: Vec<HistoryPoint>,
    /// Stretches in the range with no data because an agent's full spool
    /// dropped this service's results, oldest first.
    pub gaps: Vec<HistoryGap>,
}

/// `/history`'s answer: raw points, or with `step` buckets.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only the document names it.
pub enum HistoryBody {
    Points(History),
    Buckets(Buckets),
}

/// Where an aggregate is computed from.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Raw,
    Minute,
    Hour,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Bucket {
    pub start: String,
    #[serde(flatten)]
    pub stats: Stats,
}

/// `/history?step=`: buckets, oldest first; empty buckets are left out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Buckets {
    pub service_id: String,
    pub step_ms: i64,
    pub source: Source,
    pub buckets: Vec<Bucket>,
}

/// `/metrics`: one range summarised.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub service_id: String,
    pub from: String,
    pub to: String,
    pub source: Source,
    #[serde(flatten)]
    pub stats: Stats,
}

impl From<store::HistoryPoint> for HistoryPoint {
    fn from(p: store::HistoryPoint) -> HistoryPoint {
        HistoryPoint {
            timestamp: format_iso(p.timestamp_ms),
            status_code: p.status.code(),
            status: p.status.name(),
            message: p.message,
            response_time_ms: p.response_time_ms,
            cpu_usage: p.cpu_usage,
            memory_usage: p.memory_usage,
            metrics: p.metrics,
            details: p.details,
            agent_id: p.agent_id,
            seq: p.seq,
        }
    }
}

impl From<store::GapRun> for HistoryGap {
    fn from(r: store::GapRun) -> HistoryGap {
        let (from, to) = (format_iso(r.from_ms), format_iso(r.to_ms));
        let what = if r.dropped == 1 { "result" } else { "results" };
        HistoryGap {
            message: format!(
                "no data: {} {what} dropped by agent {}'s full spool between {from} and {to}",
                thousands(r.dropped),
                r.agent_id
            ),
            agent_id: r.agent_id,
            dropped: r.dropped,
            from,
            to,
        }
    }
}

/// `72668` as `72,668`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl From<store::History> for History {
    fn from(h: store::History) -> History {
        History {
            service_id: h.service_id,
            total: h.total,
            points: h.points.into_iter().map(HistoryPoint::from).collect(),
            gaps: h.gaps.into_iter().map(HistoryGap::from).collect(),
        }
    }
}

impl From<rollup::Source> for Source {
    fn from(s: rollup::Source) -> Source {
        match s {
            rollup::Source::Raw => Source::Raw,
            rollup::Source::Minute => Source::Minute,
            rollup::Source::Hour => Source::Hour,
        }
    }
}

impl From<rollup::Buckets> for Buckets {
    fn from(b: rollup::Buckets) -> Buckets {
        Buckets {
            service_id: b.service_id,
            step_ms: b.step_ms,
            source: b.source.into(),
            buckets: b
                .buckets
                .into_iter()
                .map(|b| Bucket {
                    start: format_iso(b.start_ms),
                    stats: b.stats,
                })
                .collect(),
        }
    }
}

impl From<rollup::Summary> for Summary {
    fn from(s: rollup::Summary) -> Summary {
        Summary {
            from: format_iso(s.range.from_ms),
            to: format_iso(s.range.to_ms),
            service_id: s.range.service_id,
            source: s.source.into(),
            stats: s.stats,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct HistoryParams {
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    step: Option<String>,
}

/// `from`/`to` of a range query: ISO 8601 or epoch ms; defaults to the last 24 hours.
/// `step`: a duration (`10s`, `5m`, `1h`) or whole seconds, at least 1s,
/// giving at most `MAX_BUCKETS` buckets over the range.
fn parse_step(step: &str, from_ms: i64, to_ms: i64) -> Result<i64> {
    let ms = match step.parse::<u64>() {
        Ok(secs) => secs.saturating_mul(1000),
        Err(_) => lightbulb_common::time::parse_duration(step)
            .map_err(|e| Error::bad_field("step", e))?
            .as_millis() as u64,
    };
    if ms < 1000 || ms % 1000 != 0 {
        return Err(Error::bad_field(
            "step",
            format!("`{step}` must be a whole number of seconds, at least 1s"),
        ));
    }
    let ms = ms as i64;
    if (to_ms - from_ms) / ms >= MAX_BUCKETS {
        return Err(Error::bad_field(
            "step",
            format!(
                "`{step}` makes more than {MAX_BUCKETS} buckets over this range; use a larger step"
            ),
        ));
    }
    Ok(ms)
}

/// A service is known while it is live, and after it was deleted for as
/// long as results of it are kept (its history stays readable).
pub(super) async fn known_service(state: &AppState, service_id: &str) -> Result<()> {
    if view::service(state, service_id).is_some() {
        return Ok(());
    }
    let kept = state
        .store
        .history(HistoryQuery {
            service_id: service_id.to_string(),
            from_ms: 0,
            to_ms: lightbulb_common::time::now_ms(),
            limit: 1,
        })
        .await?;
    if kept.total > 0 {
        Ok(())
    } else {
        Err(Error::not_found(format!(
            "service `{service_id}` not found"
        )))
    }
}

#[utoipa::path(get, path = "/api/services/{service_id}/history", tag = "history", params(("service_id" = String, Path, description = "Service id"), ("from" = Option<String>, Query, description = "ISO 8601 or epoch ms; default 24 h before `to`"), ("to" = Option<String>, Query, description = "ISO 8601 or epoch ms; default now"), ("limit" = Option<u32>, Query, description = "raw points, 1–10000, default 1000"), ("step" = Option<String>, Query, description = "bucket size (`30s`, `5m`, `1h` or seconds); absent: raw points")), responses((status = 200, description = "Raw points (`History`) or, with `step`, `Buckets`", body = HistoryBody), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub(super) async fn history(
    State(state): State<Arc<AppState>>,
    Path(service_id): Path<String>,
    Query(params): Query<HistoryParams>,
) -> Result<Response> {
    let (from_ms, to_ms) = super::params::time_range(&params.from, &params.to)?;
    let limit = super::params::limit(&params.limit, DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT)?;
    let step_ms = match &params.step {
        Some(step) => Some(parse_step(step, from_ms, to_ms)?),
        None => None,
    };
    known_service(&state, &service_id).await?;
    if let Some(step_ms) = step_ms {
        let range = RangeQuery {
            service_id,
            from_ms,
            to_ms,
        };
        let buckets = Buckets::from(state.store.buckets(range, step_ms).await?);
        return Ok(axum::Json(buckets).into_response());
    }
    let history = state
        .store
        .history(HistoryQuery {
            service_id,
            from_ms,
            to_ms,
            limit,
        })
        .await?;
    Ok(axum::Json(History::from(history)).into_response())
}

#[derive(Deserialize)]
pub(super) struct RangeParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Latency percentiles, error rate, uptime and check count over a range.
#[utoipa::path(get, path = "/api/services/{service_id}/metrics", tag = "history", params(("service_id" = String, Path, description = "Service id"), ("from" = Option<String>, Query, description = "ISO 8601 or epoch ms"), ("to" = Option<String>, Query, description = "ISO 8601 or epoch ms")), responses((status = 200, body = Summary), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub(super) async fn service_metrics(
    State(state): State<Arc<AppState>>,
    Path(service_id): Path<String>,
    Query(params): Query<RangeParams>,
) -> Result<Response> {
    let (from_ms, to_ms) = super::params::time_range(&params.from, &params.to)?;
    known_service(&state, &service_id).await?;
    let range = RangeQuery {
        service_id,
        from_ms,
        to_ms,
    };
    Ok(axum::Json(Summary::from(state.store.summary(range).await?)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_says_how_many_results_which_agent_and_when() {
        let gap = HistoryGap::from(store::GapRun {
            agent_id: "d1".into(),
            dropped: 72_668,
            from_ms: 0,
            to_ms: 1999,
        });
        assert_eq!(
            gap.message,
            format!(
                "no data: 72,668 results dropped by agent d1's full spool between {} and {}",
                gap.from, gap.to
            )
        );
        assert_eq!(
            (gap.from.as_str(), gap.to.as_str()),
            ("1970-01-01T00:00:00.000Z", "1970-01-01T00:00:01.999Z")
        );
        let one = HistoryGap::from(store::GapRun {
            agent_id: "d1".into(),
            dropped: 1,
            from_ms: 0,
            to_ms: 0,
        });
        assert!(
            one.message.starts_with("no data: 1 result dropped"),
            "{}",
            one.message
        );
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
