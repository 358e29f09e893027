//! The single writer thread: drains queued writes, applies them in one
//! transaction, commits, then answers each caller.

use std::collections::BTreeMap;

use rusqlite::{Connection, Transaction, params};
use tokio::sync::{mpsc, oneshot};
use tracing::error;

use super::rollup::{self, Rollups};
use crate::audit::AuditEntry;
use crate::catalog::model::CatalogChange;
use crate::store::{
    Advance, AgentRecord, DroppedResults, Heads, Inserted, LatestStatus, Retention, Sequenced,
    StatusEvent,
};
use crate::{Error, Result};

/// Inserts committed together at most.
const GROUP: usize = 64;

/// A write to run in the writer's transaction.
pub(super) type Apply = Box<dyn Fn(&Transaction<'_>) -> Result<()> + Send>;

pub(super) enum WriteOp {
    Insert {
        agent_id: String,
        results: Vec<Sequenced>,
        reply: oneshot::Sender<Result<Inserted>>,
    },
    Agent {
        agent: AgentRecord,
        reply: oneshot::Sender<Result<()>>,
    },
    Expire {
        now_ms: i64,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Catalog changes (maybe none) and the audit entry saying who made
    /// them, together; answers the entry's id.
    Audited {
        changes: Vec<CatalogChange>,
        entry: AuditEntry,
        reply: oneshot::Sender<Result<i64>>,
    },
    Remove {
        service_id: String,
        at_ms: i64,
        reply: oneshot::Sender<Result<()>>,
    },
    Gaps {
        gaps: Vec<DroppedResults>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Any other write, in the writer's transaction.
    Apply {
        apply: Apply,
        reply: oneshot::Sender<Result<()>>,
    },
}

impl WriteOp {
    fn fail(self, e: Error) {
        match self {
            WriteOp::Insert { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            WriteOp::Audited { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            WriteOp::Agent { reply, .. }
            | WriteOp::Expire { reply, .. }
            | WriteOp::Remove { reply, .. }
            | WriteOp::Gaps { reply, .. }
            | WriteOp::Apply { reply, .. } => {
                let _ = reply.send(Err(e));
            }
        }
    }
}

/// What the writer keeps between transactions.
pub(super) struct Writer {
    pub latest: Heads,
    pub rollups: Rollups,
    pub retention: Retention,
}

pub(super) fn load_latest(conn: &Connection) -> Result<Heads> {
    Ok(Heads::from_latest(&super::latest::read_latest(conn)?))
}

pub(super) fn writer(mut conn: Connection, mut w: Writer, mut rx: mpsc::Receiver<WriteOp>) {
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
                done.push(apply(&tx, &mut w, op)?);
            }
            w.rollups.write(&tx)?;
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
                        (WriteOp::Audited { reply, .. }, Applied::Id(id)) => {
                            let _ = reply.send(Ok(id));
                        }
                        (
                            WriteOp::Agent { reply, .. }
                            | WriteOp::Expire { reply, .. }
                            | WriteOp::Remove { reply, .. }
                            | WriteOp::Gaps { reply, .. }
                            | WriteOp::Apply { reply, .. },
                            _,
                        ) => {
                            let _ = reply.send(Ok(()));
                        }
                        (op @ (WriteOp::Insert { .. } | WriteOp::Audited { .. }), _) => {
                            op.fail(Error::internal("write mismatch"));
                        }
                    }
                }
            }
            Err(e) => {
                error!(error = %e, "sqlite transaction failed; its inserts are not acknowledged");
                for op in ops {
                    op.fail(e.clone());
                }
                w.rollups.clear();
                match load_latest(&conn) {
                    Ok(map) => w.latest = map,
                    Err(e) => error!(error = %e, "cannot reload latest statuses"),
                }
            }
        }
    }
}

enum Applied {
    Insert(Inserted),
    Id(i64),
    Other,
}

