//! ClickHouse store over HTTP(S) with RowBinary: `schema.rs` the tables, `writer.rs`
//! and `dedup.rs` the writer that decides acks, `query.rs` and others the reads;
//! collectors sharing a database poll each other's writes (`poll.rs`).

mod alerting;
mod analyses;
mod anomalies;
mod audit;
mod catalog;
mod dedup;
mod failures;
mod gaps;
mod poll;
mod push;
mod query;
mod records;
mod retention;
mod schema;
mod search;
mod stats;
mod tokens;
mod views;
mod writer;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tracing::info;

use self::query::{AgentRow, Ch};
use self::schema::Layout;
use self::writer::Op;
use super::rollup::{Buckets, RangeQuery, Source, Summary};
use super::{
    AgentRecord, BoxFuture, DroppedResults, History, HistoryQuery, Inserted, LatestStatus,
    Retention, Sequenced, StatusEvent, Store, gap_runs,
};
use crate::config::StoreConfig;
use crate::{Error, Result};

pub struct ClickHouseStore {
    ch: Ch,
    versions: catalog::Versions,
    audit_ids: Mutex<writer::EventIds>,
    retention: Retention,
    writes: mpsc::Sender<Op>,
    healthy: Arc<AtomicBool>,
    watch: Mutex<Option<mpsc::Receiver<Inserted>>>,
}

impl ClickHouseStore {
    /// Connects, creates or migrates the schema, and starts the writer and poller.
    pub async fn open(config: &StoreConfig, retention: Retention) -> Result<ClickHouseStore> {
        let mut layout = Layout {
            db: config.database.clone(),
            cluster: config.cluster.clone(),
            replicas: 1,
        };
        let client = clickhouse::Client::default()
            .with_url(&config.url)
            .with_user(&config.user)
            .with_password(&config.password)
            // RowBinary without the schema round trip; the rows match the
            // schema by construction and tests insert and read every table.
            .with_validation(false);
        let mut ch = Ch {
            client,
            layout: Arc::new(layout.clone()),
        };
        let version: String = ch
            .call("version", ch.client.query("SELECT version()").fetch_one())
            .await
            .map_err(|e| Error::unavailable(format!("store.url {}: {e}", config.url)))?;
        let parsed = schema::parse_version(&version)?;
        if !layout.cluster.is_empty() {
            layout.replicas = cluster_replicas(&ch, &layout.cluster).await?;
        }
        let layout = Arc::new(layout);
        ch.layout = layout.clone();
        ch.call(
            "create database",
            ch.client
                .query(&format!(
                    "CREATE DATABASE IF NOT EXISTS `{}`{}",
                    layout.db,
                    layout.on_cluster()
                ))
                .execute(),
        )
        .await?;
        ch.client = ch.client.with_database(&layout.db);
        migrate(&ch).await?;
        // Newer servers also expire rows themselves (`expire` drops partitions on all).
        if schema::has_ttl(parsed) {
            retention::set_ttl(&ch, &retention).await?;
        }
        search::add_indexes(&ch, parsed).await?;
        let latest = query::latest(&ch).await?;
        let last_event_id = query::last_event_id(&ch).await?;
        info!(url = %config.url, version = %version, database = %layout.db,
            services = latest.len(), "clickhouse store open");
        let replica = fastrand::u64(..);
        let healthy = Arc::new(AtomicBool::new(true));
        let (writes, rx) = mpsc::channel(1024);
        let (observed, watch) = mpsc::channel(64);
        let w = writer::Writer {
            ch: ch.clone(),
            latest: crate::store::Heads::from_latest(&latest),
            ids: writer::EventIds::new(fastrand::u16(..)),
            replica,
            healthy: healthy.clone(),
            flush_rows: config.flush_rows,
            flush_interval: config.flush_interval,
            observed: observed.clone(),
            inserted: Default::default(),
        };
        tokio::spawn(writer::run(w, rx));
        tokio::spawn(poll::run(poll::Poller {
            ch: ch.clone(),
            replica,
            interval: config.poll_interval,
            writer: writes.clone(),
            observed,
            cursor: last_event_id,
            since: last_event_id,
        }));
        Ok(ClickHouseStore {
            ch,
            versions: catalog::Versions::default(),
            audit_ids: Mutex::new(writer::EventIds::new(fastrand::u16(..))),
            retention,
            writes,
            healthy,
            watch: Mutex::new(Some(watch)),
        })
    }
}

