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

use serde::Serialize;

const HOUR_MS: i64 = 3_600_000;
const WEEK_HOURS: i64 = 168;
/// MAD to standard deviation, for normal data.
const MAD_SCALE: f64 = 1.4826;

/// What is measured each hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// p95 response time, ms.
    ResponseTimeMs,
    /// Share of FAILED results.
    ErrorRate,
}

impl Metric {
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    pub metric: Metric,
    pub start_ms: i64,
    pub value: f64,
    /// The baseline's median.
    pub expected: f64,
    /// Deviations above it.
    pub score: f64,
}

/// The anomalies among `series` (hour start in ms, value; hours without
/// data left out) in the hours starting from `from_ms`, oldest first.
pub fn detect(metric: Metric, series: &[(i64, f64)], from_ms: i64, s: &Settings) -> Vec<Anomaly> {
    let by_hour: std::collections::HashMap<i64, f64> = series
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|&(t, v)| (t.div_euclid(HOUR_MS), v))
        .collect();
    let mut out = Vec::new();
    let mut hours: Vec<(i64, f64)> = series
        .iter()
        .filter(|(t, v)| *t >= from_ms && v.is_finite())
        .map(|&(t, v)| (t.div_euclid(HOUR_MS), v))
        .collect();
    hours.sort_by_key(|h| h.0);
    for (hour, value) in hours {
        let mut base: Vec<f64> = (1..=s.weeks)
            .flat_map(|k| (-s.beside..=s.beside).map(move |j| hour - k * WEEK_HOURS + j))
            .filter_map(|h| by_hour.get(&h).copied())
            .collect();
        if base.len() < s.min_values {
            continue;
        }
        let expected = median(&mut base);
        let mut dev: Vec<f64> = base.iter().map(|v| (v - expected).abs()).collect();
        let spread = (MAD_SCALE * median(&mut dev)).max(metric.floor(expected));
        let score = (value - expected) / spread;
        if score > s.threshold {
            out.push(Anomaly {
                metric,
                start_ms: hour * HOUR_MS,
                value,
                expected,
                score,
            });
        }
    }
    out
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
    let series = |f: &dyn Fn(&crate::stats::Stats) -> Option<f64>| -> Vec<(i64, f64)> {
        buckets
            .iter()
            .filter_map(|b| f(&b.stats).map(|v| (b.start_ms, v)))
            .collect()
    };
    let first_hour = from_ms.div_euclid(HOUR_MS) * HOUR_MS;
    let mut all = detect(
        Metric::ResponseTimeMs,
        &series(&|st| st.response_time_ms.as_ref().map(|l| l.p95)),
        first_hour,
        s,
    );
    all.extend(detect(
        Metric::ErrorRate,
        &series(&|st| st.error_rate),
        first_hour,
        s,
    ));
    all.sort_by_key(|a| a.start_ms);
    Ok(all)
}
