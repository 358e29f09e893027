use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The last millisecond RFC 3339 can write (9999-12-31T23:59:59.999Z).
const LAST_MS: i64 = 253_402_300_799_999;

/// ISO 8601 / RFC 3339 in UTC with milliseconds, e.g. `2026-11-27T13:34:00.123Z`;
/// instants before 1970 or after 9999 are written as the nearest it can.
pub fn format_iso(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(ms.clamp(0, LAST_MS) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// Whole milliseconds of `d` for a 32-bit wire field, capped at its maximum.
pub fn millis_u32(d: Duration) -> u32 {
    d.as_millis().min(u128::from(u32::MAX)) as u32
}

/// A span as people read it, to the second (to the millisecond under
/// one): `850ms`, `45s`, `2m 10s`.
pub fn format_ms(ms: i64) -> String {
    let ms = ms.max(0) as u64;
    let span = if ms < 1000 {
        Duration::from_millis(ms)
    } else {
        Duration::from_secs(ms / 1000)
    };
    humantime::format_duration(span).to_string()
}

/// Parses an instant given as epoch milliseconds or as RFC 3339 in UTC
/// (`2026-11-27T13:34:00Z`, fractional seconds allowed).
pub fn parse_instant(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let normalized = s.strip_suffix("+00:00").map(|p| format!("{p}Z"));
    let text = normalized.as_deref().unwrap_or(s);
    let t = humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).map_err(|_| {
        format!(
            "`{s}` is neither epoch milliseconds nor an ISO 8601 UTC time like 2026-01-31T12:00:00Z"
        )
    })?;
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .map_err(|_| format!("`{s}` is before 1970"))
}

/// Parses a duration like `2s`, `500ms`, `1m 30s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration like 2s or 500ms: {e}"))
}

/// Serde helper for human-readable durations in config files.
pub mod serde_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// Like [`serde_duration`], for settings that may be absent.
pub mod serde_duration_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serde_duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| super::parse_duration(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn spans_read_to_the_second() {
        use super::format_ms;
        assert_eq!(format_ms(850), "850ms");
        assert_eq!(format_ms(45_000), "45s");
        assert_eq!(format_ms(130_400), "2m 10s");
        assert_eq!(format_ms(120_000), "2m");
        assert_eq!(format_ms(3 * 3_600_000 + 5 * 60_000 + 7_400), "3h 5m 7s");
    }

    use super::*;

    #[test]
    fn iso_of_instants_out_of_range_is_the_nearest() {
        assert_eq!(format_iso(-5), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_iso(409_724_318_883_759), "9999-12-31T23:59:59.999Z");
        assert_eq!(format_iso(i64::MAX), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn iso_round_trip() {
        let ms = 1_764_250_440_123;
        let text = format_iso(ms);
        assert_eq!(text, "2025-11-27T13:34:00.123Z");
        assert_eq!(parse_instant(&text), Ok(ms));
        assert_eq!(parse_instant("2025-11-27T13:34:00+00:00"), Ok(ms - 123));
        assert_eq!(parse_instant("1764250440123"), Ok(ms));
    }

    #[test]
    fn bad_instant_says_what_is_accepted() {
        let err = parse_instant("yesterday").unwrap_err();
        assert!(err.contains("epoch milliseconds"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").is_err());
    }
}
