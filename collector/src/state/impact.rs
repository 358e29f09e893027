//! What a failure reaches: the failing dependencies a service's own
//! trouble is likely caused by, and the root cause at the end of that
//! chain. Shown on statuses (`caused_by`) and used by alerting to send one
//! notification per root cause.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::store::LatestStatus;
use lightbulb_common::Status;

/// Dependencies of `service_id` that are DEGRADED, FAILED or silent (no
/// result within their grace), when the service itself is not OK: the
/// likely cause, and the alerts to hold back.
pub fn caused_by(
    edges: &HashMap<&str, Vec<&str>>,
    statuses: &BTreeMap<String, LatestStatus>,
    service: &LatestStatus,
) -> Vec<String> {
    let bad = |s: Status| matches!(s, Status::Degraded | Status::Failed);
    let judged = bad(service.status) || service.status == Status::Unknown;
    if !judged {
        return Vec::new();
    }
    edges
        .get(service.service_id.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|t| {
            statuses
                .get(**t)
                .is_some_and(|l| bad(l.status) || l.is_silence())
        })
        .map(|t| t.to_string())
        .collect()
}

/// The service at the end of `service_id`'s `caused_by` chain (the first
/// cause at each step; a cycle ends at the service it comes back to);
/// `None` when the service has no failing dependency.
pub fn root_cause(
    edges: &HashMap<&str, Vec<&str>>,
    statuses: &BTreeMap<String, LatestStatus>,
    service_id: &str,
) -> Option<String> {
    let mut seen = HashSet::from([service_id.to_string()]);
    let mut at = service_id.to_string();
    loop {
        let Some(next) = statuses
            .get(&at)
            .and_then(|s| caused_by(edges, statuses, s).into_iter().next())
        else {
            return (at != service_id).then_some(at);
        };
        if !seen.insert(next.clone()) {
            return (at != service_id).then_some(at);
        }
        at = next;
    }
}
