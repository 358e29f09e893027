//! `database` (ClickHouse over HTTP): reachability of the server and of
//! every node of a cluster, replication health, parts per partition, free
//! disk, slow and failed queries; table sizes and compression as metrics.
//! Every condition found becomes a finding with its status; the worst
//! decides, and `details` names the node, table or query at fault.

use std::time::Duration;

use lightbulb_common::Status;
use serde_json::{Value, json};

pub use lightbulb_common::spec::DatabaseSpec;

use super::{BoxFuture, Check, Finding, Outcome, summarize, timed};

mod storage;

/// Marks the check's own queries so it never counts them as slow or failed.
const MARK: &str = "/* lightbulb database check */";

pub struct DatabaseCheck {
    pub(super) spec: DatabaseSpec,
    client: Result<reqwest::Client, String>,
}

impl DatabaseCheck {
    pub fn new(spec: DatabaseSpec) -> DatabaseCheck {
        let client = super::support::shared_client(super::support::ClientKey {
            redirects: Some(10),
            insecure: false,
            ca: None,
            timeout: Some(Duration::from_secs(10)),
        });
        DatabaseCheck { spec, client }
    }

    /// Rows of a query as JSON objects; the error is ClickHouse's own text.
    pub(super) async fn rows(&self, sql: &str) -> Result<Vec<Value>, String> {
        let r = self
            .client
            .as_ref()
            .map_err(Clone::clone)?
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
        let mut outcome = self.sizes(&mut details).await;
        summarize(
            &mut outcome,
            &findings,
            || format!("ClickHouse {version} healthy"),
            &mut details,
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
        // Filtered here rather than in SQL: the name never enters a query.
        let rows = match self
            .rows("SELECT cluster, host_name, toString(port) AS port FROM system.clusters")
            .await
        {
            Ok(rows) => rows
                .into_iter()
                .filter(|r| r["cluster"].as_str() == Some(cluster.as_str()))
                .collect::<Vec<_>>(),
            Err(e) => {
                findings.push(Finding::new(
                    Status::Degraded,
                    format!("cannot list cluster `{cluster}`: {e}"),
                ));
                return;
            }
        };
        if rows.is_empty() {
            findings.push(Finding::new(
                Status::Failed,
                format!("cluster `{cluster}` is not defined on this server"),
            ));
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
                    findings.push(Finding::new(
                        Status::Degraded,
                        format!("node {node} does not answer"),
                    ));
                    nodes.push(json!({"node": node, "up": false, "error": first_line}));
                }
            }
        }
        if down == rows.len() {
            findings.push(Finding::new(
                Status::Failed,
                format!("no node of cluster `{cluster}` answers"),
            ));
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
                findings.push(Finding::new(
                    Status::Failed,
                    format!("replica {table} is read-only"),
                ));
            }
            if queue > self.spec.max_replication_queue as f64 {
                findings.push(Finding::new(
                    Status::Degraded,
                    format!(
                        "replica {table} has {queue} queued entries (max {})",
                        self.spec.max_replication_queue
                    ),
                ));
            }
            if delay > self.spec.max_replication_delay.as_secs_f64() {
                findings.push(Finding::new(
                    Status::Degraded,
                    format!(
                        "replica {table} is {delay} s behind (max {} s)",
                        self.spec.max_replication_delay.as_secs()
                    ),
                ));
            }
            shown.push(json!({"table": table, "readonly": num(&r["is_readonly"]) > 0.0, "queue_size": queue, "absolute_delay": delay}));
        }
        let errors = self
            .rows("SELECT database, table, type, last_exception, num_tries FROM system.replication_queue WHERE last_exception != '' LIMIT 10")
            .await
            .unwrap_or_default();
        for e in &errors {
            let table = format!("{}.{}", str(&e["database"]), str(&e["table"]));
            findings.push(Finding::new(
                Status::Degraded,
                format!(
                    "replication of {table} failing: {}",
                    str(&e["last_exception"]).lines().next().unwrap_or_default()
                ),
            ));
        }
        if !replicas.is_empty() {
            details.insert("replicas".into(), Value::Array(shown));
        }
        if !errors.is_empty() {
            details.insert("replication_errors".into(), Value::Array(errors));
        }
    }
}

pub(super) fn str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// ClickHouse's JSON quotes 64-bit numbers; both forms read as f64.
pub(super) fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

impl Check for DatabaseCheck {
    fn run(&mut self) -> BoxFuture<'_, Outcome> {
        timed(self.inspect())
    }
}
