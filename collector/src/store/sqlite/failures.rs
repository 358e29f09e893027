//! Failing results of a range on SQLite, newest first, through the partial
//! index of failing results by time (`results_failing_ts`).

use rusqlite::params;

use super::SqliteStore;
use crate::insights::patterns::{FailureLine, FailureQuery, FailureStore};
use crate::store::status_of;
use crate::{BoxFuture, Result};

impl FailureStore for SqliteStore {
    fn failures(&self, q: FailureQuery) -> BoxFuture<'_, Result<Vec<FailureLine>>> {
        self.read(move |c| {
            // The status list is the index's own, so the index is used.
            let rows = c
                .prepare_cached(
                    "SELECT service_id, ts, status, message FROM results
                     WHERE status IN (1, 2, 5) AND ts >= ?1 AND ts <= ?2
                       AND (?3 IS NULL OR service_id = ?3)
                     ORDER BY ts DESC LIMIT ?4",
                )?
                .query_map(params![q.from_ms, q.to_ms, q.service_id, q.limit], |r| {
                    Ok(FailureLine {
                        service_id: r.get(0)?,
                        ts_ms: r.get(1)?,
                        status: status_of(r.get(2)?),
                        message: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}
