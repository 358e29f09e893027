//! `database` (ClickHouse over HTTP): reachability of the server and of
//! every node of a cluster, replication health, parts per partition, free
//! disk, slow and failed queries; table sizes and compression as metrics.
//! Every condition found becomes a finding with its status; the worst
//! decides, and `details` names the node, table or query at fault.

use std::time::Duration;

use lightbulb_common::Status;
use serde_json::{Value, json};

pub use lightbulb_common::spec::DatabaseSpec;

use super::{BoxFuture, Check, Outcome};

/// Marks the check's own queries so it never counts them as slow or failed.
const MARK: &str = "/* lightbulb database check */";

pub struct DatabaseCheck {
    spec: DatabaseSpec,
    client: reqwest::Client,
}

struct Finding {
    status: Status,
    message: String,
}

impl DatabaseCheck {
    pub fn new(spec: DatabaseSpec) -> DatabaseCheck {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        DatabaseCheck { spec, client }
    }

    /// Rows of a query as JSON objects; the error is ClickHouse's own text.
    async fn rows(&self, sql: &str) -> Result<Vec<Value>, String> {
        let r = self
            .client
            .post(&self.spec.url)
            .basic_auth(&self.spec.user, Some(&self.spec.password))
            .body(format!("{MARK} {sql} FORMAT JSON"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let ok = r.status().is_success();
        let text = r.text().await.map_err(|e| e.to_string())?;
        if !ok {
            return Err(text.trim().to_string());
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        Ok(v["data"].as_array().cloned().unwrap_or_default())
    }

    async fn inspect(&self) -> Outcome {
        let version = match self.rows("SELECT version() AS v").await {
            Ok(rows) => rows.first().map(|r| str(&r["v"])).unwrap_or_default(),
            Err(e) => {
                let mut o =
                    Outcome::failed(format!("cannot query ClickHouse at {}: {e}", self.spec.url));
                o.details = json!({"url": self.spec.url, "error": e});
                return o;
            }
        };
        let mut findings = Vec::new();
        let mut details = serde_json::Map::new();
        details.insert("version".into(), json!(version));
        self.nodes(&mut findings, &mut details).await;
        self.replication(&mut findings, &mut details).await;
        self.parts(&mut findings, &mut details).await;
        self.disks(&mut findings, &mut details).await;
        self.queries(&mut findings, &mut details).await;
        let mut outcome = self.sizes().await;
        let worst = findings.iter().fold(Status::Ok, |w, f| w.worst(f.status));
        outcome.status = worst;
        outcome.message = if findings.is_empty() {
            format!("ClickHouse {version} healthy")
        } else {
            let mut bad: Vec<&Finding> = findings.iter().collect();
            bad.sort_by_key(|f| std::cmp::Reverse(f.status == Status::Failed));
            let shown: Vec<&str> = bad.iter().take(3).map(|f| f.message.as_str()).collect();
            let more = bad.len().saturating_sub(3);
            let tail = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            format!("{}{tail}", shown.join("; "))
        };
        details.insert(
            "findings".into(),
            findings
                .iter()
                .map(|f| json!({"status": f.status.name(), "message": f.message}))
                .collect(),
        );
        outcome.details = Value::Object(details);
        outcome
    }

    async fn nodes(
        &self,
        findings: &mut Vec<Finding>,
        details: &mut serde_json::Map<String, Value>,
    ) {
        let Some(cluster) = &self.spec.cluster else {
            return;
        };
        let rows = match self
            .rows(&format!(
                "SELECT host_name, toString(port) AS port FROM system.clusters WHERE cluster = '{cluster}'"
            ))
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                findings.push(Finding { status: Status::Degraded, message: format!("cannot list cluster `{cluster}`: {e}") });
                return;
            }
        };
        if rows.is_empty() {
            findings.push(Finding {
                status: Status::Failed,
                message: format!("cluster `{cluster}` is not defined on this server"),
            });
            return;
        }
        let mut nodes = Vec::new();
        let mut down = 0;
        for r in &rows {
            let node = format!("{}:{}", str(&r["host_name"]), str(&r["port"]));
            // Host and port come from system.clusters; quotes cannot occur there.
            let probe = format!(
                "SELECT 1 AS ok FROM remote('{}', system.one)",
                node.replace('\'', "")
            );
            match self.rows(&probe).await {
                Ok(_) => nodes.push(json!({"node": node, "up": true})),
                Err(e) => {
                    down += 1;
                    let first_line = e.lines().next().unwrap_or_default().to_string();
                    findings.push(Finding {
                        status: Status::Degraded,
                        message: format!("node {node} does not answer"),
                    });
                    nodes.push(json!({"node": node, "up": false, "error": first_line}));
                }
            }
        }
        if down == rows.len() {
            findings.push(Finding {
                status: Status::Failed,
                message: format!("no node of cluster `{cluster}` answers"),
            });
        }
        details.insert("nodes".into(), Value::Array(nodes));
    }

    async fn replication(
        &self,
        findings: &mut Vec<Finding>,
        details: &mut serde_json::Map<String, Value>,
    ) {
        let replicas = self
            .rows("SELECT database, table, is_readonly, queue_size, absolute_delay FROM system.replicas")
            .await
            .unwrap_or_default();
        let mut shown = Vec::new();
        for r in &replicas {
            let table = format!("{}.{}", str(&r["database"]), str(&r["table"]));
            let (queue, delay) = (num(&r["queue_size"]), num(&r["absolute_delay"]));
            if num(&r["is_readonly"]) > 0.0 {
                findings.push(Finding {
                    status: Status::Failed,
                    message: format!("replica {table} is read-only"),
                });
            }
            if queue > self.spec.max_replication_queue as f64 {
                findings.push(Finding {
                    status: Status::Degraded,
                    message: format!(
                        "replica {table} has {queue} queued entries (max {})",
                        self.spec.max_replication_queue
                    ),
                });
            }
            if delay > self.spec.max_replication_delay.as_secs_f64() {
                findings.push(Finding {
                    status: Status::Degraded,
                    message: format!(
                        "replica {table} is {delay} s behind (max {} s)",
                        self.spec.max_replication_delay.as_secs()
                    ),
                });
            }
            shown.push(json!({"table": table, "readonly": num(&r["is_readonly"]) > 0.0, "queue_size": queue, "absolute_delay": delay}));
        }
        let errors = self
            .rows("SELECT database, table, type, last_exception, num_tries FROM system.replication_queue WHERE last_exception != '' LIMIT 10")
            .await
            .unwrap_or_default();
        for e in &errors {
            let table = format!("{}.{}", str(&e["database"]), str(&e["table"]));
            findings.push(Finding {
                status: Status::Degraded,
                message: format!(
                    "replication of {table} failing: {}",
                    str(&e["last_exception"]).lines().next().unwrap_or_default()
                ),
            });
        }
        if !replicas.is_empty() {
            details.insert("replicas".into(), Value::Array(shown));
        }
        if !errors.is_empty() {
            details.insert("replication_errors".into(), Value::Array(errors));
        }
    }

    async fn parts(
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
            findings.push(Finding {
                status: Status::Degraded,
                message: format!(
                    "too many parts: {}.{} partition {} has {} (max {})",
                    str(&r["database"]),
                    str(&r["table"]),
                    str(&r["partition"]),
                    num(&r["parts"]),
                    self.spec.max_parts_per_partition
                ),
            });
        }
        if !rows.is_empty() {
            details.insert("too_many_parts".into(), Value::Array(rows));
        }
    }

