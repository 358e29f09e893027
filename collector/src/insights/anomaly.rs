//! Unusual hours of a service: its hourly response time (p95) and error
//! rate against a seasonal baseline. The baseline of an hour is the same
//! hour of the week in the weeks before (and the hours beside it, if
//! `beside` is set; on a steep daily shape they widen the spread); its
//! median is what is expected, and the median absolute deviation (scaled
//! to a standard deviation) how far values stray. An hour more than
//! `threshold` such deviations above the expected value is an anomaly: a
//! spike, or every hour of a level shift until it becomes the usual.
//! Only the high side is flagged: faster answers and fewer errors are not
//! trouble.

use serde::{Deserialize, Serialize};

pub mod scan;
pub mod stored;

pub const HOUR_MS: i64 = 3_600_000;
pub const WEEK_HOURS: i64 = 168;
/// MAD to standard deviation, for normal data.
const MAD_SCALE: f64 = 1.4826;

/// What is measured each hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// p95 response time, ms.
    ResponseTimeMs,
    /// Share of FAILED results.
    ErrorRate,
}

impl Metric {
    pub const ALL: [Metric; 2] = [Metric::ResponseTimeMs, Metric::ErrorRate];

    /// Its value in one bucket's aggregates.
    pub fn of(self, st: &crate::stats::Stats) -> Option<f64> {
        match self {
            Metric::ResponseTimeMs => st.response_time_ms.as_ref().map(|l| l.p95),
            Metric::ErrorRate => st.error_rate,
        }
    }

    /// The least deviation counted: noise-free series still vary this much.
    fn floor(self, expected: f64) -> f64 {
        match self {
            Metric::ResponseTimeMs => (0.1 * expected).max(1.0),
            Metric::ErrorRate => 0.02,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Weeks before an hour that make its baseline.
    pub weeks: i64,
    /// Hours on each side of the same hour that join it.
    pub beside: i64,
    /// Values a baseline needs.
    pub min_values: usize,
    /// Deviations above the expected value that make an anomaly.
    pub threshold: f64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            weeks: 4,
            beside: 0,
            min_values: 4,
            threshold: 4.0,
        }
    }
}

/// An unusual hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    pub metric: Metric,
    pub start_ms: i64,
    pub value: f64,
    /// The baseline's median.
    pub expected: f64,
    /// Deviations above it.
    pub score: f64,
}

impl Anomaly {
    /// "response time (p95) 412 ms in the hour from 2026-12-01T12:00:00Z,
    /// usually 150 ms (9.6 deviations)".
    pub fn describe(&self) -> String {
        let (what, value, usual) = match self.metric {
            Metric::ResponseTimeMs => (
                "response time (p95)",
                format!("{:.0} ms", self.value),
                format!("{:.0} ms", self.expected),
            ),
            Metric::ErrorRate => (
                "error rate",
                format!("{:.1} %", self.value * 100.0),
                format!("{:.1} %", self.expected * 100.0),
            ),
        };
        format!(
            "{what} {value} in the hour from {}, usually {usual} ({:.1} deviations)",
            lightbulb_common::time::format_iso(self.start_ms),
            self.score
        )
    }
}

/// What is expected of one hour, from the same hour in the weeks before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// The median.
    pub expected: f64,
    /// The scaled median absolute deviation, at least the metric's floor.
    pub spread: f64,
}

impl Baseline {
    /// The baseline of `values`; `None` with fewer than `s.min_values`.
    pub fn of(metric: Metric, mut values: Vec<f64>, s: &Settings) -> Option<Baseline> {
        values.retain(|v| v.is_finite());
        if values.len() < s.min_values {
            return None;
        }
        let expected = median(&mut values);
        let mut dev: Vec<f64> = values.iter().map(|v| (v - expected).abs()).collect();
        let spread = (MAD_SCALE * median(&mut dev)).max(metric.floor(expected));
        Some(Baseline { expected, spread })
    }

    /// The hour starting at `start_ms` with `value`, if that is unusual.
    pub fn judge(
        &self,
        metric: Metric,
        start_ms: i64,
        value: f64,
        s: &Settings,
    ) -> Option<Anomaly> {
        let score = (value - self.expected) / self.spread;
        (value.is_finite() && score > s.threshold).then_some(Anomaly {
            metric,
            start_ms,
            value,
            expected: self.expected,
            score,
        })
    }
}

/// The hours (by hour number) whose values make the baseline of `hour`.
pub fn baseline_hours(hour: i64, s: &Settings) -> impl Iterator<Item = i64> + use<> {
    let (weeks, beside) = (s.weeks, s.beside);
    (1..=weeks).flat_map(move |k| (-beside..=beside).map(move |j| hour - k * WEEK_HOURS + j))
}

/// The anomalies among `series` (hour start in ms, value; hours without
/// data left out) in the hours starting from `from_ms`, oldest first.
pub fn detect(metric: Metric, series: &[(i64, f64)], from_ms: i64, s: &Settings) -> Vec<Anomaly> {
    let by_hour: std::collections::HashMap<i64, f64> = series
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|&(t, v)| (t.div_euclid(HOUR_MS), v))
        .collect();
    let mut hours: Vec<(i64, f64)> = series
        .iter()
        .filter(|(t, v)| *t >= from_ms && v.is_finite())
        .map(|&(t, v)| (t.div_euclid(HOUR_MS), v))
        .collect();
    hours.sort_by_key(|h| h.0);
    hours
        .into_iter()
        .filter_map(|(hour, value)| {
            let base = baseline_hours(hour, s).filter_map(|h| by_hour.get(&h).copied());
            Baseline::of(metric, base.collect(), s)?.judge(metric, hour * HOUR_MS, value, s)
        })
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The anomalies of one service in `from_ms`..`to_ms`, both metrics, from
/// its hourly buckets (with the `weeks` before `from_ms` as the baseline),
/// oldest first.
pub async fn of_service(
    store: &dyn crate::store::Store,
    service_id: &str,
    from_ms: i64,
    to_ms: i64,
    s: &Settings,
) -> crate::Result<Vec<Anomaly>> {
    let query = crate::store::rollup::RangeQuery {
        service_id: service_id.to_string(),
        from_ms: from_ms.div_euclid(HOUR_MS) * HOUR_MS - s.weeks * WEEK_HOURS * HOUR_MS,
        to_ms,
    };
    let buckets = store.buckets(query, HOUR_MS).await?.buckets;
    let first_hour = from_ms.div_euclid(HOUR_MS) * HOUR_MS;
    let mut all = Vec::new();
    for metric in Metric::ALL {
        let series: Vec<(i64, f64)> = buckets
            .iter()
            .filter_map(|b| metric.of(&b.stats).map(|v| (b.start_ms, v)))
            .collect();
        all.extend(detect(metric, &series, first_hour, s));
    }
    all.sort_by_key(|a| a.start_ms);
    Ok(all)
}
