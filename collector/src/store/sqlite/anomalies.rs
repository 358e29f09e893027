//! Stored anomalies on SQLite: one row per service, metric and hour;
//! a cleared one is deleted. Agents' spool samples: one row each.

use rusqlite::params;

use super::SqliteStore;
use super::writer::WriteOp;
use crate::insights::anomaly::stored::{AnomalyQuery, AnomalyStore, StoredAnomaly};
use crate::insights::anomaly::{Anomaly, Metric};
use crate::insights::capacity::spool::{SpoolSample, SpoolSampleStore};
use crate::{BoxFuture, Result};

impl AnomalyStore for SqliteStore {
    fn put_anomalies(&self, found: Vec<StoredAnomaly>) -> BoxFuture<'static, Result<()>> {
        let apply = Box::new(move |tx: &rusqlite::Transaction<'_>| {
            for f in &found {
                let a = &f.anomaly;
                if f.cleared {
                    tx.prepare_cached(
                        "DELETE FROM anomalies WHERE service_id = ?1 AND metric = ?2 AND start_ms = ?3",
                    )?
                    .execute(params![f.service_id, a.metric.name(), a.start_ms])?;
                } else {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO anomalies
                         (service_id, metric, start_ms, value, expected, score, detected_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![
                        f.service_id,
                        a.metric.name(),
                        a.start_ms,
                        a.value,
                        a.expected,
                        a.score,
                        f.detected_ms
                    ])?;
                }
            }
            Ok(())
        });
        self.submit(move |reply| WriteOp::Apply { apply, reply })
    }

    fn anomalies(&self, q: AnomalyQuery) -> BoxFuture<'_, Result<Vec<StoredAnomaly>>> {
        self.read(move |c| {
            let rows = c
                .prepare_cached(
                    "SELECT service_id, metric, start_ms, value, expected, score, detected_ms
                     FROM anomalies
                     WHERE start_ms >= ?1 AND start_ms < ?2 AND (?3 IS NULL OR service_id = ?3)
                     ORDER BY start_ms DESC, score DESC, service_id, metric LIMIT ?4",
                )?
                .query_map(params![q.from_ms, q.to_ms, q.service_id, q.limit], |r| {
                    let metric: String = r.get(1)?;
                    Ok((
                        metric,
                        r.get(0)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows
                .into_iter()
                .filter_map(
                    |(metric, service_id, start_ms, value, expected, score, detected_ms)| {
                        Some(StoredAnomaly {
                            service_id,
                            anomaly: Anomaly {
                                metric: Metric::parse(&metric)?,
                                start_ms,
                                value,
                                expected,
                                score,
                            },
                            detected_ms,
                            cleared: false,
                        })
                    },
                )
                .collect())
        })
    }
}

impl SpoolSampleStore for SqliteStore {
    fn put_spool_sample(&self, agent_id: String, x: SpoolSample) -> BoxFuture<'static, Result<()>> {
        let apply = Box::new(move |tx: &rusqlite::Transaction<'_>| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO spool_samples (agent_id, ts, bytes, max_bytes)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                agent_id,
                x.ts_ms,
                x.bytes as i64,
                x.max_bytes as i64
            ])?;
            Ok(())
        });
        self.submit(move |reply| WriteOp::Apply { apply, reply })
    }

    fn spool_samples(
        &self,
        agent_id: String,
        from_ms: i64,
        to_ms: i64,
    ) -> BoxFuture<'_, Result<Vec<SpoolSample>>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT ts, bytes, max_bytes FROM spool_samples
                 WHERE agent_id = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts",
            )?
            .query_map(params![agent_id, from_ms, to_ms], |r| {
                Ok(SpoolSample {
                    ts_ms: r.get(0)?,
                    bytes: r.get::<_, i64>(1)? as u64,
                    max_bytes: r.get::<_, i64>(2)? as u64,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
