//! Failure patterns (the spec's "identify common failure patterns"): the
//! messages of a range's failing results (DEGRADED, FAILED, UNKNOWN), the
//! newest up to a cap, mined into templates (`drain`), each with how often,
//! when and in which services it occurred: "the same `connection refused to
//! db:5432` in 7 services". A message's first line is what is mined.

use std::collections::HashMap;

use lightbulb_common::Status;
use lightbulb_common::time::format_iso;
use serde::Serialize;

use super::drain::{Drain, Settings};
use crate::{BoxFuture, Result};

/// The status codes of failing results.
pub const FAILING: [u8; 3] = [
    Status::Degraded as u8,
    Status::Failed as u8,
    Status::Unknown as u8,
];

/// Failing results in a range, newest first.
#[derive(Debug, Clone)]
pub struct FailureQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    pub service_id: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FailureLine {
    pub service_id: String,
    pub ts_ms: i64,
    pub status: Status,
    pub message: String,
}

/// Where failing results are read from.
pub trait FailureStore: Send + Sync + 'static {
    fn failures(&self, query: FailureQuery) -> BoxFuture<'_, Result<Vec<FailureLine>>>;
}

/// A service a pattern occurred in, and how often.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PatternService {
    pub service_id: String,
    pub count: u64,
}

/// One template of failure messages.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Pattern {
    /// The message with its varying words as `<*>`.
    pub template: String,
    /// Failing results whose message it is.
    pub count: u64,
    /// The services, most first.
    pub services: Vec<PatternService>,
    pub first_seen: String,
    pub last_seen: String,
    /// The newest message it took, as written.
    pub example: String,
    /// The worst status among them.
    pub status: &'static str,
}

struct Tally {
    count: u64,
    services: HashMap<String, u64>,
    first_ms: i64,
    last_ms: i64,
    example: String,
    worst: Status,
}

/// The patterns of `lines` (any order), most frequent first, at most `limit`.
pub fn mine(lines: &[FailureLine], limit: usize) -> Vec<Pattern> {
    let mut drain = Drain::new(Settings::default());
    let mut tallies: Vec<Tally> = Vec::new();
    let mut order: Vec<&FailureLine> = lines.iter().collect();
    order.sort_by_key(|l| l.ts_ms);
    for line in order {
        let first = line.message.lines().next().unwrap_or_default();
        let Some(id) = drain.add(first) else { continue };
        if id == tallies.len() {
            tallies.push(Tally {
                count: 0,
                services: HashMap::new(),
                first_ms: line.ts_ms,
                last_ms: line.ts_ms,
                example: String::new(),
                worst: line.status,
            });
        }
        let t = &mut tallies[id];
        t.count += 1;
        *t.services.entry(line.service_id.clone()).or_default() += 1;
        t.last_ms = line.ts_ms;
        t.example = first.to_string();
        t.worst = t.worst.worst(line.status);
    }
    let mut patterns: Vec<Pattern> = tallies
        .into_iter()
        .zip(drain.templates())
        .map(|(t, template)| {
            let mut services: Vec<PatternService> = t
                .services
                .into_iter()
                .map(|(service_id, count)| PatternService { service_id, count })
                .collect();
            services.sort_by(|a, b| b.count.cmp(&a.count).then(a.service_id.cmp(&b.service_id)));
            Pattern {
                template: template.text(),
                count: t.count,
                services,
                first_seen: format_iso(t.first_ms),
                last_seen: format_iso(t.last_ms),
                example: t.example,
                status: t.worst.name(),
            }
        })
        .collect();
    patterns.sort_by(|a, b| b.count.cmp(&a.count).then(b.last_seen.cmp(&a.last_seen)));
    patterns.truncate(limit);
    patterns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(service: &str, ts_ms: i64, status: Status, message: &str) -> FailureLine {
        FailureLine {
            service_id: service.into(),
            ts_ms,
            status,
            message: message.into(),
        }
    }

    #[test]
    fn one_error_across_services_is_one_pattern_counted_per_service() {
        let lines = vec![
            line(
                "orders",
                3_000,
                Status::Failed,
                "connection refused to db:5432 after 3 attempts",
            ),
            line(
                "billing",
                1_000,
                Status::Degraded,
                "connection refused to db:5432 after 1 attempts",
            ),
            line(
                "orders",
                2_000,
                Status::Failed,
                "connection refused to db:5432 after 2 attempts\nretrying",
            ),
            line(
                "web",
                4_000,
                Status::Failed,
                "HTTP 503 from https://web.internal/healthz in 12ms",
            ),
        ];
        let found = mine(&lines, 10);
        assert_eq!(found.len(), 2);
        let db = &found[0];
        assert_eq!(
            db.template,
            "connection refused to db:5432 after <*> attempts"
        );
        assert_eq!(db.count, 3);
        assert_eq!(
            db.services,
            [
                PatternService {
                    service_id: "orders".into(),
                    count: 2
                },
                PatternService {
                    service_id: "billing".into(),
                    count: 1
                },
            ]
        );
        assert_eq!(db.first_seen, format_iso(1_000));
        assert_eq!(db.last_seen, format_iso(3_000));
        assert_eq!(db.example, "connection refused to db:5432 after 3 attempts");
        assert_eq!(db.status, "FAILED");
        assert_eq!(mine(&lines, 1).len(), 1, "limit holds");
    }
}