fn apply(tx: &Transaction<'_>, w: &mut Writer, op: &WriteOp) -> Result<Applied> {
    match op {
        WriteOp::Insert {
            agent_id, results, ..
        } => insert(tx, w, agent_id, results).map(Applied::Insert),
        WriteOp::Audited { changes, entry, .. } => {
            super::catalog::apply(tx, changes)?;
            super::audit::insert(tx, entry).map(Applied::Id)
        }
        WriteOp::Apply { apply, .. } => {
            apply(tx)?;
            Ok(Applied::Other)
        }
        WriteOp::Remove {
            service_id, at_ms, ..
        } => {
            tx.execute(
                "INSERT INTO removed_services (service_id, ts) VALUES (?1, ?2)
                 ON CONFLICT (service_id) DO UPDATE SET ts = max(ts, excluded.ts)",
                params![service_id, at_ms],
            )?;
            tx.execute(
                "DELETE FROM latest WHERE service_id = ?1 AND ts <= ?2",
                params![service_id, at_ms],
            )?;
            w.latest.forget(service_id, *at_ms);
            Ok(Applied::Other)
        }
        WriteOp::Gaps { gaps, .. } => {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO spool_gaps (service_id, agent_id, first_seq, last_seq, dropped, from_ts, ts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for g in gaps {
                stmt.execute(params![
                    g.service_id,
                    g.agent_id,
                    g.first_seq as i64,
                    g.last_seq as i64,
                    g.dropped as i64,
                    g.from_ms,
                    g.to_ms
                ])?;
            }
            Ok(Applied::Other)
        }
        WriteOp::Expire { now_ms, .. } => {
            w.rollups.write(tx)?;
            let removed = rollup::expire(tx, &w.retention, *now_ms)?;
            tracing::info!(removed, "sqlite retention applied");
            // Cached cells may be gone now.
            w.rollups.clear();
            Ok(Applied::Other)
        }
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
            Ok(Applied::Other)
        }
    }
}

fn insert(
    tx: &Transaction<'_>,
    w: &mut Writer,
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
    // A plain single-row insert: FTS5 keeps it in memory until the commit.
    let mut search = tx.prepare_cached(
        "INSERT INTO results_fts (message, details, service_id, agent_id, seq, ts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
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
        search.execute(params![
            r.message,
            details.as_deref().unwrap_or(""),
            r.service_id,
            agent_id,
            s.seq as i64,
            r.timestamp_ms
        ])?;
        w.rollups.add(tx, r)?;
        let Advance::Moved { previous, changed } = w.latest.advance(s.seq, r) else {
            continue; // an older result arriving late does not change the current status
        };
        let code = r.status.code();
        if changed {
            event.execute(params![
                r.service_id,
                r.timestamp_ms,
                code,
                previous,
                r.message,
                r.metrics.response_time_ms,
                agent_id
            ])?;
            out.events.push(StatusEvent {
                id: tx.last_insert_rowid(),
                service_id: r.service_id.clone(),
                status_code: code,
                previous_status_code: previous,
                message: r.message.clone(),
                last_check_ms: r.timestamp_ms,
                response_time_ms: r.metrics.response_time_ms,
                agent_id: agent_id.to_string(),
            });
        }
        moved.insert(&r.service_id, s);
    }
    let mut upsert = tx.prepare_cached(
        "INSERT INTO latest (service_id, service_type, status, message, ts, response_time_ms, cpu_usage, memory_usage, agent_id, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (service_id) DO UPDATE SET service_type = excluded.service_type, status = excluded.status,
           message = excluded.message, ts = excluded.ts, response_time_ms = excluded.response_time_ms,
           cpu_usage = excluded.cpu_usage, memory_usage = excluded.memory_usage, agent_id = excluded.agent_id,
           seq = excluded.seq",
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
            agent_id,
            s.seq as i64
        ])?;
        out.latest
            .push(LatestStatus::from_result(agent_id, s.seq, r));
    }
    Ok(out)
}
