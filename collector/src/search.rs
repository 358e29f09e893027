//! Search across the evidence of recent results: their messages and
//! `details` (error text, log tails, stack traces). A query is words; a
//! result matches when each word occurs in its message or details, case
//! aside, anywhere (so `division` finds `ZeroDivisionError`). The stores
//! find the results (SQLite: an FTS5 trigram index; ClickHouse: a scan of
//! the range, with an ngram skip index where the server has them); here
//! each hit is cut into parts, the matches marked, for the dashboard.

use serde::Serialize;

use crate::{BoxFuture, Error, Result};
use lightbulb_common::Status;

/// Most words in one query.
pub const MAX_TERMS: usize = 8;
/// Shortest word: the indexes work on three-character pieces.
pub const MIN_TERM_CHARS: usize = 3;
/// What separates words: ASCII white space, as the API document's pattern
/// for `q` says (Unicode's other spaces belong to words).
pub const SEPARATORS: [char; 6] = [' ', '\t', '\n', '\r', '\u{b}', '\u{c}'];
/// Characters of `details` shown on either side of its first match.
const EXCERPT_CHARS: usize = 120;

#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// Lower-cased words, each at least [`MIN_TERM_CHARS`] long.
    pub terms: Vec<String>,
    pub from_ms: i64,
    pub to_ms: i64,
    pub service_id: Option<String>,
    pub limit: u32,
}

/// The words of `q`; a query without a usable word is an error naming `q`.
pub fn terms(q: &str) -> Result<Vec<String>> {
    let words: Vec<String> = q
        .split(SEPARATORS)
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        return Err(Error::bad_field("q", "is required: the words to look for"));
    }
    // SQLite's full-text query ends at a NUL; no stored text holds one.
    if q.contains('\0') {
        return Err(Error::bad_field("q", "may not contain the NUL character"));
    }
    if words.len() > MAX_TERMS {
        return Err(Error::bad_field(
            "q",
            format!("has {} words; at most {MAX_TERMS}", words.len()),
        ));
    }
    if let Some(short) = words.iter().find(|w| w.chars().count() < MIN_TERM_CHARS) {
        return Err(Error::bad_field(
            "q",
            format!("`{short}` is too short: each word needs at least {MIN_TERM_CHARS} characters"),
        ));
    }
    Ok(words)
}

/// A stored result that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub service_id: String,
    pub agent_id: String,
    pub seq: u64,
    pub ts_ms: i64,
    pub status: Status,
    pub message: String,
    /// `details` as stored (JSON text; empty when there are none).
    pub details: String,
}

/// Where results are searched, newest first.
pub trait SearchStore: Send + Sync + 'static {
    fn search(&self, query: SearchQuery) -> BoxFuture<'_, Result<Vec<Found>>>;
}

/// A piece of text; `hit` when it is a match.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Part {
    pub text: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hit: bool,
}

/// Byte ranges of every match of `terms` in `text` (ASCII case aside),
/// merged where they touch.
fn matches(text: &str, terms: &[String]) -> Vec<(usize, usize)> {
    let folded = text.to_ascii_lowercase();
    let mut found: Vec<(usize, usize)> = Vec::new();
    for t in terms {
        let t = t.to_ascii_lowercase();
        let mut from = 0;
        while let Some(i) = folded[from..].find(&t) {
            found.push((from + i, from + i + t.len()));
            from += i + t.len();
        }
    }
    found.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (a, b) in found {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// `text` cut into parts, the matches marked.
pub fn parts(text: &str, terms: &[String]) -> Vec<Part> {
    let mut out = Vec::new();
    let mut at = 0;
    for (a, b) in matches(text, terms) {
        if a > at {
            out.push(Part {
                text: text[at..a].to_string(),
                hit: false,
            });
        }
        out.push(Part {
            text: text[a..b].to_string(),
            hit: true,
        });
        at = b;
    }
    if at < text.len() || out.is_empty() {
        out.push(Part {
            text: text[at..].to_string(),
            hit: false,
        });
    }
    out
}

/// The part of `text` around its first match, with `…` where it is cut;
/// `None` when nothing in it matches.
pub fn excerpt(text: &str, terms: &[String]) -> Option<String> {
    let (a, b) = *matches(text, terms).first()?;
    let start = text[..a]
        .char_indices()
        .rev()
        .nth(EXCERPT_CHARS - 1)
        .map_or(0, |(i, _)| i);
    let end = text[b..]
        .char_indices()
        .nth(EXCERPT_CHARS)
        .map_or(text.len(), |(i, _)| b + i);
    let lead = if start > 0 { "…" } else { "" };
    let tail = if end < text.len() { "…" } else { "" };
    Some(format!("{lead}{}{tail}", &text[start..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn words_are_checked_and_named() {
        let short = terms("  Timeout  DB ").unwrap_err();
        assert_eq!(short.field(), Some("q"));
        assert_eq!(
            short.to_string(),
            "`db` is too short: each word needs at least 3 characters"
        );
        assert_eq!(
            terms("Timeout upstream").unwrap(),
            t(&["timeout", "upstream"])
        );
        assert!(terms(" ").is_err());
        assert!(terms(&"word ".repeat(9)).is_err());
    }

    #[test]
    fn matches_are_marked_case_aside() {
        let p = parts("ZeroDivisionError: division by zero", &t(&["division"]));
        let shown: Vec<(&str, bool)> = p.iter().map(|p| (p.text.as_str(), p.hit)).collect();
        assert_eq!(
            shown,
            [
                ("Zero", false),
                ("Division", true),
                ("Error: ", false),
                ("division", true),
                (" by zero", false)
            ]
        );
        assert_eq!(parts("nothing", &t(&["xyz"])).len(), 1);
    }

    #[test]
    fn an_excerpt_is_cut_around_the_first_match() {
        let text = format!(
            "{}Traceback: KeyError 'user'{}",
            "a".repeat(300),
            "b".repeat(300)
        );
        let e = excerpt(&text, &t(&["keyerror"])).unwrap();
        assert!(e.starts_with('…') && e.ends_with('…'), "{e}");
        assert!(e.contains("Traceback: KeyError 'user'"));
        assert!(e.chars().count() < 300);
        assert_eq!(excerpt("short", &t(&["missing"])), None);
    }
}
