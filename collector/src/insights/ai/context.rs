//! The failure context a model is given: the service and its check, its
//! status and the newest result's evidence (`details`: process, pod log
//! tail and events, Temporal, ClickHouse), its status changes over the day,
//! its dependencies and dependants with their statuses, and its most
//! frequent failure patterns. Redacted (`redact.rs`), then cut to size.

use lightbulb_common::time::format_iso;
use serde_json::{Value, json};

use super::redact::Redactor;
use crate::Result;
use crate::insights::patterns::{FailureQuery, mine};
use crate::state::AppState;
use crate::store::HistoryQuery;

const DAY_MS: i64 = 86_400_000;
/// Status changes of the day kept, newest.
const TIMELINE: usize = 20;
/// Failure patterns of the day kept, most frequent.
const PATTERNS: usize = 5;
/// Results of the day read for the timeline.
const RESULTS: u32 = 500;

/// The context as sent, and how many values redaction replaced.
pub struct Context {
    pub text: String,
    pub redactions: usize,
    /// The service's status when gathered.
    pub status: String,
}

pub async fn gather(
    state: &AppState,
    service_id: &str,
    now_ms: i64,
    redactor: &Redactor,
    max_bytes: usize,
) -> Result<Context> {
    let shown = crate::api::view::service(state, service_id)
        .ok_or_else(|| crate::Error::not_found(format!("no service `{service_id}`")))?;
    let (definition, neighbours) = state.catalog.read(|c| {
        let definition = c.services.get(service_id).map(|s| {
            json!({
                "type": s.service_type.to_string(),
                "label": s.label,
                "labels": s.labels,
                "check": s.status_config,
            })
        });
        let neighbours: Vec<(bool, String, &'static str)> = c
            .relations
            .values()
            .filter(|r| r.enabled)
            .filter_map(|r| {
                if r.source_service_id == service_id {
                    Some((true, r.target_service_id.clone(), r.relation_type.as_str()))
                } else if r.target_service_id == service_id {
                    Some((false, r.source_service_id.clone(), r.relation_type.as_str()))
                } else {
                    None
                }
            })
            .collect();
        (definition, neighbours)
    });
    let (mut dependencies, mut dependants) = (Vec::new(), Vec::new());
    for (outgoing, other, relation) in neighbours {
        let (status, message) = crate::api::view::service(state, &other)
            .map(|s| (s.status, s.message))
            .unwrap_or(("UNKNOWN", String::new()));
        let entry = json!({"service_id": other, "relation": relation, "status": status, "message": message});
        if outgoing {
            dependencies.push(entry);
        } else {
            dependants.push(entry);
        }
    }
    let history = state
        .store
        .history(HistoryQuery {
            service_id: service_id.to_string(),
            from_ms: now_ms - DAY_MS,
            to_ms: now_ms,
            limit: RESULTS,
        })
        .await?;
    let details = history
        .points
        .first()
        .map(|p| p.details.clone())
        .unwrap_or(Value::Null);
    let mut timeline: Vec<Value> = Vec::new();
    let mut previous = None;
    for p in history.points.iter().rev() {
        if previous != Some(p.status) {
            timeline.push(json!({"at": format_iso(p.timestamp_ms), "status": p.status.name(), "message": p.message}));
            previous = Some(p.status);
        }
    }
    let cut = timeline.len().saturating_sub(TIMELINE);
    timeline.drain(..cut);
    let lines = state
        .store
        .failures(FailureQuery {
            from_ms: now_ms - DAY_MS,
            to_ms: now_ms,
            service_id: Some(service_id.to_string()),
            limit: 2_000,
        })
        .await?;
    let patterns: Vec<Value> = mine(&lines, PATTERNS)
        .into_iter()
        .map(|p| json!({"template": p.template, "count": p.count, "first_seen": p.first_seen, "last_seen": p.last_seen}))
        .collect();
    let mut context = json!({
        "service": {"service_id": service_id, "definition": definition},
        "status": {
            "status": shown.status,
            "message": shown.message,
            "last_check": shown.last_check,
            "caused_by": shown.caused_by,
        },
        "details": details,
        "timeline": timeline,
        "dependencies": dependencies,
        "dependants": dependants,
        "failure_patterns": patterns,
    });
    let redactions = redactor.value(&mut context);
    let text = fit(context, max_bytes);
    Ok(Context {
        text,
        redactions,
        status: shown.status.to_string(),
    })
}

/// `value` as compact JSON of at most `max` bytes: long strings keep their
/// head and tail, long lists their newest (last) items, tighter each round.
pub fn fit(mut value: Value, max: usize) -> String {
    let mut text_limit = 4_000;
    let mut items = 50;
    loop {
        let text = value.to_string();
        if text.len() <= max {
            return text;
        }
        if text_limit <= 60 {
            // Nothing left to shorten: the evidence goes, the status stays.
            if let Value::Object(map) = &mut value {
                map.retain(|k, _| k == "service" || k == "status");
                let text = value.to_string();
                if text.len() <= max {
                    return text;
                }
            }
            return json!({"note": "the context did not fit"}).to_string();
        }
        shorten(&mut value, text_limit, items);
        text_limit /= 2;
        items = (items / 2).max(3);
    }
}

fn shorten(value: &mut Value, text_limit: usize, items: usize) {
    match value {
        Value::String(s) if s.chars().count() > text_limit => {
            let chars: Vec<char> = s.chars().collect();
            let half = text_limit / 2;
            let head: String = chars[..half].iter().collect();
            let tail: String = chars[chars.len() - half..].iter().collect();
            *s = format!(
                "{head} … [{} characters cut] … {tail}",
                chars.len() - 2 * half
            );
        }
        Value::Array(list) => {
            let cut = list.len().saturating_sub(items);
            list.drain(..cut);
            list.iter_mut().for_each(|v| shorten(v, text_limit, items));
        }
        Value::Object(map) => map.values_mut().for_each(|v| shorten(v, text_limit, items)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_is_cut_to_size_keeping_the_tail_of_logs() {
        let log: Vec<Value> = (0..400)
            .map(|i| Value::String(format!("line {i} {}", "x".repeat(100))))
            .collect();
        let v = json!({
            "status": {"status": "FAILED", "message": "down"},
            "details": {"log_tail": log},
        });
        let text = fit(v, 4_000);
        assert!(text.len() <= 4_000, "{}", text.len());
        assert!(text.contains("line 399"), "{text}");
        assert!(!text.contains("line 0 "), "{text}");
        assert!(text.contains("\"message\":\"down\""));
    }
}
