//! Applications in SLA reports: their status is stored only when it
//! changes, so each status holds until the next change.

use std::collections::BTreeMap;

use lightbulb_common::Status;

use super::{Counts, Method, count, step_for};
use crate::Result;
use crate::stats::Stats;
use crate::store::rollup::Bucket;
use crate::store::{HistoryQuery, Store};

/// An application's status changes read for a period, at most.
const CHANGES: u32 = 10_000;

/// An application's counts: its stored changes, held until the next.
pub async fn application_counts(
    store: &dyn Store,
    service_id: &str,
    from_ms: i64,
    to_ms: i64,
    windows: &[(i64, i64)],
    method: &Method,
) -> Result<Counts> {
    let query = |from_ms, to_ms, limit| HistoryQuery {
        service_id: service_id.to_string(),
        from_ms,
        to_ms,
        limit,
    };
    let before = store.history(query(0, from_ms - 1, 1)).await?;
    let during = store.history(query(from_ms, to_ms, CHANGES)).await?;
    // Oldest first: the status the period starts in, then its changes.
    let changes: Vec<(i64, Status)> = before
        .points
        .iter()
        .chain(during.points.iter().rev())
        .map(|p| (p.timestamp_ms, p.status))
        .collect();
    let step = step_for(from_ms, to_ms);
    Ok(count(
        &held(&changes, from_ms, to_ms, step),
        step,
        windows,
        method,
    ))
}

/// Buckets of an application, whose status is stored only when it
/// changes: each status holds until the next change, and a bucket counts
/// as one result of the status held longest in it (the worse on a tie).
/// `changes` are (ms, status), oldest first, the first at or before `from_ms`.
pub fn held(changes: &[(i64, Status)], from_ms: i64, to_ms: i64, step_ms: i64) -> Vec<Bucket> {
    let mut out = Vec::new();
    let Some(first) = changes.first() else {
        return out;
    };
    let mut start = from_ms.max(first.0).div_euclid(step_ms) * step_ms;
    let mut i = 0;
    while start <= to_ms {
        let end = start + step_ms;
        let mut time: BTreeMap<u8, i64> = BTreeMap::new();
        while i + 1 < changes.len() && changes[i + 1].0 <= start {
            i += 1;
        }
        let mut j = i;
        while j < changes.len() && changes[j].0 < end {
            let from = changes[j].0.max(start);
            let until = changes.get(j + 1).map_or(end, |c| c.0.min(end));
            if until > from {
                *time.entry(rank(changes[j].1)).or_default() += until - from;
            }
            j += 1;
        }
        // The last of equal times is the worst: ranks ascend.
        if let Some((&worst_rank, _)) = time.iter().max_by_key(|(_, t)| **t) {
            let mut stats = Stats {
                count: 1,
                ..Default::default()
            };
            match worst_rank {
                3 => stats.failed = 1,
                2 => stats.degraded = 1,
                1 => stats.ok = 1,
                _ => stats.other = 1,
            }
            out.push(Bucket {
                start_ms: start,
                stats,
            });
        }
        start = end;
    }
    out
}

/// Worse statuses rank higher (a tie in time goes to the worse).
fn rank(s: Status) -> u8 {
    match s {
        Status::Failed => 3,
        Status::Degraded => 2,
        Status::Ok => 1,
        _ => 0,
    }
}
