//! The rules handlers enforce on query parameters and on the fields of
//! request bodies, written into the document, so a request the document
//! allows is one the API takes (rules between parameters or fields, like
//! `from` before `to`, cannot be written there).

use serde_json::Value;
use utoipa::Modify;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::schema::ArrayItems;
use utoipa::openapi::{RefOr, Schema};

/// Epoch milliseconds, or RFC 3339 in UTC from 1970 (`parse_instant`);
/// days past the 28th are left out, as the pattern cannot know the month.
pub const INSTANT: &str = r"^\s*(-?[0-9]{1,15}|(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|\+00:00))\s*$";

/// A service id, and every id named like one (channels, rules, silences).
pub const ID: &str = "^[a-z0-9][a-z0-9-]{0,62}$";

enum Rule {
    Pattern(&'static str),
    /// A body field that may be left out but not sent as null.
    NotNull,
    /// A string of at most this many characters, with a non-space in it.
    Text(u64),
    /// A string of at most this many characters.
    MaxLength(u64),
    /// An array of at most this many ids.
    Ids(u64),
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
    ("/api/patterns", "limit", Rule::Range(1, 200)),
    ("/api/insights/{service_id}", "limit", Rule::Range(1, 50)),
    ("/api/reports/sla", "degraded", Rule::OneOf(&["up", "down"])),
    (
        "/api/reports/sla",
        "maintenance",
        Rule::OneOf(&["exclude", "include"]),
    ),
    (
        "/api/reports/sla",
        "format",
        Rule::OneOf(&["json", "csv", "pdf"]),
    ),
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

const SERVICE_TYPES: &[&str] = &[
    "temporal_workflow",
    "python_process",
    "api_endpoint",
    "database",
    "kubernetes_pod",
    "application",
];
const RELATION_TYPES: &[&str] = &["dependency", "communication", "data-flow"];

/// (request body schema; field; rule).
const BODY_RULES: &[(&str, &str, Rule)] = &[
    ("ServiceInput", "service_id", Rule::Pattern(ID)),
    ("ServiceInput", "label", Rule::Text(200)),
    ("ServiceInput", "service_type", Rule::OneOf(SERVICE_TYPES)),
    ("ServiceChange", "service_id", Rule::Pattern(ID)),
    ("ServiceChange", "label", Rule::Text(200)),
    ("ServiceChange", "service_type", Rule::OneOf(SERVICE_TYPES)),
    ("RelationInput", "source_service_id", Rule::Pattern(ID)),
    ("RelationInput", "target_service_id", Rule::Pattern(ID)),
    (
        "RelationInput",
        "relation_type",
        Rule::OneOf(RELATION_TYPES),
    ),
    ("ChannelInput", "channel_id", Rule::Pattern(ID)),
    (
        "ChannelInput",
        "kind",
        Rule::OneOf(&crate::alerting::fields::KINDS),
    ),
    ("RuleInput", "rule_id", Rule::Pattern(ID)),
    ("RuleInput", "name", Rule::Text(200)),
    ("RuleInput", "channels", Rule::Ids(u64::MAX)),
    ("SilenceInput", "silence_id", Rule::Pattern(ID)),
    ("ViewInput", "definition", Rule::NotNull),
    ("ViewInput", "name", Rule::Text(100)),
    ("ViewChange", "definition", Rule::NotNull),
    ("ViewChange", "name", Rule::Text(100)),
    (
        "ViewDefinition",
        "range",
        Rule::OneOf(&crate::views::RANGES),
    ),
    ("ViewDefinition", "status", Rule::Range(0, 5)),
    ("ViewDefinition", "label", Rule::Pattern("^$|=")),
    ("ViewDefinition", "services", Rule::Ids(u64::MAX)),
    (
        "ViewDefinition",
        "charts",
        Rule::Ids(crate::views::MAX_CHARTS as u64),
    ),
    ("ViewDefinition", "map_focus", Rule::Pattern(ID)),
    // What every endpoint taken starts with (an https URL, or http to this
    // host; the rest is the URL grammar).
    (
        "PushSubscriptionInput",
        "endpoint",
        Rule::Pattern(r"^https?://\S"),
    ),
    ("PushSubscriptionInput", "label", Rule::MaxLength(100)),
    (
        "PushSubscriptionInput",
        "services",
        Rule::Ids(crate::push::MAX_SERVICES as u64),
    ),
    // 65 bytes starting 0x04, and 16 bytes: base64url (padding ignored).
    (
        "PushKeys",
        "p256dh",
        Rule::Pattern("^B[A-P][A-Za-z0-9_-]{84}[AEIMQUYcgkosw048]=*$"),
    ),
    (
        "PushKeys",
        "auth",
        Rule::Pattern("^[A-Za-z0-9_-]{21}[AQgw]=*$"),
    ),
];

pub struct Exact;

/// Writes `BODY_RULES` into the request body schemas.
fn bodies(doc: &mut utoipa::openapi::OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for (name, field, rule) in BODY_RULES {
        let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut(*name) else {
            continue;
        };
        let Some(property) = body.properties.get_mut(*field) else {
            continue;
        };
        match (rule, property) {
            (Rule::NotNull, RefOr::T(Schema::OneOf(one))) => {
                let kept = one.items.iter().find(|s| !is_null(s)).cloned();
                if let Some(kept) = kept {
                    body.properties.insert(field.to_string(), kept);
                }
            }
            (Rule::Pattern(re), RefOr::T(Schema::Object(o))) => o.pattern = Some(re.to_string()),
            (Rule::OneOf(values), RefOr::T(Schema::Object(o))) => {
                o.enum_values = Some(values.iter().map(|v| Value::from(*v)).collect());
            }
            (Rule::Range(lo, hi), RefOr::T(Schema::Object(o))) => {
                o.minimum = Some((*lo).into());
                o.maximum = Some((*hi).into());
            }
            (Rule::Text(max), RefOr::T(Schema::Object(o))) => {
                o.pattern = Some(r"\S".into());
                o.max_length = Some(*max as usize);
            }
            (Rule::MaxLength(max), RefOr::T(Schema::Object(o))) => {
                o.max_length = Some(*max as usize);
            }
            (Rule::Ids(max), RefOr::T(Schema::Array(a))) => {
                if *max < u64::MAX {
                    a.max_items = Some(*max as usize);
                }
                if let ArrayItems::RefOrSchema(item) = &mut a.items
                    && let RefOr::T(Schema::Object(o)) = item.as_mut()
                {
                    o.pattern = Some(ID.into());
                }
            }
            _ => {}
        }
    }
}

fn is_null(s: &RefOr<Schema>) -> bool {
    matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == utoipa::openapi::schema::SchemaType::Type(utoipa::openapi::Type::Null))
}

impl Modify for Exact {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        bodies(doc);
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
                            Rule::NotNull | Rule::Text(_) | Rule::MaxLength(_) | Rule::Ids(_) => {}
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

    #[test]
    fn the_body_rules_take_what_the_handlers_take() {
        use lightbulb_common::ServiceType;
        let services: Vec<&str> = ServiceType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(SERVICE_TYPES, services);
        let relations: Vec<&str> = crate::catalog::model::RelationType::ALL
            .iter()
            .map(|t| t.as_str())
            .collect();
        assert_eq!(RELATION_TYPES, relations);
        let id = regex::Regex::new(ID).unwrap();
        for (sample, ok) in [
            ("db", true),
            ("a-1", true),
            ("-a", false),
            ("", false),
            ("A", false),
        ] {
            assert_eq!(id.is_match(sample), ok, "{sample}");
            assert_eq!(
                lightbulb_common::validate_service_id(sample).is_ok(),
                ok,
                "{sample}"
            );
        }
        assert!(id.is_match(&"a".repeat(63)) && !id.is_match(&"a".repeat(64)));
    }
}
