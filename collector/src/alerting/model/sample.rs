//! A rule for tests to start from.

use super::{Condition, Rule, RuleScope, Severity};

impl Rule {
    /// A rule on `condition` for every service, firing at once and
    /// notifying `ops`; tests change what they need.
    pub fn sample(id: &str, condition: Condition) -> Rule {
        Rule {
            rule_id: id.into(),
            name: id.into(),
            condition,
            scope: RuleScope::default(),
            severity: Severity::Warning,
            for_ms: 0,
            channels: vec!["ops".into()],
            enabled: true,
            updated_ms: 0,
            resolve_after_ms: 0,
            escalation: Vec::new(),
            repeat_ms: None,
            flap_limit: 0,
            flap_window_ms: 600_000,
            managed_by: None,
        }
    }
}
