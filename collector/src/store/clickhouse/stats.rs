//! Aggregates of one service on ClickHouse: from raw results with exact
//! quantiles, or merged from the rollups' states.

use clickhouse::Row;
use serde::Deserialize;

use super::query::Ch;
use crate::Result;
use crate::store::rollup::{Latency, RangeQuery, Source, Stats};

#[derive(Debug, Row, Deserialize)]
struct StatsRow {
    b: i64,
    total: u64,
    ok: u64,
    degraded: u64,
    failed: u64,
    rt_n: u64,
    rt_min: f64,
    rt_max: f64,
    rt_avg: f64,
    rt_q: Vec<f64>,
    cpu_n: u64,
    cpu_avg: f64,
    mem_n: u64,
    mem_avg: f64,
}

impl StatsRow {
    fn stats(&self) -> Stats {
        let q = |i: usize| self.rt_q.get(i).copied().unwrap_or(f64::NAN);
        Stats {
            count: self.total,
            ok: self.ok,
            degraded: self.degraded,
            failed: self.failed,
            other: self.total - self.ok - self.degraded - self.failed,
            response_time_ms: (self.rt_n > 0).then(|| Latency {
                min: self.rt_min,
                avg: self.rt_avg,
                max: self.rt_max,
                p50: q(0),
                p95: q(1),
                p99: q(2),
            }),
            cpu_usage_avg: (self.cpu_n > 0).then_some(self.cpu_avg),
            memory_usage_avg: (self.mem_n > 0).then_some(self.mem_avg),
            ..Stats::default()
        }
        .with_ratios()
    }
}

/// Aggregates of one service from `source`, per `step_ms` bucket (or over
/// the whole range when `step_ms` is `None`), reading from `from_ms`.
pub(super) async fn stats(
    ch: &Ch,
    q: &RangeQuery,
    source: Source,
    from_ms: i64,
    step_ms: Option<i64>,
) -> Result<Vec<(i64, Stats)>> {
    let (table, ts, aggregates) = match source {
        Source::Raw => (
            "results",
            "ts",
            "count(), countIf(status = 0), countIf(status = 1), countIf(status = 2),
             count(response_time_ms), ifNull(min(response_time_ms), nan), ifNull(max(response_time_ms), nan),
             ifNull(avg(response_time_ms), nan), quantilesExact(0.5, 0.95, 0.99)(response_time_ms),
             count(cpu_usage), ifNull(avg(cpu_usage), nan), count(memory_usage), ifNull(avg(memory_usage), nan)",
        ),
        Source::Minute | Source::Hour => (
            if source == Source::Minute { "rollup_minute" } else { "rollup_hour" },
            "bucket",
            "countMerge(total), countIfMerge(ok), countIfMerge(degraded), countIfMerge(failed),
             countMerge(rt_n), minMerge(rt_min), maxMerge(rt_max), avgMerge(rt_avg),
             quantilesMerge(0.5, 0.95, 0.99)(rt_q),
             countMerge(cpu_n), avgMerge(cpu_avg), countMerge(mem_n), avgMerge(mem_avg)",
        ),
    };
    let (key, group) = match step_ms {
        Some(_) => (
            format!("toInt64(intDiv({ts}, ?) * ?)"),
            "GROUP BY b ORDER BY b",
        ),
        None => ("toInt64(0)".to_string(), ""),
    };
    let sql = format!(
        "SELECT {key} AS b, {aggregates} FROM {} WHERE service_id = ? AND {ts} BETWEEN ? AND ? {group}",
        ch.t(table)
    );
    let mut query = ch.client.query(&sql);
    if let Some(step) = step_ms {
        query = query.bind(step).bind(step);
    }
    let rows: Vec<StatsRow> = ch
        .call(
            "aggregate",
            query
                .bind(&q.service_id)
                .bind(from_ms)
                .bind(q.to_ms)
                .fetch_all(),
        )
        .await?;
    Ok(rows.iter().map(|r| (r.b, r.stats())).collect())
}