/// Replicas of the smallest shard of `cluster`, as the server defines it.
async fn cluster_replicas(ch: &Ch, cluster: &str) -> Result<u64> {
    let replicas: u64 = ch
        .call(
            "cluster lookup",
            ch.client
                .query(
                    "SELECT toUInt64(min(c)) FROM (SELECT shard_num, count() AS c
                     FROM system.clusters WHERE cluster = ? GROUP BY shard_num)",
                )
                .bind(cluster)
                .fetch_one(),
        )
        .await?;
    if replicas == 0 {
        return Err(Error::unavailable(format!(
            "store.cluster: the ClickHouse server defines no cluster `{cluster}` (see system.clusters)"
        )));
    }
    Ok(replicas)
}

async fn migrate(ch: &Ch) -> Result<()> {
    ch.call(
        "create schema_migrations",
        ch.client
            .query(&format!(
                "CREATE TABLE IF NOT EXISTS {} (version UInt32, applied_at DateTime DEFAULT now())
                 ENGINE = MergeTree() ORDER BY version",
                ch.t("schema_migrations")
            ))
            .execute(),
    )
    .await?;
    let done: u32 = ch
        .call(
            "schema version",
            ch.client
                .query(&format!(
                    "SELECT toUInt32(max(version)) FROM {}",
                    ch.t("schema_migrations")
                ))
                .fetch_one(),
        )
        .await?;
    for (i, statements) in schema::migrations(&ch.layout)
        .iter()
        .enumerate()
        .skip(done as usize)
    {
        for sql in statements {
            ch.call("migration", ch.client.query(sql).execute()).await?;
        }
        let version = i as u32 + 1;
        ch.call(
            "record migration",
            ch.client
                .query(&format!(
                    "INSERT INTO {} (version) VALUES (?)",
                    ch.t("schema_migrations")
                ))
                .bind(version)
                .execute(),
        )
        .await?;
        info!(version, "clickhouse schema migrated");
    }
    Ok(())
}

