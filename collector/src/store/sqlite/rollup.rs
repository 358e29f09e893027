//! SQLite's per-minute and per-hour rollups: the writer folds every new
//! result into its cells (kept in memory for the current bucket of each
//! service) and writes the touched cells in the same transaction; queries
//! merge cells, or raw rows, into the requested buckets.

use std::collections::{BTreeMap, HashMap, HashSet};

use lightbulb_common::{CheckResult, Status};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::Result;
use crate::store::Retention;
use crate::store::rollup::{Buckets, Cell, RangeQuery, RawAgg, Source, Stats, Summary};
use crate::store::status_of;

const TABLES: [(Source, &str); 2] = [
    (Source::Minute, "rollup_minute"),
    (Source::Hour, "rollup_hour"),
];

fn table(source: Source) -> &'static str {
    match source {
        Source::Hour => "rollup_hour",
        _ => "rollup_minute",
    }
}

/// The writer's rollup cells: the latest bucket of each (service, table).
#[derive(Default)]
pub(super) struct Rollups {
    cells: HashMap<(String, usize), (i64, Cell)>,
    touched: HashSet<(String, usize)>,
}

impl Rollups {
    pub(super) fn add(&mut self, tx: &Transaction<'_>, r: &CheckResult) -> Result<()> {
        for (i, (source, name)) in TABLES.iter().enumerate() {
            let bucket = source.first_granule(r.timestamp_ms);
            let key = (r.service_id.clone(), i);
            let fresh = self.cells.get(&key).is_none_or(|(b, _)| *b != bucket);
            if fresh {
                // Write out the cell being replaced before forgetting it.
                if self.touched.remove(&key) {
                    write_cell(tx, name, &key.0, &self.cells[&key])?;
                }
                let stored: Option<String> = tx
                    .prepare_cached(&format!(
                        "SELECT cell FROM {name} WHERE service_id = ?1 AND bucket = ?2"
                    ))?
                    .query_row(params![r.service_id, bucket], |row| row.get(0))
                    .optional()?;
                let cell = stored
                    .and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or_default();
                self.cells.insert(key.clone(), (bucket, cell));
            }
            let (_, cell) = self.cells.get_mut(&key).expect("cell just ensured");
            cell.add(
                r.status,
                r.metrics.response_time_ms,
                r.metrics.cpu_usage,
                r.metrics.memory_usage,
            );
            self.touched.insert(key);
        }
        Ok(())
    }

    /// Writes every touched cell; call before committing.
    pub(super) fn write(&mut self, tx: &Transaction<'_>) -> Result<()> {
        for key in self.touched.drain() {
            write_cell(tx, TABLES[key.1].1, &key.0, &self.cells[&key])?;
        }
        Ok(())
    }

    /// Forgets cached cells (after a failed transaction).
    pub(super) fn clear(&mut self) {
        self.cells.clear();
        self.touched.clear();
    }
}

fn write_cell(
    tx: &Transaction<'_>,
    name: &str,
    service: &str,
    (bucket, cell): &(i64, Cell),
) -> Result<()> {
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {name} (service_id, bucket, cell) VALUES (?1, ?2, ?3)"
    ))?
    .execute(params![
        service,
        bucket,
        serde_json::to_string(cell).unwrap_or_default()
    ])?;
    Ok(())
}

/// Raw rows of a range, folded per bucket start by `key`.
fn fold_raw(
    c: &Connection,
    q: &RangeQuery,
    from_ms: i64,
    key: impl Fn(i64) -> i64,
) -> Result<BTreeMap<i64, RawAgg>> {
    let mut stmt = c.prepare_cached(
        "SELECT ts, status, response_time_ms, cpu_usage, memory_usage FROM results
         WHERE service_id = ?1 AND ts BETWEEN ?2 AND ?3",
    )?;
    let mut rows = stmt.query(params![q.service_id, from_ms, q.to_ms])?;
    let mut out: BTreeMap<i64, RawAgg> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let status: Status = status_of(r.get(1)?);
        out.entry(key(r.get(0)?))
            .or_default()
            .add(status, r.get(2)?, r.get(3)?, r.get(4)?);
    }
    Ok(out)
}

/// Rollup cells of a range, merged per bucket start by `key`.
fn fold_cells(
    c: &Connection,
    q: &RangeQuery,
    source: Source,
    from_ms: i64,
    key: impl Fn(i64) -> i64,
) -> Result<BTreeMap<i64, Cell>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT bucket, cell FROM {} WHERE service_id = ?1 AND bucket BETWEEN ?2 AND ?3",
        table(source)
    ))?;
    let mut rows = stmt.query(params![q.service_id, from_ms, q.to_ms])?;
    let mut out: BTreeMap<i64, Cell> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let text: String = r.get(1)?;
        if let Ok(cell) = serde_json::from_str::<Cell>(&text) {
            out.entry(key(r.get(0)?)).or_default().merge(&cell);
        }
    }
    Ok(out)
}

pub(super) fn buckets(
    c: &Connection,
    q: RangeQuery,
    step_ms: i64,
    retention: &Retention,
    now_ms: i64,
) -> Result<Buckets> {
    let source = Source::for_step(step_ms);
    let from = source.read_from(q.from_ms, retention, now_ms);
    let key = |ts: i64| ts.div_euclid(step_ms) * step_ms;
    let stats: Vec<(i64, Stats)> = match source {
        Source::Raw => fold_raw(c, &q, from, key)?
            .into_iter()
            .map(|(b, agg)| (b, agg.finish()))
            .collect(),
        _ => fold_cells(c, &q, source, from, key)?
            .into_iter()
            .map(|(b, cell)| (b, cell.stats()))
            .collect(),
    };
    Ok(Buckets::new(q.service_id, step_ms, source, stats))
}

pub(super) fn summary(
    c: &Connection,
    q: RangeQuery,
    retention: &Retention,
    now_ms: i64,
) -> Result<Summary> {
    let source = Source::for_range(q.from_ms, q.to_ms);
    let from = source.read_from(q.from_ms, retention, now_ms);
    let stats = match source {
        Source::Raw => fold_raw(c, &q, from, |_| 0)?
            .remove(&0)
            .unwrap_or_default()
            .finish(),
        _ => fold_cells(c, &q, source, from, |_| 0)?
            .remove(&0)
            .unwrap_or_default()
            .stats(),
    };
    Ok(Summary::new(q, source, stats))
}

/// Deletes raw results and events older than the raw cutoff, and rollup
/// cells and anomalies older than the rollup cutoff.
pub(super) fn expire(tx: &Transaction<'_>, retention: &Retention, now_ms: i64) -> Result<u64> {
    let raw = retention.raw_cutoff(now_ms);
    let mut n = tx.execute("DELETE FROM results WHERE ts < ?1", params![raw])?;
    tx.execute("DELETE FROM results_fts WHERE ts < ?1", params![raw])?;
    n += tx.execute("DELETE FROM status_events WHERE ts < ?1", params![raw])?;
    n += tx.execute("DELETE FROM spool_gaps WHERE ts < ?1", params![raw])?;
    n += tx.execute("DELETE FROM spool_samples WHERE ts < ?1", params![raw])?;
    for (_, name) in TABLES {
        n += tx.execute(
            &format!("DELETE FROM {name} WHERE bucket < ?1"),
            params![retention.rollup_cutoff(now_ms)],
        )?;
    }
    n += tx.execute(
        "DELETE FROM anomalies WHERE start_ms < ?1",
        params![retention.rollup_cutoff(now_ms)],
    )?;
    Ok(n as u64)
}
