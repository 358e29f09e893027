//! Statuses that follow from the dependency graph: an `application`
//! service's status rolled up from what it depends on.

use std::collections::{BTreeMap, HashMap};

use lightbulb_common::{ServiceType, Status};

use super::graph;
use crate::catalog::model::Catalog;

/// The status of each enabled `application` service, with a message.
pub fn applications(
    catalog: &Catalog,
    status_of: &dyn Fn(&str) -> Status,
) -> BTreeMap<String, (Status, String)> {
    let edges = graph::dependencies(catalog);
    let mut done: BTreeMap<String, (Status, String)> = BTreeMap::new();
    for s in catalog.services.values() {
        if s.enabled && s.service_type == ServiceType::Application {
            derive(catalog, &edges, status_of, &s.service_id, &mut done);
        }
    }
    done
}

/// Rolls up one application (and, first, the applications it depends on;
/// dependencies form a DAG, so this ends).
fn derive(
    catalog: &Catalog,
    edges: &HashMap<&str, Vec<&str>>,
    status_of: &dyn Fn(&str) -> Status,
    id: &str,
    done: &mut BTreeMap<String, (Status, String)>,
) -> Status {
    if let Some((status, _)) = done.get(id) {
        return *status;
    }
    let mut parts: Vec<(Status, &str)> = Vec::new();
    for &target in edges.get(id).map(Vec::as_slice).unwrap_or_default() {
        let derived = catalog
            .services
            .get(target)
            .is_some_and(|t| t.service_type == ServiceType::Application);
        let status = if derived {
            derive(catalog, edges, status_of, target, done)
        } else {
            status_of(target)
        };
        parts.push((status, target));
    }
    let on_failed = catalog
        .services
        .get(id)
        .and_then(|s| s.status_config.get("on_dependency_failed"))
        .and_then(|v| v.as_str())
        .unwrap_or("degraded");
    let (status, message) = combine(&parts, on_failed);
    done.insert(id.to_string(), (status, message));
    status
}

fn combine(parts: &[(Status, &str)], on_failed: &str) -> (Status, String) {
    if parts.is_empty() {
        return (Status::Unknown, "no enabled dependencies".into());
    }
    let worst = parts.iter().fold(Status::Ok, |w, (s, _)| w.worst(*s));
    let named = |want: Status| -> Vec<&str> {
        parts
            .iter()
            .filter(|(s, _)| *s == want)
            .map(|(_, id)| *id)
            .collect()
    };
    match worst {
        Status::Failed => {
            let status = if on_failed == "failed" {
                Status::Failed
            } else {
                Status::Degraded
            };
            (
                status,
                format!("dependency FAILED: {}", named(Status::Failed).join(", ")),
            )
        }
        Status::Degraded => (
            Status::Degraded,
            format!(
                "dependency DEGRADED: {}",
                named(Status::Degraded).join(", ")
            ),
        ),
        Status::Unknown => (
            Status::Unknown,
            format!(
                "dependency UNKNOWN (silent or not checked yet): {}",
                named(Status::Unknown).join(", ")
            ),
        ),
        Status::Starting => (
            Status::Starting,
            format!(
                "dependency STARTING: {}",
                named(Status::Starting).join(", ")
            ),
        ),
        _ => {
            let stopped = named(Status::Stopped);
            if stopped.len() == parts.len() {
                (
                    Status::Stopped,
                    format!("every dependency is STOPPED: {}", stopped.join(", ")),
                )
            } else if stopped.is_empty() {
                (Status::Ok, format!("all {} dependencies OK", parts.len()))
            } else {
                // Stopped on purpose is not a fault of the dependant.
                (
                    Status::Ok,
                    format!(
                        "{} of {} dependencies OK; STOPPED on purpose: {}",
                        parts.len() - stopped.len(),
                        parts.len(),
                        stopped.join(", ")
                    ),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_dependency_decides_and_failure_follows_the_rule() {
        let ok = (Status::Ok, "a");
        let failed = (Status::Failed, "db");
        assert_eq!(combine(&[ok, failed], "degraded").0, Status::Degraded);
        assert_eq!(
            combine(&[ok, failed], "failed"),
            (Status::Failed, "dependency FAILED: db".into())
        );
        assert_eq!(
            combine(&[ok, (Status::Degraded, "q")], "failed").0,
            Status::Degraded
        );
        let stopped = (Status::Stopped, "batch");
        assert_eq!(
            combine(&[ok, stopped], "failed"),
            (
                Status::Ok,
                "1 of 2 dependencies OK; STOPPED on purpose: batch".into()
            )
        );
        assert_eq!(combine(&[stopped], "failed").0, Status::Stopped);
        assert_eq!(
            combine(&[ok, ok], "failed"),
            (Status::Ok, "all 2 dependencies OK".into())
        );
        assert_eq!(
            combine(&[ok, (Status::Unknown, "new")], "failed").0,
            Status::Unknown
        );
        assert_eq!(combine(&[], "failed").0, Status::Unknown);
    }
}
