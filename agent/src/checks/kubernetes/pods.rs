//! Pod state to findings: phase, readiness, container states, restarts and
//! last terminations, ready/desired; Warning events; a failing container's
//! log tail.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{ContainerState, Event, Pod};
use kube::Api;
use kube::api::LogParams;
use lightbulb_common::Status;
use lightbulb_common::time::{format_iso, now_ms};
use serde_json::{Value, json};

use super::KubernetesSpec;
use crate::checks::Finding;

/// Waiting reasons that mean the container cannot run.
const BROKEN: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "RunContainerError",
];

#[derive(Debug, Default)]
pub struct Seen {
    pub pods: u32,
    pub ready: u32,
    pub desired: u32,
    pub restarts: u32,
    /// Pods not ready yet but within their start: scheduled and being
    /// created, or before their probes' initial delay.
    pub starting: u32,
    /// The first failing (pod, container), for its log tail.
    pub failing: Option<(String, String)>,
}

fn state_json(s: Option<&ContainerState>) -> Value {
    let Some(s) = s else { return Value::Null };
    if let Some(w) = &s.waiting {
        return json!({"state": "waiting", "reason": w.reason, "message": w.message});
    }
    if let Some(t) = &s.terminated {
        return json!({
            "state": "terminated",
            "reason": t.reason,
            "exit_code": t.exit_code,
            "message": t.message,
            "finished_at": t.finished_at.as_ref().map(|f| format_iso(f.0.as_millisecond())),
        });
    }
    if let Some(r) = &s.running {
        return json!({"state": "running", "started_at": r.started_at.as_ref().map(|f| format_iso(f.0.as_millisecond()))});
    }
    Value::Null
}

fn termination(s: Option<&ContainerState>) -> Option<String> {
    let t = s?.terminated.as_ref()?;
    Some(format!(
        "{}, exit {}",
        t.reason.as_deref().unwrap_or("terminated"),
        t.exit_code
    ))
}

