//! Embedded SQLite store: WAL mode, one writer thread that group-commits
//! every queued insert in one transaction, a small pool of reader connections.
//!
//! Schema (versioned with `PRAGMA user_version`; migrations only append):
//! - `results`: one row per result, primary key `(agent_id, seq)` so a resent
//!   result is ignored (`INSERT OR IGNORE`), indexed by `(service_id, ts)`.
//! - `latest`: the newest result per service (rebuilds the snapshot at start).
//! - `status_events`: one row per status change; its `id` is the SSE event id.
//! - `agents`: registered agents.
//! - `rollup_minute`, `rollup_hour`: one mergeable cell per service and bucket.
//! - `services`, `relations`: the catalog administrators define.
//! - `removed_services`: when each deleted service left the live statuses
//!   (its `latest` row goes then; its results stay for history).
//! - `spool_gaps`: results agents' full spools dropped, per service and
//!   spool segment (`ts` is the newest dropped result's check time).
//!
//! `schema.rs` the migrations, `writer.rs` the writer, `rollup.rs` rollups.
//!
//! Durability: `synchronous = FULL`, so a committed insert survives a crash of
//! the collector and of the machine; the insert future resolves only after
//! the commit. If a transaction fails, every insert in it fails (the agents
//! resend) and the writer reloads its view of the latest statuses.

mod alerting;
mod analyses;
mod anomalies;
mod audit;
mod catalog;
mod failures;
mod latest;
mod push;
mod records;
mod rollup;
mod schema;
mod search;
mod tokens;
mod views;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};
use tracing::info;

use self::writer::WriteOp;
use super::rollup::{Buckets, RangeQuery, Summary};
use super::{
    AgentRecord, BoxFuture, DroppedResults, History, HistoryPoint, HistoryQuery, Inserted,
    LatestStatus, Retention, Sequenced, StatusEvent, Store, gap_runs, status_of,
};
use crate::audit::AuditEntry;
use crate::catalog::model::{Catalog, CatalogChange, CatalogStore};
use crate::{Error, Result};

pub struct SqliteStore {
    path: PathBuf,
    retention: Retention,
    writes: mpsc::Sender<WriteOp>,
    readers: Arc<Mutex<Vec<Connection>>>,
}

impl SqliteStore {
    /// Opens (creating and migrating as needed) the database at `path`.
    pub fn open(path: &Path, retention: Retention) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::internal(format!("cannot create `{}`: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path)
            .map_err(|e| Error::internal(format!("cannot open `{}`: {e}", path.display())))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // 64 MiB of page cache (default 2 MiB): the writer touches the index
        // pages of every service, and re-reading them from the OS dominated.
        conn.pragma_update(None, "cache_size", -65536)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        let latest = writer::load_latest(&conn)?;
        info!(path = %path.display(), services = latest.len(), "sqlite store open");
        let (writes, rx) = mpsc::channel(1024);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let w = writer::Writer {
                    latest,
                    rollups: Default::default(),
                    retention,
                };
                writer::writer(conn, w, rx)
            })
            .map_err(|e| Error::internal(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            retention,
            writes,
            readers: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Runs `f` on a pooled read connection in a blocking thread.
    fn read<T, F>(&self, f: F) -> BoxFuture<'_, Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let pool = self.readers.clone();
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let conn = pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
                let conn = match conn {
                    Some(c) => c,
                    None => {
                        let c = Connection::open_with_flags(
                            &path,
                            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                        )?;
                        c.busy_timeout(std::time::Duration::from_secs(5))?;
                        c
                    }
                };
                let out = f(&conn);
                let mut pool = pool.lock().unwrap_or_else(|e| e.into_inner());
                if pool.len() < 8 {
                    pool.push(conn);
                }
                out
            })
            .await
            .map_err(|e| Error::internal(format!("reader task failed: {e}")))?
        })
    }

    fn submit<T: Send + 'static>(
        &self,
        op: impl FnOnce(oneshot::Sender<Result<T>>) -> WriteOp,
    ) -> BoxFuture<'static, Result<T>> {
        let (tx, rx) = oneshot::channel();
        // try_send keeps call order without awaiting; a full queue is back-pressure.
        let queued = self.writes.try_send(op(tx));
        Box::pin(async move {
            match queued {
                Ok(()) => rx
                    .await
                    .unwrap_or_else(|_| Err(Error::unavailable("store writer stopped"))),
                Err(mpsc::error::TrySendError::Full(_)) => {
                    Err(Error::unavailable("store write queue is full"))
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    Err(Error::unavailable("store writer stopped"))
                }
            }
        })
    }
}

