//! Aggregates over a service's results: history buckets (`step`) and range
//! summaries (`/metrics`). Which data a query reads is decided here, once, so
//! both stores answer the same question from the same resolution.
//!
//! Percentiles: from raw results they are exact (the value at index
//! `floor(p * n)` of the sorted values, ClickHouse's `quantilesExact`); from
//! rollups they are estimates (ClickHouse's reservoir `quantiles`, SQLite's
//! 2 %-wide log histogram), within a few percent on dense data.

use std::collections::BTreeMap;

use lightbulb_common::Status;

use super::Retention;
pub use crate::stats::{Latency, Stats};

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
/// Ranges up to this long are summarised from raw results.
const RAW_SUMMARY_MAX_MS: i64 = 6 * HOUR_MS;
/// Ranges up to this long are summarised from per-minute rollups.
const MINUTE_SUMMARY_MAX_MS: i64 = 7 * 24 * HOUR_MS;

/// Where an aggregate is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Raw,
    Minute,
    Hour,
}

impl Source {
    /// History buckets: the coarsest rollup whose granule divides `step`.
    pub fn for_step(step_ms: i64) -> Source {
        if step_ms % HOUR_MS == 0 {
            Source::Hour
        } else if step_ms % MINUTE_MS == 0 {
            Source::Minute
        } else {
            Source::Raw
        }
    }

    /// Range summaries: raw for short ranges, then minute, then hour rollups.
    pub fn for_range(from_ms: i64, to_ms: i64) -> Source {
        match to_ms - from_ms {
            span if span <= RAW_SUMMARY_MAX_MS => Source::Raw,
            span if span <= MINUTE_SUMMARY_MAX_MS => Source::Minute,
            _ => Source::Hour,
        }
    }

    pub fn granule_ms(self) -> i64 {
        match self {
            Source::Raw => 1,
            Source::Minute => MINUTE_MS,
            Source::Hour => HOUR_MS,
        }
    }

    /// First granule start to read for a range starting at `from_ms`: a
    /// rollup granule overlapping the range counts whole.
    pub fn first_granule(self, from_ms: i64) -> i64 {
        from_ms.div_euclid(self.granule_ms()) * self.granule_ms()
    }

    /// Where a query of this source may start reading: the range's first
    /// granule, but nothing older than the retention cutoff.
    pub fn read_from(self, from_ms: i64, retention: &Retention, now_ms: i64) -> i64 {
        let cutoff = match self {
            Source::Raw => retention.raw_cutoff(now_ms),
            _ => retention.rollup_cutoff(now_ms),
        };
        self.first_granule(from_ms).max(cutoff)
    }
}

/// One service over `[from_ms, to_ms]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeQuery {
    pub service_id: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// One time bucket's aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub start_ms: i64,
    pub stats: Stats,
}

/// `/history?step=`: buckets, oldest first; empty buckets are left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    pub service_id: String,
    pub step_ms: i64,
    pub source: Source,
    pub buckets: Vec<Bucket>,
}

impl Buckets {
    pub fn new(
        service_id: String,
        step_ms: i64,
        source: Source,
        stats: Vec<(i64, Stats)>,
    ) -> Buckets {
        let buckets = stats
            .into_iter()
            .map(|(start_ms, stats)| Bucket { start_ms, stats })
            .collect();
        Buckets {
            service_id,
            step_ms,
            source,
            buckets,
        }
    }
}

/// `/metrics`: one range summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub range: RangeQuery,
    pub source: Source,
    pub stats: Stats,
}

impl Summary {
    pub fn new(range: RangeQuery, source: Source, stats: Stats) -> Summary {
        Summary {
            range,
            source,
            stats,
        }
    }
}