    async fn disks(
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
                findings.push(Finding {
                    status: Status::Failed,
                    message: format!("disk {name} has {pct:.1}% free"),
                });
            } else if pct < self.spec.min_free_disk_percent {
                findings.push(Finding {
                    status: Status::Degraded,
                    message: format!("disk {name} has {pct:.1}% free"),
                });
            }
            shown.push(json!({"disk": name, "path": str(&r["path"]), "free_percent": pct}));
        }
        details.insert("disks".into(), Value::Array(shown));
    }

    async fn queries(
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
            findings.push(Finding {
                status: Status::Degraded,
                message: format!(
                    "{} queries slower than {} in the last {} (max {})",
                    slow.len(),
                    humantime::format_duration(self.spec.slow_query),
                    humantime::format_duration(self.spec.window),
                    self.spec.max_slow_queries
                ),
            });
        }
        if failed.len() as u64 > self.spec.max_failed_queries {
            findings.push(Finding {
                status: Status::Degraded,
                message: format!(
                    "{} failed queries in the last {} (max {})",
                    failed.len(),
                    humantime::format_duration(self.spec.window),
                    self.spec.max_failed_queries
                ),
            });
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
    async fn sizes(&self) -> Outcome {
        let mut o = Outcome::new(Status::Ok, "");
        let rows = self
            .rows(
                "SELECT sum(rows) AS rows, sum(bytes_on_disk) AS bytes, sum(data_compressed_bytes) AS compressed,
                    sum(data_uncompressed_bytes) AS uncompressed FROM system.parts WHERE active",
            )
            .await
            .unwrap_or_default();
        if let Some(r) = rows.first() {
            let (compressed, uncompressed) = (num(&r["compressed"]), num(&r["uncompressed"]));
            o.metrics.extra.insert("rows".into(), num(&r["rows"]));
            o.metrics
                .extra
                .insert("bytes_on_disk".into(), num(&r["bytes"]));
            if compressed > 0.0 {
                o.metrics
                    .extra
                    .insert("compression_ratio".into(), uncompressed / compressed);
            }
        }
        o
    }
}

fn str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// ClickHouse's JSON quotes 64-bit numbers; both forms read as f64.
fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

impl Check for DatabaseCheck {
    fn run(&mut self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            let mut o = self.inspect().await;
            o.metrics.response_time_ms = Some(started.elapsed().as_secs_f64() * 1e3);
            o
        })
    }
}