impl Store for ClickHouseStore {
    fn insert(
        &self,
        agent_id: &str,
        results: Vec<Sequenced>,
    ) -> BoxFuture<'static, Result<Inserted>> {
        let (reply, rx) = oneshot::channel();
        let queued = self.writes.try_send(Op::Insert {
            agent_id: agent_id.to_string(),
            results,
            reply,
        });
        Box::pin(async move {
            match queued {
                Ok(()) => rx
                    .await
                    .unwrap_or_else(|_| Err(Error::unavailable("clickhouse writer stopped"))),
                Err(mpsc::error::TrySendError::Full(_)) => Err(Error::unavailable(
                    "clickhouse write queue is full (is ClickHouse down or slow?)",
                )),
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    Err(Error::unavailable("clickhouse writer stopped"))
                }
            }
        })
    }

    fn latest(&self) -> BoxFuture<'_, Result<Vec<LatestStatus>>> {
        Box::pin(query::latest(&self.ch))
    }

    fn history(&self, q: HistoryQuery) -> BoxFuture<'_, Result<History>> {
        Box::pin(async move {
            let from = q
                .from_ms
                .max(self.retention.raw_cutoff(lightbulb_common::time::now_ms()));
            let (total, points) =
                query::history(&self.ch, &q.service_id, from, q.to_ms, q.limit).await?;
            let gaps = gaps::gaps(&self.ch, &q.service_id, from, q.to_ms).await?;
            Ok(History {
                service_id: q.service_id,
                total,
                points,
                gaps: gap_runs(gaps),
            })
        })
    }

    fn events_after(&self, after: i64, limit: u32) -> BoxFuture<'_, Result<Vec<StatusEvent>>> {
        Box::pin(async move {
            let rows = query::events_after(&self.ch, after, limit).await?;
            Ok(rows.iter().map(|r| r.event()).collect())
        })
    }

    fn last_event_id(&self) -> BoxFuture<'_, Result<i64>> {
        Box::pin(query::last_event_id(&self.ch))
    }

    fn upsert_agent(&self, agent: AgentRecord) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        Box::pin(async move {
            let row = AgentRow {
                agent_id: agent.agent_id,
                hostname: agent.hostname,
                version: agent.version,
                labels: serde_json::to_string(&agent.labels).unwrap_or_default(),
                local_checks: serde_json::to_string(&agent.local_checks).unwrap_or_default(),
                last_seen: agent.last_seen_ms,
            };
            ch.insert("agents", &[row]).await
        })
    }

    fn agents(&self) -> BoxFuture<'_, Result<Vec<AgentRecord>>> {
        Box::pin(query::agents(&self.ch))
    }

    fn record_gaps(&self, gaps: Vec<DroppedResults>) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        let rows: Vec<gaps::GapRow> = gaps.into_iter().map(gaps::GapRow::from).collect();
        Box::pin(async move { ch.insert("spool_gaps", &rows).await })
    }

    fn remove_service(&self, service_id: &str, at_ms: i64) -> BoxFuture<'static, Result<()>> {
        let ch = self.ch.clone();
        let writes = self.writes.clone();
        let row = query::RemovedRow {
            service_id: service_id.to_string(),
            ts: at_ms,
        };
        Box::pin(async move {
            let service_id = row.service_id.clone();
            ch.insert("removed_services", &[row]).await?;
            writes
                .send(Op::Forget(service_id, at_ms))
                .await
                .map_err(|_| Error::unavailable("clickhouse writer stopped"))
        })
    }

    fn ready(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if self.writes.is_closed() {
                return Err(Error::unavailable("clickhouse writer stopped"));
            }
            if !self.healthy.load(Ordering::Acquire) {
                return Err(Error::unavailable(
                    "clickhouse inserts are failing; results wait in the agents' spools",
                ));
            }
            let _: u8 = self
                .ch
                .call(
                    "ping",
                    self.ch.client.query("SELECT toUInt8(1)").fetch_one(),
                )
                .await?;
            Ok(())
        })
    }

    fn buckets(&self, q: RangeQuery, step_ms: i64) -> BoxFuture<'_, Result<Buckets>> {
        Box::pin(async move {
            let source = Source::for_step(step_ms);
            let now = lightbulb_common::time::now_ms();
            let from = source.read_from(q.from_ms, &self.retention, now);
            let stats = stats::stats(&self.ch, &q, source, from, Some(step_ms)).await?;
            Ok(Buckets::new(q.service_id, step_ms, source, stats))
        })
    }

    fn summary(&self, q: RangeQuery) -> BoxFuture<'_, Result<Summary>> {
        Box::pin(async move {
            let source = Source::for_range(q.from_ms, q.to_ms);
            let now = lightbulb_common::time::now_ms();
            let from = source.read_from(q.from_ms, &self.retention, now);
            let stats = stats::stats(&self.ch, &q, source, from, None)
                .await?
                .pop()
                .map(|(_, s)| s)
                .unwrap_or_default();
            Ok(Summary::new(q, source, stats))
        })
    }

    fn expire(&self, now_ms: i64) -> BoxFuture<'_, Result<()>> {
        Box::pin(retention::expire(&self.ch, self.retention, now_ms))
    }

    fn watch(&self) -> Option<mpsc::Receiver<Inserted>> {
        self.watch.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl ClickHouseStore {
    fn audit_id(&self) -> i64 {
        let now = lightbulb_common::time::now_ms();
        self.audit_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next(now)
    }
}