/// Exact percentile of sorted values: the value at index `floor(p * n)`.
pub fn exact_quantile(sorted: &[f64], p: f64) -> f64 {
    let i = ((p * sorted.len() as f64) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

/// Builds `Stats` from raw results in Rust (SQLite's raw path).
#[derive(Default)]
pub struct RawAgg {
    stats: Stats,
    rt: Vec<f64>,
    cpu: (u64, f64),
    mem: (u64, f64),
}

impl RawAgg {
    pub fn add(&mut self, status: Status, rt: Option<f64>, cpu: Option<f64>, mem: Option<f64>) {
        count_status(&mut self.stats, status, 1);
        self.rt.extend(rt);
        if let Some(c) = cpu {
            self.cpu = (self.cpu.0 + 1, self.cpu.1 + c);
        }
        if let Some(m) = mem {
            self.mem = (self.mem.0 + 1, self.mem.1 + m);
        }
    }

    pub fn finish(mut self) -> Stats {
        self.rt.sort_by(f64::total_cmp);
        if !self.rt.is_empty() {
            let q = |p| exact_quantile(&self.rt, p);
            self.stats.response_time_ms = Some(Latency {
                min: self.rt[0],
                avg: self.rt.iter().sum::<f64>() / self.rt.len() as f64,
                max: self.rt[self.rt.len() - 1],
                p50: q(0.5),
                p95: q(0.95),
                p99: q(0.99),
            });
        }
        self.stats.cpu_usage_avg = avg(self.cpu);
        self.stats.memory_usage_avg = avg(self.mem);
        self.stats.with_ratios()
    }
}

fn avg((n, sum): (u64, f64)) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

pub fn count_status(s: &mut Stats, status: Status, n: u64) {
    s.count += n;
    match status {
        Status::Ok => s.ok += n,
        Status::Degraded => s.degraded += n,
        Status::Failed => s.failed += n,
        _ => s.other += n,
    }
}

/// A mergeable rollup cell as SQLite stores it: counts, sums and a log
/// histogram of response times (bins 2 % wide).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cell {
    pub count: u64,
    pub ok: u64,
    pub degraded: u64,
    pub failed: u64,
    pub other: u64,
    pub rt_n: u64,
    pub rt_sum: f64,
    pub rt_min: Option<f64>,
    pub rt_max: Option<f64>,
    /// Bin index → count; bin `i` holds values around `GROWTH^i`.
    pub rt_hist: BTreeMap<i32, u64>,
    pub cpu_n: u64,
    pub cpu_sum: f64,
    pub mem_n: u64,
    pub mem_sum: f64,
}

const GROWTH: f64 = 1.02;
/// Bin for zero and negative values.
const ZERO_BIN: i32 = i32::MIN;

fn bin(v: f64) -> i32 {
    if v <= 0.0 {
        ZERO_BIN
    } else {
        (v.ln() / GROWTH.ln()).round() as i32
    }
}

fn bin_value(i: i32) -> f64 {
    if i == ZERO_BIN { 0.0 } else { GROWTH.powi(i) }
}

impl Cell {
    pub fn add(&mut self, status: Status, rt: Option<f64>, cpu: Option<f64>, mem: Option<f64>) {
        let mut s = Stats::default();
        count_status(&mut s, status, 1);
        self.count += 1;
        self.ok += s.ok;
        self.degraded += s.degraded;
        self.failed += s.failed;
        self.other += s.other;
        if let Some(v) = rt.filter(|v| v.is_finite()) {
            self.rt_n += 1;
            self.rt_sum += v;
            self.rt_min = Some(self.rt_min.map_or(v, |m| m.min(v)));
            self.rt_max = Some(self.rt_max.map_or(v, |m| m.max(v)));
            *self.rt_hist.entry(bin(v)).or_default() += 1;
        }
        if let Some(c) = cpu {
            self.cpu_n += 1;
            self.cpu_sum += c;
        }
        if let Some(m) = mem {
            self.mem_n += 1;
            self.mem_sum += m;
        }
    }

    pub fn merge(&mut self, o: &Cell) {
        self.count += o.count;
        self.ok += o.ok;
        self.degraded += o.degraded;
        self.failed += o.failed;
        self.other += o.other;
        self.rt_n += o.rt_n;
        self.rt_sum += o.rt_sum;
        self.rt_min = opt(self.rt_min, o.rt_min, f64::min);
        self.rt_max = opt(self.rt_max, o.rt_max, f64::max);
        for (b, n) in &o.rt_hist {
            *self.rt_hist.entry(*b).or_default() += n;
        }
        self.cpu_n += o.cpu_n;
        self.cpu_sum += o.cpu_sum;
        self.mem_n += o.mem_n;
        self.mem_sum += o.mem_sum;
    }

    /// Interpolated percentile over the histogram (as ClickHouse's reservoir
    /// `quantiles` interpolates between samples), clamped to min/max.
    fn quantile(&self, p: f64) -> f64 {
        let n = self.rt_hist.values().sum::<u64>();
        let pos = p * (n.saturating_sub(1)) as f64;
        let (lo, hi) = (pos.floor() as u64, pos.ceil() as u64);
        let at = |k: u64| {
            let mut seen = 0;
            for (b, c) in &self.rt_hist {
                seen += c;
                if k < seen {
                    return bin_value(*b);
                }
            }
            f64::NAN
        };
        let v = at(lo) + (at(hi) - at(lo)) * (pos - lo as f64);
        v.clamp(self.rt_min.unwrap_or(v), self.rt_max.unwrap_or(v))
    }

    pub fn stats(&self) -> Stats {
        let response_time_ms = (self.rt_n > 0).then(|| Latency {
            min: self.rt_min.unwrap_or(f64::NAN),
            avg: self.rt_sum / self.rt_n as f64,
            max: self.rt_max.unwrap_or(f64::NAN),
            p50: self.quantile(0.5),
            p95: self.quantile(0.95),
            p99: self.quantile(0.99),
        });
        Stats {
            count: self.count,
            ok: self.ok,
            degraded: self.degraded,
            failed: self.failed,
            other: self.other,
            response_time_ms,
            cpu_usage_avg: avg((self.cpu_n, self.cpu_sum)),
            memory_usage_avg: avg((self.mem_n, self.mem_sum)),
            ..Stats::default()
        }
        .with_ratios()
    }
}

fn opt(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_and_range_pick_the_coarsest_fitting_source() {
        assert_eq!(Source::for_step(7_200_000), Source::Hour);
        assert_eq!(Source::for_step(300_000), Source::Minute);
        assert_eq!(Source::for_step(10_000), Source::Raw);
        assert_eq!(Source::for_range(0, HOUR_MS), Source::Raw);
        assert_eq!(Source::for_range(0, 2 * 24 * HOUR_MS), Source::Minute);
        assert_eq!(Source::for_range(0, 90 * 24 * HOUR_MS), Source::Hour);
        assert_eq!(Source::Minute.first_granule(90_001), 60_000);
        assert_eq!(Source::Hour.first_granule(-1), -HOUR_MS);
    }

    #[test]
    fn exact_quantiles_take_the_floor_index() {
        let v = [10.0, 30.0, 40.0];
        assert_eq!(exact_quantile(&v, 0.5), 30.0);
        assert_eq!(exact_quantile(&v, 0.99), 40.0);
        assert_eq!(exact_quantile(&[7.0], 0.5), 7.0);
        assert!(exact_quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn histogram_percentiles_stay_within_a_few_percent() {
        let mut cell = Cell::default();
        let values: Vec<f64> = (1..=1000).map(|i| i as f64 * 0.37).collect();
        for v in &values {
            cell.add(Status::Ok, Some(*v), None, None);
        }
        let s = cell.stats();
        let rt = s.response_time_ms.unwrap();
        for (p, got) in [(0.5, rt.p50), (0.95, rt.p95), (0.99, rt.p99)] {
            let want = values[0] + (values[999] - values[0]) * p;
            assert!((got - want).abs() / want < 0.02, "p{p}: {got} vs {want}");
        }
        assert_eq!((rt.min, rt.max), (0.37, 370.0));
    }

    #[test]
    fn merged_cells_equal_one_cell_of_everything() {
        let (mut a, mut b, mut all) = (Cell::default(), Cell::default(), Cell::default());
        for i in 0..50 {
            let status = if i % 5 == 0 {
                Status::Failed
            } else {
                Status::Ok
            };
            let cell = if i % 2 == 0 { &mut a } else { &mut b };
            cell.add(status, Some(i as f64), Some(1.0), None);
            all.add(status, Some(i as f64), Some(1.0), None);
        }
        a.merge(&b);
        assert_eq!(a, all);
        let s = a.stats();
        assert_eq!((s.count, s.failed, s.ok), (50, 10, 40));
        assert_eq!(s.uptime_pct, Some(80.0));
        assert_eq!(s.error_rate, Some(0.2));
        assert_eq!(s.memory_usage_avg, None);
    }
}
