//! Container restarts counted by why each container last stopped, as metrics.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

/// Restarts counted by the reason of each container's last termination:
/// `restarts_oomkilled`, `restarts_error`, … (`restarts_unknown` without one).
pub fn restarts_by_reason(pods: &[Pod]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for c in pods
        .iter()
        .filter_map(|p| p.status.as_ref())
        .flat_map(|s| s.container_statuses.iter().flatten())
        .filter(|c| c.restart_count > 0)
    {
        let reason = c
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.reason.clone())
            .unwrap_or_else(|| "Unknown".into());
        let key: String = reason
            .chars()
            .filter(|ch| ch.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        *out.entry(format!("restarts_{key}")).or_insert(0.0) += f64::from(c.restart_count);
    }
    out
}
