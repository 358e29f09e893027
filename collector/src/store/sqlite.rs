//! Embedded SQLite store: WAL mode, one writer thread that group-commits
//! every queued insert in one transaction, a small pool of reader connections.
//!
//! Schema (versioned with `PRAGMA user_version`; migrations only append):
//! - `results`: one row per result, primary key `(agent_id, seq)` so a resent
//!   result is ignored (`INSERT OR IGNORE`), indexed by `(service_id, ts)`.
//! - `latest`: the newest result per service (rebuilds the snapshot at start).
//! - `status_events`: one row per status change; its `id` is the SSE event id.
//! - `agents`: registered agents.
//!
//! Durability: `synchronous = FULL`, so a committed insert survives a crash of
//! the collector and of the machine; the insert future resolves only after
//! the commit. If a transaction fails, every insert in it fails (the agents
//! resend) and the writer reloads its view of the latest statuses.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info};

use super::{
    AgentRecord, BoxFuture, History, HistoryPoint, HistoryQuery, Inserted, LatestStatus, Sequenced,
    StatusEvent, Store, status_of,
};
use crate::{Error, Result};

/// Inserts committed together at most.
const GROUP: usize = 64;

const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE results (
    agent_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    service_id TEXT NOT NULL,
    service_type TEXT NOT NULL,
    ts INTEGER NOT NULL,
    status INTEGER NOT NULL,
    message TEXT NOT NULL,
    response_time_ms REAL,
    cpu_usage REAL,
    memory_usage REAL,
    metrics TEXT,
    details TEXT,
    PRIMARY KEY (agent_id, seq)
) WITHOUT ROWID;
CREATE INDEX results_service_ts ON results (service_id, ts);
CREATE TABLE latest (
    service_id TEXT PRIMARY KEY,
    service_type TEXT NOT NULL,
    status INTEGER NOT NULL,
    message TEXT NOT NULL,
    ts INTEGER NOT NULL,
    response_time_ms REAL,
    cpu_usage REAL,
    memory_usage REAL,
    agent_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE status_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    status INTEGER NOT NULL,
    previous_status INTEGER,
    message TEXT NOT NULL,
    response_time_ms REAL,
    agent_id TEXT NOT NULL
);
CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    version TEXT NOT NULL,
    labels TEXT NOT NULL,
    local_checks TEXT NOT NULL,
    last_seen INTEGER NOT NULL
) WITHOUT ROWID;
"#];

enum WriteOp {
    Insert {
        agent_id: String,
        results: Vec<Sequenced>,
        reply: oneshot::Sender<Result<Inserted>>,
    },
    Agent {
        agent: AgentRecord,
        reply: oneshot::Sender<Result<()>>,
    },
}

pub struct SqliteStore {
    path: PathBuf,
    writes: mpsc::Sender<WriteOp>,
    readers: Arc<Mutex<Vec<Connection>>>,
}

