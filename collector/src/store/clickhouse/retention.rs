//! Retention on ClickHouse: whole partitions past the cutoff are dropped
//! (works on every server version); TTL is set as well where the server has it.

use tracing::info;

use super::query::Ch;
use super::schema::{Granularity, PARTITIONED};
use crate::Result;
use crate::store::Retention;

/// Drops every partition that ends at or before its table's cutoff.
pub(super) async fn expire(ch: &Ch, retention: Retention, now_ms: i64) -> Result<()> {
    let parts: Vec<(String, String)> = ch
        .call(
            "list partitions",
            ch.client
                .query(
                    "SELECT DISTINCT table, partition FROM system.parts
                             WHERE database = ? AND active",
                )
                .bind(&ch.layout.db)
                .fetch_all(),
        )
        .await?;
    let suffix = if ch.layout.cluster.is_empty() {
        ""
    } else {
        "_local"
    };
    let on_cluster = ch.layout.on_cluster();
    let mut dropped = 0;
    for (table, unit) in PARTITIONED {
        let cutoff = match *table {
            "rollup_minute" | "rollup_hour" | "anomalies" => retention.rollup_cutoff(now_ms),
            _ => retention.raw_cutoff(now_ms),
        };
        let name = format!("{table}{suffix}");
        for (_, id) in parts.iter().filter(|(t, _)| *t == name) {
            let (Ok(id), Some(end)) = (id.parse::<u32>(), partition_end_ms(id, *unit)) else {
                continue;
            };
            if end > cutoff {
                continue;
            }
            let sql = format!(
                "ALTER TABLE {}{on_cluster} DROP PARTITION {id}",
                ch.layout.local(table)
            );
            ch.call("drop partition", ch.client.query(&sql).execute())
                .await?;
            dropped += 1;
        }
    }
    info!(dropped, "clickhouse retention applied");
    Ok(())
}

pub(super) async fn set_ttl(ch: &Ch, retention: &Retention) -> Result<()> {
    let on_cluster = ch.layout.on_cluster();
    let days = |ms: i64| ms / 86_400_000;
    for (table, column, keep) in [
        ("results", "ts", days(retention.raw_ms)),
        ("result_keys", "ts", days(retention.raw_ms)),
        ("status_events", "ts", days(retention.raw_ms)),
        ("spool_gaps", "ts", days(retention.raw_ms)),
        ("spool_samples", "ts", days(retention.raw_ms)),
        ("rollup_minute", "bucket", days(retention.rollups_ms)),
        ("rollup_hour", "bucket", days(retention.rollups_ms)),
        ("anomalies", "start_ms", days(retention.rollups_ms)),
    ] {
        let sql = format!(
            "ALTER TABLE {}{on_cluster} MODIFY TTL toDateTime(intDiv({column}, 1000)) + INTERVAL {keep} DAY",
            ch.layout.local(table)
        );
        ch.call("set ttl", ch.client.query(&sql).execute()).await?;
    }
    Ok(())
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// End (exclusive, epoch ms) of a partition id such as `20261127` or `202611`.
fn partition_end_ms(id: &str, unit: Granularity) -> Option<i64> {
    let n: i64 = id.parse().ok()?;
    let days = match unit {
        Granularity::Day => days_from_civil(n / 10_000, n / 100 % 100, n % 100) + 1,
        Granularity::Month => {
            let (y, m) = (n / 100, n % 100);
            if m == 12 {
                days_from_civil(y + 1, 1, 1)
            } else {
                days_from_civil(y, m + 1, 1)
            }
        }
    };
    Some(days * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_ends_are_utc_day_and_month_boundaries() {
        // 2026-11-27T00:00:00Z = 1795737600000
        assert_eq!(
            partition_end_ms("20261126", Granularity::Day),
            Some(1_795_737_600_000)
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            partition_end_ms("202612", Granularity::Month),
            Some(days_from_civil(2027, 1, 1) * 86_400_000)
        );
        assert_eq!(partition_end_ms("x", Granularity::Day), None);
    }
}