/// A broken replica is DEGRADED; the ready/desired ratio decides FAILED.
pub fn evaluate(
    spec: &KubernetesSpec,
    pods: &[Pod],
    desired: Option<u32>,
    last_restarts: &mut HashMap<String, i32>,
    findings: &mut Vec<Finding>,
    details: &mut serde_json::Map<String, Value>,
) -> Seen {
    let mut seen = Seen {
        pods: pods.len() as u32,
        desired: desired.unwrap_or(pods.len() as u32),
        ..Seen::default()
    };
    let mut shown = Vec::new();
    let mut restarts_now = HashMap::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let status = pod.status.clone().unwrap_or_default();
        let phase = status.phase.clone().unwrap_or_else(|| "Unknown".into());
        let ready = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        if ready {
            seen.ready += 1;
        }
        match phase.as_str() {
            "Failed" => {
                let why = status
                    .reason
                    .clone()
                    .or(status.message.clone())
                    .unwrap_or_default();
                findings.push(Finding::new(
                    Status::Degraded,
                    format!("pod {name} failed {why}").trim_end().to_string(),
                ));
            }
            "Unknown" => findings.push(Finding::new(
                Status::Degraded,
                format!("pod {name} is {phase}"),
            )),
            "Pending" => {
                if let Some(why) = unschedulable(&status) {
                    findings.push(Finding::new(
                        Status::Degraded,
                        format!("pod {name} is Pending: {why}"),
                    ));
                }
            }
            _ => {}
        }
        if !ready && let Some(why) = starting(pod, &phase) {
            seen.starting += 1;
            findings.push(Finding::new(
                Status::Starting,
                format!("pod {name} is starting: {why}"),
            ));
        }
        let mut containers = Vec::new();
        for c in status.container_statuses.iter().flatten() {
            let key = format!("{name}/{}", c.name);
            seen.restarts += c.restart_count.max(0) as u32;
            restarts_now.insert(key.clone(), c.restart_count);
            let last = termination(c.last_state.as_ref());
            let waiting = c
                .state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone());
            if let Some(reason) = waiting.as_deref().filter(|r| BROKEN.contains(r)) {
                let after = last
                    .as_ref()
                    .map(|l| format!(" (last exit: {l})"))
                    .unwrap_or_default();
                findings.push(Finding::new(
                    Status::Degraded,
                    format!("container {} of pod {name}: {reason}{after}", c.name),
                ));
                seen.failing.get_or_insert((name.clone(), c.name.clone()));
            }
            if let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref())
                && t.exit_code != 0
            {
                findings.push(Finding::new(
                    Status::Degraded,
                    format!(
                        "container {} of pod {name} terminated: {}",
                        c.name,
                        termination(c.state.as_ref()).unwrap_or_default()
                    ),
                ));
                seen.failing.get_or_insert((name.clone(), c.name.clone()));
            }
            let before = last_restarts.get(&key).copied();
            if let Some(before) = before
                && c.restart_count > before
            {
                findings.push(Finding::new(
                    Status::Degraded,
                    format!(
                        "container {} of pod {name} restarted {} time(s) since the last check (last termination: {})",
                        c.name,
                        c.restart_count - before,
                        last.clone().unwrap_or_else(|| "unknown".into())
                    ),
                ));
            } else if c.restart_count > spec.max_restarts as i32 {
                findings.push(Finding::new(
                    Status::Degraded,
                    format!(
                        "container {} of pod {name} restarted {} times (max {}; last termination: {})",
                        c.name,
                        c.restart_count,
                        spec.max_restarts,
                        last.clone().unwrap_or_else(|| "unknown".into())
                    ),
                ));
            }
            containers.push(json!({
                "name": c.name,
                "ready": c.ready,
                "restarts": c.restart_count,
                "state": state_json(c.state.as_ref()),
                "last_state": state_json(c.last_state.as_ref()),
            }));
        }
        shown.push(json!({
            "name": name,
            "phase": phase,
            "ready": ready,
            "node": pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            "reason": status.reason,
            "message": status.message,
            "containers": containers,
        }));
    }
    *last_restarts = restarts_now;
    if seen.desired > 0 {
        // A starting replica is not held against the ratio.
        let ratio = f64::from(seen.ready + seen.starting) / f64::from(seen.desired);
        let what = if pods.is_empty() {
            format!("no pod matches in namespace {}", spec.namespace)
        } else {
            format!("{} of {} pods ready", seen.ready, seen.desired)
        };
        if seen.ready + seen.starting == 0 || ratio < spec.failed_ready_ratio {
            findings.push(Finding::new(Status::Failed, what));
        } else if ratio < spec.degraded_ready_ratio {
            findings.push(Finding::new(Status::Degraded, what));
        }
    }
    details.insert("namespace".into(), json!(spec.namespace));
    details.insert("desired".into(), json!(seen.desired));
    details.insert("ready".into(), json!(seen.ready));
    details.insert("pods".into(), Value::Array(shown));
    seen
}

/// Why a Pending pod cannot be scheduled, if the scheduler said so.
fn unschedulable(status: &k8s_openapi::api::core::v1::PodStatus) -> Option<String> {
    let c = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")?;
    Some(
        [c.reason.as_deref(), c.message.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": "),
    )
}

/// Waiting reasons of a container that is being set up.
const CREATING: &[&str] = &["ContainerCreating", "PodInitializing"];