impl SqliteStore {
    /// Opens (creating and migrating as needed) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::internal(format!("cannot create `{}`: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path)
            .map_err(|e| Error::internal(format!("cannot open `{}`: {e}", path.display())))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        let latest = load_latest(&conn)?;
        info!(path = %path.display(), services = latest.len(), "sqlite store open");
        let (writes, rx) = mpsc::channel(1024);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer(conn, latest, rx))
            .map_err(|e| Error::internal(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
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
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT service_id, service_type, status, message, ts, response_time_ms, cpu_usage, memory_usage, agent_id
                 FROM latest ORDER BY service_id",
            )?;
            let rows = stmt.query_map([], |r| {
                let ts: i64 = r.get(4)?;
                let status = status_of(r.get(2)?);
                Ok(LatestStatus {
                    service_id: r.get(0)?,
                    service_type: r.get(1)?,
                    status_code: status.code(),
                    status: status.name(),
                    message: r.get(3)?,
                    last_check: lightbulb_common::time::format_iso(ts),
                    last_check_ms: ts,
                    response_time_ms: r.get(5)?,
                    cpu_usage: r.get(6)?,
                    memory_usage: r.get(7)?,
                    agent_id: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn history(&self, q: HistoryQuery) -> BoxFuture<'_, Result<History>> {
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
                        timestamp: lightbulb_common::time::format_iso(r.get(0)?),
                        status_code: status.code(),
                        status: status.name(),
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
            Ok(History {
                service_id: q.service_id,
                total: total as u64,
                points,
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
                    status: status.name(),
                    previous_status_code: previous.map(|p| status_of(p).code()),
                    message: r.get(5)?,
                    last_check: lightbulb_common::time::format_iso(r.get(2)?),
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
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        info!(version = i + 1, "sqlite schema migrated");
    }
    Ok(())
}

/// Newest timestamp and status per service, as the writer tracks them.
type LatestMap = HashMap<String, (i64, u8)>;

fn load_latest(conn: &Connection) -> Result<LatestMap> {
    let mut stmt = conn.prepare("SELECT service_id, ts, status FROM latest")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            (r.get::<_, i64>(1)?, status_of(r.get(2)?).code()),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn writer(mut conn: Connection, mut latest: LatestMap, mut rx: mpsc::Receiver<WriteOp>) {
    while let Some(first) = rx.blocking_recv() {
        let mut ops = vec![first];
        while ops.len() < GROUP {
            match rx.try_recv() {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        let outcome = conn.transaction().map_err(Error::from).and_then(|tx| {
            let mut done = Vec::with_capacity(ops.len());
            for op in &ops {
                done.push(apply(&tx, &mut latest, op)?);
            }
            tx.commit()?;
            Ok(done)
        });
        match outcome {
            Ok(done) => {
                for (op, result) in ops.into_iter().zip(done) {
                    match (op, result) {
                        (WriteOp::Insert { reply, .. }, Applied::Insert(i)) => {
                            let _ = reply.send(Ok(i));
                        }
                        (WriteOp::Agent { reply, .. }, _) => {
                            let _ = reply.send(Ok(()));
                        }
                        (WriteOp::Insert { reply, .. }, Applied::Agent) => {
                            let _ = reply.send(Err(Error::internal("write mismatch")));
                        }
                    }
                }
            }
            Err(e) => {
                error!(error = %e, "sqlite transaction failed; its inserts are not acknowledged");
                for op in ops {
                    match op {
                        WriteOp::Insert { reply, .. } => {
                            let _ = reply.send(Err(e.clone()));
                        }
                        WriteOp::Agent { reply, .. } => {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
                match load_latest(&conn) {
                    Ok(map) => latest = map,
                    Err(e) => error!(error = %e, "cannot reload latest statuses"),
                }
            }
        }
    }
}

enum Applied {
    Insert(Inserted),
    Agent,
}

fn apply(tx: &Transaction<'_>, latest: &mut LatestMap, op: &WriteOp) -> Result<Applied> {
    match op {
        WriteOp::Insert {
            agent_id, results, ..
        } => insert(tx, latest, agent_id, results).map(Applied::Insert),
        WriteOp::Agent { agent, .. } => {
            tx.execute(
                "INSERT INTO agents (agent_id, hostname, version, labels, local_checks, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (agent_id) DO UPDATE SET hostname = excluded.hostname, version = excluded.version,
                   labels = excluded.labels, local_checks = excluded.local_checks,
                   last_seen = max(last_seen, excluded.last_seen)",
                params![
                    agent.agent_id,
                    agent.hostname,
                    agent.version,
                    serde_json::to_string(&agent.labels).unwrap_or_default(),
                    serde_json::to_string(&agent.local_checks).unwrap_or_default(),
                    agent.last_seen_ms
                ],
            )?;
            Ok(Applied::Agent)
        }
    }
}

fn insert(
    tx: &Transaction<'_>,
    latest: &mut LatestMap,
    agent_id: &str,
    results: &[Sequenced],
) -> Result<Inserted> {
    let mut out = Inserted::default();
    let mut moved: BTreeMap<&str, &Sequenced> = BTreeMap::new();
    let mut row = tx.prepare_cached(
        "INSERT OR IGNORE INTO results (agent_id, seq, service_id, service_type, ts, status, message,
            response_time_ms, cpu_usage, memory_usage, metrics, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    let mut event = tx.prepare_cached(
        "INSERT INTO status_events (service_id, ts, status, previous_status, message, response_time_ms, agent_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for s in results {
        let r = &s.result;
        let metrics = (!r.metrics.extra.is_empty())
            .then(|| serde_json::to_string(&r.metrics.extra).unwrap_or_default());
        let details = (!r.details.is_null()).then(|| r.details.to_string());
        let changed = row.execute(params![
            agent_id,
            s.seq as i64,
            r.service_id,
            r.service_type.as_str(),
            r.timestamp_ms,
            r.status.code(),
            r.message,
            r.metrics.response_time_ms,
            r.metrics.cpu_usage,
            r.metrics.memory_usage,
            metrics,
            details
        ])?;
        if changed == 0 {
            out.duplicates += 1;
            continue;
        }
        out.inserted += 1;
        let previous = latest.get(&r.service_id).copied();
        if previous.is_some_and(|(ts, _)| r.timestamp_ms < ts) {
            continue; // an older result arriving late does not change the current status
        }
        let code = r.status.code();
        if previous.map(|(_, s)| s) != Some(code) {
            event.execute(params![
                r.service_id,
                r.timestamp_ms,
                code,
                previous.map(|(_, s)| s),
                r.message,
                r.metrics.response_time_ms,
                agent_id
            ])?;
            out.events.push(StatusEvent {
                id: tx.last_insert_rowid(),
                service_id: r.service_id.clone(),
                status_code: code,
                status: r.status.name(),
                previous_status_code: previous.map(|(_, s)| s),
                message: r.message.clone(),
                last_check: lightbulb_common::time::format_iso(r.timestamp_ms),
                response_time_ms: r.metrics.response_time_ms,
                agent_id: agent_id.to_string(),
            });
        }
        latest.insert(r.service_id.clone(), (r.timestamp_ms, code));
        moved.insert(&r.service_id, s);
    }
    let mut upsert = tx.prepare_cached(
        "INSERT INTO latest (service_id, service_type, status, message, ts, response_time_ms, cpu_usage, memory_usage, agent_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (service_id) DO UPDATE SET service_type = excluded.service_type, status = excluded.status,
           message = excluded.message, ts = excluded.ts, response_time_ms = excluded.response_time_ms,
           cpu_usage = excluded.cpu_usage, memory_usage = excluded.memory_usage, agent_id = excluded.agent_id",
    )?;
    for s in moved.values() {
        let r = &s.result;
        upsert.execute(params![
            r.service_id,
            r.service_type.as_str(),
            r.status.code(),
            r.message,
            r.timestamp_ms,
            r.metrics.response_time_ms,
            r.metrics.cpu_usage,
            r.metrics.memory_usage,
            agent_id
        ])?;
        out.latest.push(LatestStatus::from_result(agent_id, r));
    }
    Ok(out)
}

/// Reads a single value; used by tests to inspect the database directly.
#[doc(hidden)]
pub fn query_i64(path: &Path, sql: &str) -> Result<Option<i64>> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(c.query_row(sql, [], |r| r.get(0)).optional()?)
}

#[cfg(test)]
mod tests;
