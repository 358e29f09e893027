//! CPU and memory use against container limits, from the metrics API
//! (`metrics.k8s.io`, served by metrics-server) where a cluster has it.

use k8s_openapi::api::core::v1::Pod;
use lightbulb_common::{Metrics, Status};
use serde_json::{Value, json};

use super::KubernetesSpec;
use crate::checks::Finding;

/// A Kubernetes quantity (`250m`, `1.5`, `128Mi`, `1G`, `2e3`) as a number.
pub fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0f64.powi(4),
        _ => return None,
    };
    num.parse::<f64>().ok().map(|n| n * factor)
}

/// `None` when the metrics API is not there.
pub async fn check(
    client: &kube::Client,
    spec: &KubernetesSpec,
    pods: &[Pod],
    findings: &mut Vec<Finding>,
    metrics: &mut Metrics,
) -> Option<Value> {
    let url = format!(
        "/apis/metrics.k8s.io/v1beta1/namespaces/{}/pods",
        spec.namespace
    );
    let request = http::Request::get(url).body(Vec::new()).ok()?;
    let list: Value = client.request(request).await.ok()?;
    let mut shown = Vec::new();
    let (mut cpu_total, mut mem_total) = (0.0, 0.0);
    for pod in pods {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let Some(item) = list["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["metadata"]["name"] == name))
        else {
            continue;
        };
        for c in item["containers"].as_array().into_iter().flatten() {
            let cname = c["name"].as_str().unwrap_or_default();
            let cpu = c["usage"]["cpu"].as_str().and_then(quantity).unwrap_or(0.0);
            let mem = c["usage"]["memory"]
                .as_str()
                .and_then(quantity)
                .unwrap_or(0.0);
            cpu_total += cpu;
            mem_total += mem;
            let limits = pod
                .spec
                .as_ref()
                .and_then(|s| s.containers.iter().find(|k| k.name == cname))
                .and_then(|k| k.resources.as_ref())
                .and_then(|r| r.limits.clone())
                .unwrap_or_default();
            let limit = |k: &str| limits.get(k).and_then(|q| quantity(&q.0));
            let mut entry =
                json!({"pod": name, "container": cname, "cpu_cores": cpu, "memory_bytes": mem});
            for (what, used, limit) in
                [("cpu", cpu, limit("cpu")), ("memory", mem, limit("memory"))]
            {
                let Some(limit) = limit.filter(|l| *l > 0.0) else {
                    continue;
                };
                let percent = used / limit * 100.0;
                entry[format!("{what}_limit_percent")] = json!(percent);
                if percent > spec.max_limit_percent {
                    findings.push(Finding::new(
                        Status::Degraded,
                        format!(
                            "container {cname} of pod {name} uses {percent:.0}% of its {what} limit (max {:.0}%)",
                            spec.max_limit_percent
                        ),
                    ));
                }
            }
            shown.push(entry);
        }
    }
    // Percent of one core, as the process check reports it.
    metrics.cpu_usage = Some(cpu_total * 100.0);
    metrics.memory_usage = Some(mem_total);
    Some(Value::Array(shown))
}

#[cfg(test)]
mod tests {
    use super::quantity;

    #[test]
    fn quantities() {
        assert_eq!(quantity("250m"), Some(0.25));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("128Mi"), Some(128.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("1G"), Some(1e9));
        assert_eq!(quantity("2e3"), Some(2000.0));
        assert!((quantity("123456789n").unwrap() - 0.123456789).abs() < 1e-12);
        assert_eq!(quantity("12Qi"), None);
    }
}
