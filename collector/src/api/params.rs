//! Query parameters the read endpoints share: a time range and a limit.

use crate::{Error, Result};

/// Range when `from` is not given: the last 24 hours.
const DEFAULT_RANGE_MS: i64 = 24 * 3600 * 1000;

/// The `limit` query parameter: `default` when absent, else 1 to `max`.
pub(super) fn limit(given: &Option<String>, default: u32, max: u32) -> Result<u32> {
    let Some(l) = given else { return Ok(default) };
    l.parse::<u32>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            Error::bad_field(
                "limit",
                format!("`{l}` is not a whole number between 1 and {max}"),
            )
        })
}

pub(super) fn time_range(from: &Option<String>, to: &Option<String>) -> Result<(i64, i64)> {
    time_range_or(from, to, DEFAULT_RANGE_MS)
}

/// `from` and `to`; `default_ms` before `to` when `from` is not given.
pub(super) fn time_range_or(
    from: &Option<String>,
    to: &Option<String>,
    default_ms: i64,
) -> Result<(i64, i64)> {
    let parse = |field: &str, v: &str| {
        lightbulb_common::time::parse_instant(v).map_err(|e| Error::bad_field(field, e))
    };
    let to_ms = match to {
        Some(t) => parse("to", t)?,
        None => lightbulb_common::time::now_ms(),
    };
    let from_ms = match from {
        Some(f) => parse("from", f)?,
        None => to_ms - default_ms,
    };
    if from_ms > to_ms {
        return Err(Error::bad_field("from", "`from` is after `to`"));
    }
    Ok((from_ms, to_ms))
}
