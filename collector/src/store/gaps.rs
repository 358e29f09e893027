//! Gaps in a service's history: results agents' full spools dropped, as
//! stored (`DroppedResults`) and as runs over time (`GapRun`).

/// Results an agent's full spool dropped: one service's share of one spool
/// segment. `(agent_id, service_id, first_seq)` identifies it; storing it
/// again changes nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct DroppedResults {
    pub agent_id: String,
    pub service_id: String,
    /// First and last seq of the dropped spool segment.
    pub first_seq: u64,
    pub last_seq: u64,
    pub dropped: u64,
    /// Check times of the oldest and newest dropped result.
    pub from_ms: i64,
    pub to_ms: i64,
}

impl DroppedResults {
    /// The rows a gap marker describes.
    pub fn from_marker(agent_id: &str, gap: &lightbulb_proto::v1::SpoolGap) -> Vec<DroppedResults> {
        gap.segments
            .iter()
            .flat_map(|seg| {
                seg.services.iter().map(|g| DroppedResults {
                    agent_id: agent_id.to_string(),
                    service_id: g.service_id.clone(),
                    first_seq: seg.first_seq,
                    last_seq: seg.last_seq,
                    dropped: g.dropped,
                    from_ms: g.first_ms,
                    to_ms: g.last_ms,
                })
            })
            .collect()
    }
}

/// A stretch of a service's history with no data: an agent's full spool
/// dropped its results (as served: `api::history::HistoryGap`).
#[derive(Debug, Clone, PartialEq)]
pub struct GapRun {
    pub agent_id: String,
    /// Results dropped.
    pub dropped: u64,
    /// Check times of the oldest and newest dropped result.
    pub from_ms: i64,
    pub to_ms: i64,
}

/// One service's dropped results as runs: rows of one agent from adjacent
/// spool segments, or overlapping in time, are one gap.
pub fn gap_runs(mut rows: Vec<DroppedResults>) -> Vec<GapRun> {
    rows.sort_by(|a, b| (&a.agent_id, a.first_seq).cmp(&(&b.agent_id, b.first_seq)));
    let mut runs: Vec<DroppedResults> = Vec::new();
    for r in rows {
        match runs.last_mut() {
            Some(run)
                if run.agent_id == r.agent_id
                    && (r.first_seq <= run.last_seq + 1 || r.from_ms <= run.to_ms) =>
            {
                run.last_seq = run.last_seq.max(r.last_seq);
                run.dropped += r.dropped;
                run.from_ms = run.from_ms.min(r.from_ms);
                run.to_ms = run.to_ms.max(r.to_ms);
            }
            _ => runs.push(r),
        }
    }
    runs.sort_by_key(|r| r.from_ms);
    runs.into_iter()
        .map(|r| GapRun {
            agent_id: r.agent_id,
            dropped: r.dropped,
            from_ms: r.from_ms,
            to_ms: r.to_ms,
        })
        .collect()
}
