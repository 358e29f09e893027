//! The `database` check's storage and workload findings: parts per
//! partition, free disk, slow and failed queries, sizes as metrics.

use lightbulb_common::Status;
use serde_json::{Value, json};

use super::{DatabaseCheck, num, str};
use crate::checks::{Finding, Outcome};

impl DatabaseCheck {
    pub(super) async fn parts(
        &self,
        findings: &mut Vec<Finding>,
        details: &mut serde_json::Map<String, Value>,
    ) {
        let sql = format!(
            "SELECT database, table, partition, count() AS parts FROM system.parts WHERE active
             GROUP BY database, table, partition HAVING parts > {} ORDER BY parts DESC LIMIT 10",
            self.spec.max_parts_per_partition
        );
        let rows = self.rows(&sql).await.unwrap_or_default();
        for r in &rows {
            findings.push(Finding::new(
                Status::Degraded,
                format!(
                    "too many parts: {}.{} partition {} has {} (max {})",
                    str(&r["database"]),
                    str(&r["table"]),
                    str(&r["partition"]),
                    num(&r["parts"]),
                    self.spec.max_parts_per_partition
                ),
            ));
        }
        if !rows.is_empty() {
            details.insert("too_many_parts".into(), Value::Array(rows));
        }
    }

    pub(super) async fn disks(
        &self,
        findings: &mut Vec<Finding>,
        details: &mut serde_json::Map<String, Value>,
    ) {
        // system.disks arrived in ClickHouse 19.15; older servers do not report free space.
        let Ok(rows) = self
            .rows("SELECT name, path, free_space, total_space FROM system.disks")
            .await
        else {
            details.insert(
                "disks".into(),
                json!("not reported by this ClickHouse version"),
            );
            return;
        };
        let mut shown = Vec::new();
        for r in &rows {
            let (free, total) = (num(&r["free_space"]), num(&r["total_space"]));
            let pct = if total > 0.0 {
                100.0 * free / total
            } else {
                100.0
            };
            let name = str(&r["name"]);
            if pct < self.spec.failed_free_disk_percent {
                findings.push(Finding::new(
                    Status::Failed,
                    format!("disk {name} has {pct:.1}% free"),
                ));
            } else if pct < self.spec.min_free_disk_percent {
                findings.push(Finding::new(
                    Status::Degraded,
                    format!("disk {name} has {pct:.1}% free"),
                ));
            }
            shown.push(json!({"disk": name, "path": str(&r["path"]), "free_percent": pct}));
        }
        details.insert("disks".into(), Value::Array(shown));
    }

    pub(super) async fn queries(
        &self,
        findings: &mut Vec<Finding>,
        details: &mut serde_json::Map<String, Value>,
    ) {
        let sql = format!(
            // `type` is UInt8 on old servers and Enum8 on new ones; as Int8 both
            // read 2 = finished, 3 and 4 = failed.
            "SELECT toInt8(type) >= 3 AS failed, query_duration_ms AS ms, substring(query, 1, 200) AS query,
                substring(exception, 1, 200) AS exception
             FROM system.query_log
             WHERE event_time > now() - {window} AND position(query, 'lightbulb database check') = 0
               AND ((toInt8(type) = 2 AND query_duration_ms > {slow}) OR toInt8(type) IN (3, 4))
             ORDER BY event_time DESC LIMIT 50",
            window = self.spec.window.as_secs(),
            slow = self.spec.slow_query.as_millis(),
        );
        let rows = match self.rows(&sql).await {
            Ok(rows) => rows,
            Err(_) => {
                details.insert(
                    "query_log".into(),
                    json!("not enabled (log_queries is off)"),
                );
                return;
            }
        };
        let (failed, slow): (Vec<&Value>, Vec<&Value>) =
            rows.iter().partition(|r| num(&r["failed"]) > 0.0);
        if slow.len() as u64 > self.spec.max_slow_queries {
            findings.push(Finding::new(
                Status::Degraded,
                format!(
                    "{} queries slower than {} in the last {} (max {})",
                    slow.len(),
                    humantime::format_duration(self.spec.slow_query),
                    humantime::format_duration(self.spec.window),
                    self.spec.max_slow_queries
                ),
            ));
        }
        if failed.len() as u64 > self.spec.max_failed_queries {
            findings.push(Finding::new(
                Status::Degraded,
                format!(
                    "{} failed queries in the last {} (max {})",
                    failed.len(),
                    humantime::format_duration(self.spec.window),
                    self.spec.max_failed_queries
                ),
            ));
        }
        details.insert(
            "slow_queries".into(),
            Value::Array(slow.into_iter().take(5).cloned().collect()),
        );
        details.insert(
            "failed_queries".into(),
            Value::Array(failed.into_iter().take(5).cloned().collect()),
        );
    }

    /// Table sizes and compression, as metrics.
    /// Sizes of all active data, as metrics, and of the largest tables, in
    /// `details.tables`.
    pub(super) async fn sizes(&self, details: &mut serde_json::Map<String, Value>) -> Outcome {
        let mut o = Outcome::new(Status::Ok, "");
        let rows = self
            .rows(
                "SELECT database, table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes,
                    sum(data_compressed_bytes) AS compressed, sum(data_uncompressed_bytes) AS uncompressed
                 FROM system.parts WHERE active GROUP BY database, table ORDER BY bytes DESC",
            )
            .await
            .unwrap_or_default();
        let ratio = |c: f64, u: f64| (c > 0.0).then(|| u / c);
        let mut total = [0.0; 4];
        let mut tables = Vec::new();
        for r in &rows {
            let t = [
                num(&r["rows"]),
                num(&r["bytes"]),
                num(&r["compressed"]),
                num(&r["uncompressed"]),
            ];
            for (sum, v) in total.iter_mut().zip(t) {
                *sum += v;
            }
            if tables.len() < 10 {
                tables.push(json!({
                    "table": format!("{}.{}", str(&r["database"]), str(&r["table"])),
                    "rows": t[0],
                    "bytes_on_disk": t[1],
                    "compression_ratio": ratio(t[2], t[3]),
                }));
            }
        }
        o.metrics.extra.insert("rows".into(), total[0]);
        o.metrics.extra.insert("bytes_on_disk".into(), total[1]);
        if let Some(r) = ratio(total[2], total[3]) {
            o.metrics.extra.insert("compression_ratio".into(), r);
        }
        details.insert("tables".into(), Value::Array(tables));
        o
    }
}
