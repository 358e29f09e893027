//! The answer asked of the model (a JSON schema) and its validation: a
//! reply that is not that object is kept as written and shown as invalid,
//! never taken in part.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Longest text kept of one field, and items kept of a list.
const MAX_TEXT: usize = 2_000;
const MAX_ITEMS: usize = 10;

/// A model's analysis of a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Answer {
    /// One or two sentences: what is wrong.
    pub summary: String,
    pub likely_root_cause: String,
    /// Lines of the context that support it, quoted.
    pub evidence: Vec<String>,
    pub next_steps: Vec<String>,
    /// 0 (a guess) to 1 (certain).
    pub confidence: f64,
}

/// The `response_format` schema.
pub fn schema() -> Value {
    let text = json!({"type": "string"});
    let list = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "type": "object",
        "properties": {
            "summary": text,
            "likely_root_cause": text,
            "evidence": list,
            "next_steps": list,
            "confidence": {"type": "number"},
        },
        "required": ["summary", "likely_root_cause", "evidence", "next_steps", "confidence"],
        "additionalProperties": false,
    })
}

/// The model's reply as an `Answer`, or why it is not one.
pub fn parse(reply: &str) -> Result<Answer, String> {
    let text = unfenced(reply.trim());
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("the answer is not a JSON object: {e}"))?;
    let Value::Object(map) = value else {
        return Err("the answer is not a JSON object".into());
    };
    let string = |key: &str| -> Result<String, String> {
        match map.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(cut(s.trim())),
            Some(Value::String(_)) => Err(format!("`{key}` is empty")),
            Some(_) => Err(format!("`{key}` is not a string")),
            None => Err(format!("`{key}` is missing")),
        }
    };
    let list = |key: &str| -> Result<Vec<String>, String> {
        match map.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .take(MAX_ITEMS)
                .map(|v| match v {
                    Value::String(s) => Ok(cut(s.trim())),
                    _ => Err(format!("`{key}` holds something other than strings")),
                })
                .collect(),
            Some(_) => Err(format!("`{key}` is not a list")),
            None => Err(format!("`{key}` is missing")),
        }
    };
    let summary = string("summary")?;
    let likely_root_cause = string("likely_root_cause")?;
    let evidence = list("evidence")?;
    let next_steps = list("next_steps")?;
    let confidence = match map.get("confidence") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(_) => return Err("`confidence` is not a number".into()),
        None => return Err("`confidence` is missing".into()),
    };
    if !(0.0..=1.0).contains(&confidence) {
        return Err(format!("`confidence` {confidence} is not between 0 and 1"));
    }
    Ok(Answer {
        summary,
        likely_root_cause,
        evidence,
        next_steps,
        confidence,
    })
}

/// The JSON inside a Markdown code fence, which some models add.
fn unfenced(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"summary":"db down","likely_root_cause":"postgres refused","evidence":["connection refused"],"next_steps":["restart db"],"confidence":0.8}"#;

    #[test]
    fn a_complete_answer_is_taken_even_in_a_code_fence() {
        let a = parse(GOOD).unwrap();
        assert_eq!(a.summary, "db down");
        assert_eq!(a.evidence, vec!["connection refused"]);
        assert_eq!(parse(&format!("```json\n{GOOD}\n```")).unwrap(), a);
    }

    #[test]
    fn a_malformed_answer_says_what_is_wrong() {
        let cases = [
            ("I think the database is down.", "not a JSON object"),
            ("[1, 2]", "not a JSON object"),
            (r#"{"summary":"x"}"#, "`likely_root_cause` is missing"),
            (
                &GOOD.replace("0.8", "7"),
                "`confidence` 7 is not between 0 and 1",
            ),
            (
                &GOOD.replace("[\"restart db\"]", "\"restart\""),
                "`next_steps` is not a list",
            ),
            (&GOOD.replace("\"db down\"", "\" \""), "`summary` is empty"),
        ];
        for (reply, want) in cases {
            let e = parse(reply).unwrap_err();
            assert!(e.contains(want), "{reply}: {e}");
        }
    }
}