impl Store for SqliteStore {
    fn insert(
        &self,
        agent_id: &str,
        results: Vec<Sequenced>,
    ) -> BoxFuture<'static, Result<Inserted>> {
        let agent_id = agent_id.to_string();
        self.submit(move |reply| WriteOp::Insert {
            agent_id,
            results,
            reply,
        })
    }

    fn latest(&self) -> BoxFuture<'_, Result<Vec<LatestStatus>>> {
        self.read(latest::read_latest)
    }

    fn history(&self, mut q: HistoryQuery) -> BoxFuture<'_, Result<History>> {
        let cutoff = self.retention.raw_cutoff(lightbulb_common::time::now_ms());
        q.from_ms = q.from_ms.max(cutoff);
        self.read(move |c| {
            let total: i64 = c.query_row(
                "SELECT COUNT(*) FROM results WHERE service_id = ?1 AND ts BETWEEN ?2 AND ?3",
                params![q.service_id, q.from_ms, q.to_ms],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare_cached(
                "SELECT ts, status, message, response_time_ms, cpu_usage, memory_usage, metrics, details, agent_id, seq
                 FROM results WHERE service_id = ?1 AND ts BETWEEN ?2 AND ?3
                 ORDER BY ts DESC, agent_id, seq DESC LIMIT ?4",
            )?;
            let points = stmt
                .query_map(params![q.service_id, q.from_ms, q.to_ms, q.limit], |r| {
                    let status = status_of(r.get(1)?);
                    let metrics: Option<String> = r.get(6)?;
                    let details: Option<String> = r.get(7)?;
                    Ok(HistoryPoint {
                        timestamp_ms: r.get(0)?,
                        status,
                        message: r.get(2)?,
                        response_time_ms: r.get(3)?,
                        cpu_usage: r.get(4)?,
                        memory_usage: r.get(5)?,
                        metrics: metrics.and_then(|m| serde_json::from_str(&m).ok()).unwrap_or_default(),
                        details: details.and_then(|d| serde_json::from_str(&d).ok()).unwrap_or_default(),
                        agent_id: r.get(8)?,
                        seq: r.get::<_, i64>(9)? as u64,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT agent_id, first_seq, last_seq, dropped, from_ts, ts FROM spool_gaps
                 WHERE service_id = ?1 AND ts >= ?2 AND from_ts <= ?3",
            )?;
            let gaps = stmt
                .query_map(params![q.service_id, q.from_ms, q.to_ms], |r| {
                    Ok(DroppedResults {
                        agent_id: r.get(0)?,
                        service_id: q.service_id.clone(),
                        first_seq: r.get::<_, i64>(1)? as u64,
                        last_seq: r.get::<_, i64>(2)? as u64,
                        dropped: r.get::<_, i64>(3)? as u64,
                        from_ms: r.get(4)?,
                        to_ms: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(History {
                service_id: q.service_id,
                total: total as u64,
                points,
                gaps: gap_runs(gaps),
            })
        })
    }

    fn events_after(&self, after: i64, limit: u32) -> BoxFuture<'_, Result<Vec<StatusEvent>>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, service_id, ts, status, previous_status, message, response_time_ms, agent_id
                 FROM status_events WHERE id > ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after, limit], |r| {
                let status = status_of(r.get(3)?);
                let previous: Option<i64> = r.get(4)?;
                Ok(StatusEvent {
                    id: r.get(0)?,
                    service_id: r.get(1)?,
                    status_code: status.code(),
                    previous_status_code: previous.map(|p| status_of(p).code()),
                    message: r.get(5)?,
                    last_check_ms: r.get(2)?,
                    response_time_ms: r.get(6)?,
                    agent_id: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn last_event_id(&self) -> BoxFuture<'_, Result<i64>> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT COALESCE(MAX(id), 0) FROM status_events", [], |r| {
                    r.get(0)
                })?,
            )
        })
    }

    fn upsert_agent(&self, agent: AgentRecord) -> BoxFuture<'static, Result<()>> {
        self.submit(move |reply| WriteOp::Agent { agent, reply })
    }

    fn remove_service(&self, service_id: &str, at_ms: i64) -> BoxFuture<'static, Result<()>> {
        let service_id = service_id.to_string();
        self.submit(move |reply| WriteOp::Remove {
            service_id,
            at_ms,
            reply,
        })
    }

    fn record_gaps(&self, gaps: Vec<DroppedResults>) -> BoxFuture<'static, Result<()>> {
        self.submit(move |reply| WriteOp::Gaps { gaps, reply })
    }

    fn agents(&self) -> BoxFuture<'_, Result<Vec<AgentRecord>>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT agent_id, hostname, version, labels, local_checks, last_seen FROM agents ORDER BY agent_id",
            )?;
            let rows = stmt.query_map([], |r| {
                let labels: String = r.get(3)?;
                let checks: String = r.get(4)?;
                Ok(AgentRecord {
                    agent_id: r.get(0)?,
                    hostname: r.get(1)?,
                    version: r.get(2)?,
                    labels: serde_json::from_str(&labels).unwrap_or_default(),
                    local_checks: serde_json::from_str(&checks).unwrap_or_default(),
                    last_seen_ms: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn ready(&self) -> BoxFuture<'_, Result<()>> {
        let closed = self.writes.is_closed();
        Box::pin(async move {
            if closed {
                return Err(Error::unavailable("store writer stopped"));
            }
            self.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
                .await?;
            Ok(())
        })
    }

    fn buckets(&self, q: RangeQuery, step_ms: i64) -> BoxFuture<'_, Result<Buckets>> {
        let retention = self.retention;
        let now = lightbulb_common::time::now_ms();
        self.read(move |c| rollup::buckets(c, q, step_ms, &retention, now))
    }

    fn summary(&self, q: RangeQuery) -> BoxFuture<'_, Result<Summary>> {
        let retention = self.retention;
        let now = lightbulb_common::time::now_ms();
        self.read(move |c| rollup::summary(c, q, &retention, now))
    }

    fn expire(&self, now_ms: i64) -> BoxFuture<'_, Result<()>> {
        self.submit(move |reply| WriteOp::Expire { now_ms, reply })
    }
}

impl CatalogStore for SqliteStore {
    fn catalog(&self) -> BoxFuture<'_, Result<Catalog>> {
        self.read(catalog::read)
    }

    fn change_catalog(
        &self,
        changes: Vec<CatalogChange>,
        entry: AuditEntry,
    ) -> BoxFuture<'static, Result<i64>> {
        self.submit(move |reply| WriteOp::Audited {
            changes,
            entry,
            reply,
        })
    }
}

/// A stored type name; one this version does not know fails the read.
pub(super) fn kind<T>(
    r: &rusqlite::Row<'_>,
    i: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown type `{text}`").into(),
        )
    })
}

/// Reads a single value; used by tests to inspect the database directly.
#[doc(hidden)]
pub fn query_i64(path: &Path, sql: &str) -> Result<Option<i64>> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(c.query_row(sql, [], |r| r.get(0)).optional()?)
}

#[cfg(test)]
mod tests;
