//! Which rows of a flush ClickHouse already holds, asked so that none is
//! stored twice. Three cases:
//!
//! - Usually `result_keys` (filled by a materialized view) is enough: this
//!   writer's own inserts have ended before its next lookup.
//! - An agent's first batch here (or one that skips seqs) may repeat rows a
//!   collector that died, or another one, is still inserting: the lookup
//!   first waits for the inserts of results running on the server to end.
//! - After an insert of ours failed, that insert may still be running (a
//!   timeout) or have stored its rows but not their keys (the server died
//!   between the table and its views): it is killed, and the rows are looked
//!   up in `results` itself.
//!
//! Every insert of results and events carries a query id naming the table,
//! so `system.processes` tells which are running.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;
use tracing::warn;

use super::query::{Ch, EventRow, ResultRow};
use crate::Result;

/// How long a lookup waits for other inserts to end before going ahead.
const SETTLE: Duration = Duration::from_secs(30);
/// Services named in a lookup in `results`, so its primary key is used;
/// beyond this the day partitions are scanned.
const NAMED_SERVICES: usize = 500;

/// The query id prefix of every insert into `table` (of this database).
pub fn prefix(ch: &Ch, table: &str) -> String {
    format!("lightbulb-insert-{}.{table}-", ch.layout.db)
}

/// A new query id for one insert into `table`.
pub fn query_id(ch: &Ch, table: &str) -> String {
    format!("{}{:016x}", prefix(ch, table), fastrand::u64(..))
}

/// Seqs ClickHouse already holds, per agent.
#[derive(Default)]
pub struct Stored(HashMap<String, HashSet<u64>>);

impl Stored {
    pub fn has(&self, agent: &str, seq: u64) -> bool {
        self.0.get(agent).is_some_and(|s| s.contains(&seq))
    }

    fn from_rows(rows: Vec<(String, u64)>) -> Stored {
        let mut stored = Stored::default();
        for (agent, seq) in rows {
            stored.0.entry(agent).or_default().insert(seq);
        }
        stored
    }
}

/// (agent_id, seq) in `keys`' seq ranges that `result_keys` holds.
pub async fn keys(ch: &Ch, keys: &BTreeMap<&str, (u64, u64)>) -> Result<Stored> {
    if keys.is_empty() {
        return Ok(Stored::default());
    }
    let cond = vec!["(agent_id = ? AND seq BETWEEN ? AND ?)"; keys.len()].join(" OR ");
    let sql = format!(
        "SELECT agent_id, seq FROM {} WHERE {cond}",
        ch.t("result_keys")
    );
    let mut q = ch.client.query(&sql);
    for (agent, (lo, hi)) in keys {
        q = q.bind(*agent).bind(*lo).bind(*hi);
    }
    Ok(Stored::from_rows(
        ch.call("dedup lookup", q.fetch_all()).await?,
    ))
}

/// Waits until the inserts into `results` running now have ended (those
/// started later are not waited for), at most `SETTLE`.
pub async fn settle(ch: &Ch) -> Result<()> {
    let sql = "SELECT query_id FROM system.processes WHERE startsWith(initial_query_id, ?)";
    let prefix = prefix(ch, "results");
    let running = || async {
        let ids: Vec<String> = ch
            .call(
                "running inserts",
                ch.client.query(sql).bind(&prefix).fetch_all(),
            )
            .await?;
        Ok::<_, crate::Error>(ids.into_iter().collect::<BTreeSet<String>>())
    };
    let mut waiting = running().await?;
    let deadline = Instant::now() + SETTLE;
    while !waiting.is_empty() {
        if Instant::now() >= deadline {
            warn!(
                inserts = waiting.len(),
                "inserts of results still running after {}s; looking up without them",
                SETTLE.as_secs()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = running().await?;
        waiting.retain(|id| now.contains(id));
    }
    Ok(())
}

/// Ends the insert `query_id` if the server still runs it, and waits until
/// it has.
pub async fn end(ch: &Ch, query_id: &str) -> Result<()> {
    let q = ch
        .client
        .query("KILL QUERY WHERE query_id = ? SYNC")
        .bind(query_id);
    ch.call("end the failed insert", q.execute()).await
}

/// (agent_id, seq) of `rows` that `results` itself holds.
async fn in_results(ch: &Ch, rows: &[ResultRow]) -> Result<Stored> {
    // Per agent: seq range and time range.
    let mut spans: BTreeMap<&str, (u64, u64, i64, i64)> = BTreeMap::new();
    let mut services: BTreeSet<&str> = BTreeSet::new();
    for r in rows {
        let s = spans
            .entry(&r.agent_id)
            .or_insert((r.seq, r.seq, r.ts, r.ts));
        *s = (s.0.min(r.seq), s.1.max(r.seq), s.2.min(r.ts), s.3.max(r.ts));
        services.insert(&r.service_id);
    }
    if spans.is_empty() {
        return Ok(Stored::default());
    }
    let cond = vec!["(agent_id = ? AND seq BETWEEN ? AND ? AND ts BETWEEN ? AND ?)"; spans.len()]
        .join(" OR ");
    let named = services.len() <= NAMED_SERVICES;
    let within = if named {
        format!(
            "service_id IN ({}) AND ",
            vec!["?"; services.len()].join(", ")
        )
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT agent_id, seq FROM {} WHERE {within}({cond})",
        ch.t("results")
    );
    let mut q = ch.client.query(&sql);
    if named {
        for s in &services {
            q = q.bind(*s);
        }
    }
    for (agent, (lo, hi, from, to)) in &spans {
        q = q.bind(*agent).bind(*lo).bind(*hi).bind(*from).bind(*to);
    }
    Ok(Stored::from_rows(
        ch.call("dedup lookup in results", q.fetch_all()).await?,
    ))
}

/// Rows sent again after a failed insert: the table they go to, and how to
/// drop those it holds.
pub trait Resend: clickhouse::RowOwned + clickhouse::RowWrite + Send + Sync + Sized {
    const TABLE: &'static str;
    async fn drop_stored(ch: &Ch, rows: &mut Vec<Self>) -> Result<()>;
}

impl Resend for ResultRow {
    const TABLE: &'static str = "results";
    async fn drop_stored(ch: &Ch, rows: &mut Vec<Self>) -> Result<()> {
        let stored = in_results(ch, rows).await?;
        rows.retain(|r| !stored.has(&r.agent_id, r.seq));
        Ok(())
    }
}

impl Resend for EventRow {
    const TABLE: &'static str = "status_events";
    async fn drop_stored(ch: &Ch, rows: &mut Vec<Self>) -> Result<()> {
        let stored = events(ch, rows).await?;
        rows.retain(|e| !stored.contains(&e.id));
        Ok(())
    }
}

/// Ids of `events` that `status_events` holds.
async fn events(ch: &Ch, events: &[EventRow]) -> Result<HashSet<i64>> {
    let (Some(lo), Some(hi)) = (
        events.iter().map(|e| e.id).min(),
        events.iter().map(|e| e.id).max(),
    ) else {
        return Ok(HashSet::new());
    };
    let sql = format!(
        "SELECT id FROM {} WHERE replica = ? AND id BETWEEN ? AND ?",
        ch.t("status_events")
    );
    let q = ch
        .client
        .query(&sql)
        .bind(events[0].replica)
        .bind(lo)
        .bind(hi);
    let ids: Vec<i64> = ch.call("event lookup", q.fetch_all()).await?;
    Ok(ids.into_iter().collect())
}
