//! Probe failures from the kubelet's `Unhealthy` events: which probe
//! (liveness, readiness, startup) of which container failed, how often and
//! why. A failing liveness or startup probe gets the container restarted:
//! DEGRADED; a failing readiness probe shows as the pod not being ready.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Event, Pod};
use lightbulb_common::Status;
use lightbulb_common::time::format_iso;
use serde_json::{Value, json};

use super::pods::event_ms;
use crate::checks::Finding;

const PROBES: [&str; 3] = ["Liveness", "Readiness", "Startup"];

/// `details.probes`, newest first; findings for liveness and startup.
pub fn failures(
    events: &[Arc<Event>],
    pods: &[Pod],
    since_ms: i64,
    findings: &mut Vec<Finding>,
) -> Value {
    let names: HashSet<&str> = pods
        .iter()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    let mut shown: Vec<(i64, Value)> = Vec::new();
    for e in events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("Unhealthy"))
    {
        let Some(pod) = e
            .involved_object
            .name
            .as_deref()
            .filter(|n| names.contains(n))
        else {
            continue;
        };
        let Some(at) = event_ms(e).filter(|at| *at >= since_ms) else {
            continue;
        };
        let message = e.message.as_deref().unwrap_or_default();
        let Some((probe, why)) = PROBES.iter().find_map(|p| {
            ["failed:", "errored:"]
                .iter()
                .find_map(|verb| message.strip_prefix(&format!("{p} probe {verb}")))
                .map(|why| (p.to_ascii_lowercase(), why.trim()))
        }) else {
            continue;
        };
        // `spec.containers{app}` names the container.
        let container = e
            .involved_object
            .field_path
            .as_deref()
            .and_then(|f| f.split_once('{'))
            .map(|(_, rest)| rest.trim_end_matches('}').to_string());
        let count = e.count.unwrap_or(1);
        if probe != "readiness" {
            let whose = container.as_deref().map_or(format!("pod {pod}"), |c| {
                format!("container {c} of pod {pod}")
            });
            findings.push(Finding::new(
                Status::Degraded,
                format!("{probe} probe of {whose} failed {count} time(s): {why}"),
            ));
        }
        shown.push((
            at,
            json!({"pod": pod, "container": container, "probe": probe, "message": why,
                   "count": count, "last_seen": format_iso(at)}),
        ));
    }
    shown.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    Value::Array(shown.into_iter().map(|(_, v)| v).collect())
}
