//! Per-pod storage: every `persistentVolumeClaim` volume of the pods, with
//! its claim's phase and capacity (from the check's watch of the
//! namespace's claims) and, where the kubelet's stats summary is
//! reachable through the API server's node proxy, how much of it is used.
//! A claim that is missing or not bound, or a volume fuller than
//! `max_volume_percent`, is DEGRADED.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::Client;
use lightbulb_common::Status;
use serde_json::{Value, json};

use super::KubernetesSpec;
use crate::checks::Finding;

/// One claim volume of one pod.
struct Mount {
    pod: String,
    volume: String,
    claim: String,
    node: Option<String>,
}

/// `details.storage`: one entry per claim volume (empty without any).
pub async fn check(
    client: &Client,
    spec: &KubernetesSpec,
    pods: &[Pod],
    // `None` while the watch has not listed them (or may not).
    claims: Option<&[Arc<PersistentVolumeClaim>]>,
    findings: &mut Vec<Finding>,
) -> Value {
    let mounts: Vec<Mount> = pods
        .iter()
        .flat_map(|p| {
            let pod = p.metadata.name.clone().unwrap_or_default();
            let node = p.spec.as_ref().and_then(|s| s.node_name.clone());
            p.spec
                .iter()
                .flat_map(|s| s.volumes.iter().flatten())
                .filter_map(move |v| {
                    let claim = v.persistent_volume_claim.as_ref()?.claim_name.clone();
                    Some(Mount {
                        pod: pod.clone(),
                        volume: v.name.clone(),
                        claim,
                        node: node.clone(),
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if mounts.is_empty() {
        return json!([]);
    }
    let mut usage: HashMap<String, Result<Value, String>> = HashMap::new();
    let mut shown = Vec::new();
    for m in mounts {
        let at = format!("volume {} (claim {}) of pod {}", m.volume, m.claim, m.pod);
        let mut entry = json!({"pod": m.pod, "volume": m.volume, "claim": m.claim});
        let claim = claims.map(|all| {
            all.iter()
                .find(|c| c.metadata.name.as_deref() == Some(m.claim.as_str()))
        });
        match claim {
            None => {
                entry["phase"] = json!(format!(
                    "not known: the claims of namespace {} are not listed (yet); the agent needs list and watch on persistentvolumeclaims",
                    spec.namespace
                ));
            }
            Some(Some(pvc)) => {
                let status = pvc.status.clone().unwrap_or_default();
                let phase = status.phase.unwrap_or_else(|| "Unknown".into());
                if phase != "Bound" {
                    findings.push(Finding::new(
                        Status::Degraded,
                        format!("{at}: the claim is {phase}"),
                    ));
                }
                entry["phase"] = json!(phase);
                let capacity = status
                    .capacity
                    .unwrap_or_default()
                    .get("storage")
                    .and_then(|q| super::usage::quantity(&q.0))
                    .map(|bytes| bytes.round() as u64);
                entry["capacity_bytes"] = json!(capacity);
            }
            Some(None) => {
                findings.push(Finding::new(
                    Status::Degraded,
                    format!("{at}: the claim does not exist"),
                ));
                entry["phase"] = json!("Missing");
            }
        }
        let Some(node) = m.node.as_deref() else {
            entry["usage"] = json!("the pod is not on a node yet");
            shown.push(entry);
            continue;
        };
        if !usage.contains_key(node) {
            usage.insert(node.to_string(), stats_summary(client, node).await);
        }
        match &usage[node] {
            Err(why) => entry["usage"] = json!(why),
            Ok(summary) => match used(summary, &spec.namespace, &m.pod, &m.volume) {
                None => entry["usage"] = json!("the kubelet does not report this volume"),
                Some((used, capacity)) => {
                    let percent = used as f64 * 100.0 / capacity.max(1) as f64;
                    entry["used_bytes"] = json!(used);
                    entry["used_percent"] = json!((percent * 10.0).round() / 10.0);
                    if percent > spec.max_volume_percent {
                        findings.push(Finding::new(
                            Status::Degraded,
                            format!(
                                "{at} is {percent:.0}% full (max {}%)",
                                spec.max_volume_percent
                            ),
                        ));
                    }
                }
            },
        }
        shown.push(entry);
    }
    Value::Array(shown)
}

/// The kubelet's `/stats/summary` of `node`, through the API server.
async fn stats_summary(client: &Client, node: &str) -> Result<Value, String> {
    let request = http::Request::get(format!("/api/v1/nodes/{node}/proxy/stats/summary"))
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    client.request::<Value>(request).await.map_err(|e| {
        format!(
            "the kubelet stats summary of node {node} is not reachable through the API server: {e}"
        )
    })
}

/// (usedBytes, capacityBytes) of a pod's volume in a stats summary.
fn used(summary: &Value, namespace: &str, pod: &str, volume: &str) -> Option<(u64, u64)> {
    let p = summary["pods"]
        .as_array()?
        .iter()
        .find(|p| p["podRef"]["name"] == pod && p["podRef"]["namespace"] == namespace)?;
    let v = p["volume"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == volume)?;
    Some((v["usedBytes"].as_u64()?, v["capacityBytes"].as_u64()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_found_by_pod_and_volume() {
        let summary = json!({"pods": [{"podRef": {"name": "db-0", "namespace": "shop"},
            "volume": [{"name": "data", "usedBytes": 900, "capacityBytes": 1000}]}]});
        assert_eq!(used(&summary, "shop", "db-0", "data"), Some((900, 1000)));
        assert_eq!(used(&summary, "other", "db-0", "data"), None);
    }
}
