//! Kubernetes objects annotated for lightbulb, turned into services.
//!
//! | annotation | meaning |
//! |---|---|
//! | `lightbulb.io/monitor: "true"` | monitor this pod or service |
//! | `lightbulb.io/check` | `pod` (pods' default: the `kubernetes_pod` check), `http` (services' default), `tcp` or `grpc` |
//! | `lightbulb.io/port` | port for http/tcp/grpc (default: the first declared port) |
//! | `lightbulb.io/path` | HTTP path (default `/`) |
//! | `lightbulb.io/scheme` | `http` (default) or `https` |
//! | `lightbulb.io/service-id` | service id (default `k8s-<namespace>-<name>`, services `k8s-<namespace>-svc-<name>`) |
//! | `lightbulb.io/interval` | time between runs (default: the discovery's `interval`) |

use std::collections::BTreeMap;

use lightbulb_common::validate_service_id;
use lightbulb_proto::v1;
use serde_json::json;

use super::KubernetesDiscovery;
use crate::plan::{CheckConfig, plan};

pub const MONITOR: &str = "lightbulb.io/monitor";

/// What the discovery needs to know of one pod or service.
#[derive(Debug, Clone, Default)]
pub struct Object {
    /// `pod` or `service`.
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub annotations: BTreeMap<String, String>,
    /// Pod IP or cluster IP, once assigned.
    pub ip: Option<String>,
    /// The first declared port.
    pub port: Option<u16>,
}

/// The default service id: `k8s-<namespace>-<name>`, made valid and kept
/// unique when shortened to 63 characters.
pub fn default_id(o: &Object) -> String {
    let infix = if o.kind == "service" { "svc-" } else { "" };
    let raw = format!("k8s-{}-{infix}{}", o.namespace, o.name).to_ascii_lowercase();
    let clean: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if clean.len() <= 63 {
        return clean;
    }
    let hash = crc32fast::hash(raw.as_bytes());
    format!("{}-{hash:08x}", clean[..54].trim_end_matches('-'))
}