/// Why an unready pod counts as starting: Pending (and schedulable),
/// a container being created, or a running container younger than its
/// probes allow for its start (`initialDelaySeconds`, and a startup
/// probe's `failureThreshold` × `periodSeconds`).
fn starting(pod: &Pod, phase: &str) -> Option<String> {
    let status = pod.status.as_ref()?;
    if phase == "Pending" {
        return unschedulable(status)
            .is_none()
            .then(|| "Pending (scheduled, not yet running)".to_string());
    }
    if phase != "Running" {
        return None;
    }
    let now = now_ms();
    let specs = pod.spec.as_ref().map(|s| &s.containers[..]).unwrap_or(&[]);
    for c in status
        .container_statuses
        .iter()
        .flatten()
        .filter(|c| !c.ready)
    {
        let state = c.state.as_ref();
        if let Some(reason) = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
            .filter(|r| CREATING.contains(r))
        {
            return Some(format!("container {} is {reason}", c.name));
        }
        let Some(started) = state
            .and_then(|s| s.running.as_ref())
            .and_then(|r| r.started_at.as_ref())
        else {
            continue;
        };
        let allowed = specs
            .iter()
            .find(|s| s.name == c.name)
            .map_or(0, startup_allowance);
        let age_s = (now - started.0.as_millisecond()) / 1000;
        if age_s < allowed {
            return Some(format!(
                "container {} started {age_s} s ago, within its probes' {allowed} s",
                c.name
            ));
        }
    }
    None
}

/// Seconds a container's probes give it to become ready.
fn startup_allowance(c: &k8s_openapi::api::core::v1::Container) -> i64 {
    let delay = |p: Option<&k8s_openapi::api::core::v1::Probe>| {
        p.map_or(0, |p| i64::from(p.initial_delay_seconds.unwrap_or(0)))
    };
    let startup = c.startup_probe.as_ref().map_or(0, |p| {
        i64::from(p.initial_delay_seconds.unwrap_or(0))
            + i64::from(p.failure_threshold.unwrap_or(3))
                * i64::from(p.period_seconds.unwrap_or(10))
    });
    delay(c.readiness_probe.as_ref()).max(startup)
}

/// When an event last happened (ms), by the best time it carries.
pub(super) fn event_ms(e: &Event) -> Option<i64> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0.as_millisecond())
        .or(e.event_time.as_ref().map(|t| t.0.as_millisecond()))
        .or(e
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.as_millisecond()))
}

/// Warning events about these pods within the window, newest first.
pub fn warning_events(
    spec: &KubernetesSpec,
    events: &[std::sync::Arc<Event>],
    pods: &[Pod],
) -> Value {
    let since = now_ms() - spec.events_window.as_millis() as i64;
    let names: std::collections::HashSet<&str> = pods
        .iter()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    let mut shown: Vec<(i64, Value)> = events
        .iter()
        .filter(|e| {
            e.involved_object
                .name
                .as_deref()
                .is_some_and(|n| names.contains(n))
        })
        .filter_map(|e| {
            let at = event_ms(e)?;
            (at >= since).then(|| {
                (
                    at,
                    json!({
                        "pod": e.involved_object.name,
                        "reason": e.reason,
                        "message": e.message,
                        "count": e.count,
                        "last_seen": format_iso(at),
                    }),
                )
            })
        })
        .collect();
    shown.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    Value::Array(shown.into_iter().take(20).map(|(_, v)| v).collect())
}

/// The last lines of a container's log (its previous run first, if any).
pub async fn log_tail(
    client: &kube::Client,
    spec: &KubernetesSpec,
    pod: &str,
    container: &str,
) -> Value {
    let api: Api<Pod> = Api::namespaced(client.clone(), &spec.namespace);
    let mut params = LogParams {
        container: Some(container.to_string()),
        tail_lines: Some(i64::from(spec.log_lines)),
        previous: true,
        ..Default::default()
    };
    let mut result = api.logs(pod, &params).await;
    if result.is_err() {
        params.previous = false;
        result = api.logs(pod, &params).await;
    }
    match result {
        Ok(text) => {
            json!({"pod": pod, "container": container, "lines": text.lines().collect::<Vec<_>>()})
        }
        Err(e) => {
            json!({"pod": pod, "container": container, "error": format!("logs unavailable: {e}")})
        }
    }
}
