//! Who owns a catalog object, and who may change it. The API owns what it
//! creates; a catalog file owns what it lists (`file:<path>`) and takes over
//! what the API made; an agent's discovery owns what it found
//! (`discovery:<agent>`), and an agent the checks of its own agent.toml
//! (`agent:<agent>`). Nobody changes what another owner holds, and the
//! refusal is a conflict (409) wherever it is met: a single change, bulk,
//! an import, the catalog file or discovery.

use crate::{Error, Result};

/// `managed_by` of what a catalog file owns.
pub fn file(path: &std::path::Path) -> String {
    format!("file:{}", path.display())
}

/// `managed_by` of what an agent discovered.
pub fn discovery(agent_id: &str) -> String {
    format!("discovery:{agent_id}")
}

/// `managed_by` of the checks an agent's own configuration defines.
pub fn agent(agent_id: &str) -> String {
    format!("agent:{agent_id}")
}

/// Whether `managed_by` is an agent's own configuration: such a service's
/// settings stay on the agent.
pub fn is_agent(managed_by: Option<&str>) -> bool {
    managed_by.is_some_and(|m| m.starts_with("agent:"))
}

/// Takes an import item's `managed_by` when it names an agent (as the
/// export writes an agent's own checks); anything else stays for the
/// reader to refuse.
pub fn agent_claim(item: &mut serde_json::Map<String, serde_json::Value>) -> Option<String> {
    let claimed = item
        .get("managed_by")
        .and_then(serde_json::Value::as_str)
        .filter(|m| is_agent(Some(m)))?
        .to_string();
    item.remove("managed_by");
    Some(claimed)
}

/// Whether `acting` (None: the API) may change `what` `id`, now owned by
/// `managed_by` (None: the API).
pub fn may_change(
    what: &str,
    id: &str,
    managed_by: Option<&str>,
    acting: Option<&str>,
) -> Result<()> {
    let file_takes_over = acting.is_some_and(|a| a.starts_with("file:"));
    match managed_by {
        None if acting.is_none() || file_takes_over => Ok(()),
        Some(by) if Some(by) == acting => Ok(()),
        by => Err(refusal(what, id, by.unwrap_or("the API"))),
    }
}

fn refusal(what: &str, id: &str, by: &str) -> Error {
    Error::conflict(format!("{what} `{id}` is managed by {by}; change it there"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    const FILE: &str = "file:/etc/lightbulb/services.toml";
    const OTHER_FILE: &str = "file:/srv/other.toml";
    const FOUND: &str = "discovery:node-a";

    fn refused(r: Result<()>) -> String {
        let e = r.expect_err("refused");
        assert_eq!(e.code(), ErrorCode::Conflict, "always 409");
        e.to_string()
    }

    #[test]
    fn the_api_changes_only_what_it_made() {
        assert!(may_change("service", "web", None, None).is_ok());
        assert_eq!(
            refused(may_change("service", "web", Some(FILE), None)),
            format!("service `web` is managed by {FILE}; change it there")
        );
        refused(may_change("relation", "rel-1", Some(FOUND), None));
    }

    #[test]
    fn a_file_takes_over_what_the_api_made_but_not_what_others_own() {
        assert!(may_change("service", "web", None, Some(FILE)).is_ok());
        assert!(may_change("service", "web", Some(FILE), Some(FILE)).is_ok());
        refused(may_change("service", "web", Some(OTHER_FILE), Some(FILE)));
        refused(may_change("service", "web", Some(FOUND), Some(FILE)));
    }

    #[test]
    fn discovery_changes_only_what_it_found() {
        assert!(may_change("service", "pod-a", Some(FOUND), Some(FOUND)).is_ok());
        assert_eq!(
            refused(may_change("service", "web", None, Some(FOUND))),
            "service `web` is managed by the API; change it there"
        );
        refused(may_change("service", "web", Some(FILE), Some(FOUND)));
        refused(may_change(
            "service",
            "pod-a",
            Some("discovery:node-b"),
            Some(FOUND),
        ));
    }
}