/// `Ok(None)` when the object is not annotated for monitoring (or not
/// ready to be: no IP yet); `Err` names the annotation at fault.
pub fn service(
    o: &Object,
    config: &KubernetesDiscovery,
) -> Result<Option<v1::DiscoveredService>, String> {
    if o.annotations.get(MONITOR).map(String::as_str) != Some("true") {
        return Ok(None);
    }
    let get = |k: &str| o.annotations.get(&format!("lightbulb.io/{k}")).cloned();
    let what = format!("{} {}/{}", o.kind, o.namespace, o.name);
    let default_check = if o.kind == "pod" { "pod" } else { "http" };
    let check = get("check").unwrap_or_else(|| default_check.into());
    let service_id = get("service-id").unwrap_or_else(|| default_id(o));
    validate_service_id(&service_id)
        .map_err(|e| format!("{what}: lightbulb.io/service-id: {e}"))?;
    let interval = match get("interval") {
        Some(text) => lightbulb_common::time::parse_duration(&text)
            .map_err(|e| format!("{what}: lightbulb.io/interval: {e}"))?,
        None => config.interval,
    };
    let (service_type, status_config) = if check == "pod" {
        if o.kind != "pod" {
            return Err(format!(
                "{what}: lightbulb.io/check: `pod` is for pods; use http, tcp or grpc"
            ));
        }
        let mut c = json!({"namespace": o.namespace, "pod": o.name});
        if let Some(k) = &config.kubeconfig {
            c["kubeconfig"] = json!(k);
        }
        if let Some(ctx) = &config.context {
            c["context"] = json!(ctx);
        }
        ("kubernetes_pod", c)
    } else {
        let port = match get("port") {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("{what}: lightbulb.io/port: `{p}` is not a port number"))?,
            None => o.port.ok_or_else(|| {
                format!("{what}: lightbulb.io/port: required (no port is declared)")
            })?,
        };
        let Some(ip) = o.ip.as_deref().filter(|ip| !ip.is_empty() && *ip != "None") else {
            return Ok(None);
        };
        let url = match check.as_str() {
            "http" => {
                let scheme = get("scheme").unwrap_or_else(|| "http".into());
                if scheme != "http" && scheme != "https" {
                    return Err(format!(
                        "{what}: lightbulb.io/scheme: `{scheme}` must be http or https"
                    ));
                }
                let path = get("path").unwrap_or_else(|| "/".into());
                let path = if path.starts_with('/') {
                    path
                } else {
                    format!("/{path}")
                };
                format!("{scheme}://{ip}:{port}{path}")
            }
            "tcp" | "grpc" => format!("{check}://{ip}:{port}"),
            other => {
                return Err(format!(
                    "{what}: lightbulb.io/check: `{other}` is not one of pod, http, tcp, grpc"
                ));
            }
        };
        ("api_endpoint", json!({"url": url}))
    };
    // The same rules as agent.toml's checks, so the collector gets valid ones.
    plan(&CheckConfig {
        label: None,
        service_id: service_id.clone(),
        service_type: service_type.into(),
        interval,
        timeout: None,
        grace: None,
        status_config: status_config.clone(),
    })
    .map_err(|problems| {
        let text: Vec<String> = problems.iter().map(|(k, r)| format!("{k}: {r}")).collect();
        format!("{what}: {}", text.join("; "))
    })?;
    let mut status_config = status_config;
    status_config["interval"] = json!(humantime::format_duration(interval).to_string());
    Ok(Some(v1::DiscoveredService {
        service_id,
        service_type: service_type.into(),
        label: what,
        status_config_json: status_config.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(annotations: &[(&str, &str)]) -> Object {
        Object {
            kind: "pod",
            namespace: "shop".into(),
            name: "web-7d9f".into(),
            annotations: annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ip: Some("10.1.2.3".into()),
            port: Some(8080),
        }
    }

    #[test]
    fn annotations_become_checks() {
        let config = KubernetesDiscovery::default();
        assert_eq!(service(&pod(&[]), &config).unwrap(), None);
        let s = service(&pod(&[(MONITOR, "true")]), &config)
            .unwrap()
            .unwrap();
        assert_eq!(
            (s.service_id.as_str(), s.service_type.as_str()),
            ("k8s-shop-web-7d9f", "kubernetes_pod")
        );
        let http = service(
            &pod(&[
                (MONITOR, "true"),
                ("lightbulb.io/check", "http"),
                ("lightbulb.io/path", "healthz"),
                ("lightbulb.io/interval", "5s"),
            ]),
            &config,
        )
        .unwrap()
        .unwrap();
        let c: serde_json::Value = serde_json::from_str(&http.status_config_json).unwrap();
        assert_eq!(
            c,
            json!({"url": "http://10.1.2.3:8080/healthz", "interval": "5s"})
        );
        let err = service(
            &pod(&[(MONITOR, "true"), ("lightbulb.io/check", "smtp")]),
            &config,
        )
        .unwrap_err();
        assert!(err.contains("lightbulb.io/check"), "{err}");
        let err = service(
            &pod(&[(MONITOR, "true"), ("lightbulb.io/service-id", "Web!")]),
            &config,
        )
        .unwrap_err();
        assert!(err.contains("lightbulb.io/service-id"), "{err}");
    }

    #[test]
    fn long_names_stay_valid_and_distinct() {
        let mut a = pod(&[]);
        a.name = "a".repeat(80);
        let mut b = a.clone();
        b.name.push('b');
        let (ia, ib) = (default_id(&a), default_id(&b));
        assert!(
            validate_service_id(&ia).is_ok() && validate_service_id(&ib).is_ok(),
            "{ia}"
        );
        assert_ne!(ia, ib);
    }
}
