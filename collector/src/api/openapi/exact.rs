//! The rules handlers enforce on query parameters, written into the
//! document, so a request the document allows is one the API takes (rules
//! between parameters, like `from` before `to`, cannot be written there).

use serde_json::Value;
use utoipa::Modify;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::{RefOr, Schema};

/// Epoch milliseconds, or RFC 3339 in UTC from 1970 (`parse_instant`);
/// days past the 28th are left out, as the pattern cannot know the month.
pub const INSTANT: &str = r"^\s*(-?[0-9]{1,15}|(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|\+00:00))\s*$";

enum Rule {
    Pattern(&'static str),
    /// Whole numbers in this range.
    Range(u64, u64),
    OneOf(&'static [&'static str]),
    /// These keys, and each with `-` in front (reversed).
    Sort(&'static [&'static str]),
}

/// (path, or `*` for every path; query parameter; rule).
const RULES: &[(&str, &str, Rule)] = &[
    ("*", "from", Rule::Pattern(INSTANT)),
    ("*", "to", Rule::Pattern(INSTANT)),
    ("/api/admin/services", "page", Rule::Range(1, u64::MAX)),
    ("/api/admin/services", "per_page", Rule::Range(1, 500)),
    (
        "/api/admin/services",
        "sort",
        Rule::Sort(&crate::api::admin::SORTS),
    ),
    ("/api/audit", "page", Rule::Range(1, 1_000_000)),
    ("/api/audit", "per_page", Rule::Range(1, 500)),
    (
        "/api/search",
        "q",
        Rule::Pattern(
            r"^[ \t\n\r\x0b\x0c]*[^ \t\n\r\x0b\x0c\x00]{3,}([ \t\n\r\x0b\x0c]+[^ \t\n\r\x0b\x0c\x00]{3,}){0,7}[ \t\n\r\x0b\x0c]*$",
        ),
    ),
    ("/api/search", "limit", Rule::Range(1, 500)),
    (
        "/api/services/{service_id}/history",
        "limit",
        Rule::Range(1, 10_000),
    ),
    (
        "/api/services/{service_id}/history",
        "step",
        Rule::Pattern(r"^([1-9][0-9]{0,8}|[1-9][0-9]{0,5}(s|m|h))$"),
    ),
    (
        "/api/admin/export",
        "format",
        Rule::OneOf(&["json", "toml"]),
    ),
];

pub struct Exact;

impl Modify for Exact {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            for op in super::operations(item) {
                for p in op.parameters.iter_mut().flatten() {
                    let RefOr::T(p) = p else { continue };
                    if !matches!(p.parameter_in, ParameterIn::Query) {
                        continue;
                    }
                    let Some(RefOr::T(Schema::Object(o))) = p.schema.as_mut() else {
                        continue;
                    };
                    for (_, _, rule) in RULES
                        .iter()
                        .filter(|(at, name, _)| (*at == "*" || at == path) && *name == p.name)
                    {
                        match rule {
                            Rule::Pattern(re) => o.pattern = Some(re.to_string()),
                            Rule::Range(lo, hi) => {
                                o.minimum = Some((*lo).into());
                                o.maximum = Some((*hi).into());
                            }
                            Rule::OneOf(values) => {
                                o.enum_values =
                                    Some(values.iter().map(|v| Value::from(*v)).collect());
                            }
                            Rule::Sort(keys) => {
                                let reversed = keys.iter().map(|k| format!("-{k}"));
                                let all = keys.iter().map(|k| k.to_string()).chain(reversed);
                                o.enum_values = Some(all.map(Value::from).collect());
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(path: &str, name: &str) -> regex::Regex {
        let re = RULES
            .iter()
            .find_map(|(at, n, rule)| match rule {
                Rule::Pattern(re) if *at == path && *n == name => Some(*re),
                _ => None,
            })
            .unwrap();
        regex::Regex::new(re).unwrap()
    }

    #[test]
    fn what_the_instant_pattern_allows_parses_and_what_it_refuses_does_not() {
        let re = pattern("*", "from");
        for ok in [
            "0",
            "-5",
            "1764250440123",
            " 2026-01-28T23:59:59Z",
            "1970-01-01T00:00:00.123456789+00:00",
        ] {
            assert!(re.is_match(ok), "{ok}");
            assert!(lightbulb_common::time::parse_instant(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(!re.is_match(bad), "{bad}");
            assert!(lightbulb_common::time::parse_instant(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn what_the_search_pattern_allows_is_a_search_and_what_it_refuses_is_not() {
        let re = pattern("/api/search", "q");
        // A no-break or next-line character belongs to a word.
        for ok in [
            "abc",
            " timeout  refused ",
            "ab\u{85}c",
            "one two three four five six seven eight",
        ] {
            assert!(re.is_match(ok), "{ok}");
            assert!(crate::search::terms(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ab",
            "abc de",
            "one two three four five six seven eight nine",
            "found\0",
        ] {
            assert!(!re.is_match(bad), "{bad}");
            assert!(crate::search::terms(bad).is_err(), "{bad}");
        }
    }
}
