//! Silences and maintenance windows: while one is open, the notifications
//! of the alerts it matches are recorded as suppressed instead of sent. A
//! window is one-off (from, to) or recurring (a cron expression in a time
//! zone, open for a duration from each time it names). A maintenance
//! window is also shown on the dashboard and kept for availability reports.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::cron::Cron;
use super::fields::{MAX_WINDOW_MS, duration};
use crate::catalog::fields::{Body, required};
use crate::{Error, Result};

/// Which alerts a silence holds back; an empty list or map matches all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Matchers {
    #[serde(default)]
    pub services: Vec<String>,
    /// Every label here must be on the service with this value.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    Once {
        starts_ms: i64,
        ends_ms: i64,
    },
    /// Open for `duration_ms` from each time `cron` names in `timezone`.
    Recurring {
        cron: String,
        duration_ms: i64,
        timezone: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Silence {
    pub silence_id: String,
    pub comment: String,
    pub created_by: String,
    pub created_ms: i64,
    /// A maintenance window: shown on the dashboard, excluded from
    /// availability reports.
    pub maintenance: bool,
    pub matchers: Matchers,
    pub schedule: Schedule,
}

impl Silence {
    pub fn matches(
        &self,
        rule_id: &str,
        service_id: &str,
        labels: &BTreeMap<String, String>,
    ) -> bool {
        let m = &self.matchers;
        (m.services.is_empty() || m.services.iter().any(|s| s == service_id))
            && (m.rules.is_empty() || m.rules.iter().any(|r| r == rule_id))
            && m.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// Whether the window is open at `now_ms`.
    pub fn open(&self, now_ms: i64) -> bool {
        match &self.schedule {
            Schedule::Once { starts_ms, ends_ms } => *starts_ms <= now_ms && now_ms < *ends_ms,
            Schedule::Recurring {
                cron,
                duration_ms,
                timezone,
            } => {
                let (Ok(cron), Ok(tz)) = (Cron::parse(cron), TimeZone::get(timezone)) else {
                    return false;
                };
                last_start(&cron, &tz, now_ms, *duration_ms).is_some()
            }
        }
    }
}

impl Silence {
    /// Whether it is a maintenance window of `service_id` (with catalog
    /// `labels`): rules it names do not matter, the service's time does.
    pub fn maintains(&self, service_id: &str, labels: &BTreeMap<String, String>) -> bool {
        let m = &self.matchers;
        self.maintenance
            && (m.services.is_empty() || m.services.iter().any(|s| s == service_id))
            && m.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// The times it was open within `[from_ms, to_ms)`, oldest first, as
    /// `[start, end)`; a recurring window's starts are found minute by minute.
    pub fn openings(&self, from_ms: i64, to_ms: i64) -> Vec<(i64, i64)> {
        let clip = |s: i64, e: i64| {
            (s.max(from_ms) < e.min(to_ms)).then(|| (s.max(from_ms), e.min(to_ms)))
        };
        match &self.schedule {
            Schedule::Once { starts_ms, ends_ms } => {
                clip(*starts_ms, *ends_ms).into_iter().collect()
            }
            Schedule::Recurring {
                cron,
                duration_ms,
                timezone,
            } => {
                let (Ok(cron), Ok(tz)) = (Cron::parse(cron), TimeZone::get(timezone)) else {
                    return Vec::new();
                };
                let minute = 60_000;
                let mut t = (from_ms - duration_ms).div_euclid(minute) * minute;
                let mut out: Vec<(i64, i64)> = Vec::new();
                while t < to_ms {
                    let named = Timestamp::from_millisecond(t)
                        .is_ok_and(|ts| cron.matches(tz.to_datetime(ts)));
                    if named && let Some((s, e)) = clip(t, t + duration_ms) {
                        match out.last_mut() {
                            Some(last) if s <= last.1 => last.1 = last.1.max(e),
                            _ => out.push((s, e)),
                        }
                    }
                    t += minute;
                }
                out
            }
        }
    }
}

/// The latest time at or before `now_ms`, within `duration_ms`, that
/// `cron` names in `tz`: the start of the window open now, if one is.
pub fn last_start(cron: &Cron, tz: &TimeZone, now_ms: i64, duration_ms: i64) -> Option<i64> {
    let minute = 60_000;
    let mut t = now_ms - now_ms.rem_euclid(minute);
    while now_ms - t < duration_ms {
        let ts = Timestamp::from_millisecond(t).ok()?;
        if cron.matches(tz.to_datetime(ts)) {
            return Some(t);
        }
        t -= minute;
    }
    None
}

/// A silence or maintenance window from `body`, made by `created_by`.
pub fn read(mut body: Body, created_by: &str, now_ms: i64) -> Result<Silence> {
    let silence_id = match body.string("silence_id")? {
        Some(id) => {
            lightbulb_common::validate_id("silence id", &id)
                .map_err(|e| Error::invalid("silence_id", e))?;
            id
        }
        None => format!("silence-{}", crate::auth::random_hex(4)),
    };
    let comment = body.string("comment")?.unwrap_or_default();
    let maintenance = body.boolean("maintenance")?.unwrap_or(false);
    let mut m = required(body.object("matchers")?, "matchers")?;
    let matchers = Matchers {
        services: m.strings("services")?.unwrap_or_default(),
        labels: m.labels("labels")?.unwrap_or_default(),
        rules: m.strings("rules")?.unwrap_or_default(),
    };
    m.finish()?;
    if matchers.services.is_empty() && matchers.labels.is_empty() && matchers.rules.is_empty() {
        return Err(Error::invalid(
            "matchers",
            "name at least one service, label or rule",
        ));
    }
    let schedule = match body.object("recurring")? {
        Some(mut r) => {
            let cron = required(r.string("cron")?, "recurring.cron")?;
            Cron::parse(&cron).map_err(|e| Error::invalid("recurring.cron", e))?;
            let timezone = r.string("timezone")?.unwrap_or_else(|| "UTC".into());
            jiff::tz::TimeZone::get(&timezone).map_err(|_| {
                Error::invalid(
                    "recurring.timezone",
                    format!("`{timezone}` is not a time zone (e.g. Europe/Berlin)"),
                )
            })?;
            let duration_ms = required(duration(&mut r, "duration")?, "recurring.duration")?;
            r.finish()?;
            if !(60_000..=MAX_WINDOW_MS).contains(&duration_ms) {
                return Err(Error::invalid(
                    "recurring.duration",
                    "must be between 1m and 7d",
                ));
            }
            Schedule::Recurring {
                cron,
                duration_ms,
                timezone,
            }
        }
        None => {
            let starts_ms = match body.string("starts")? {
                Some(t) => instant(&t, "starts")?,
                None => now_ms,
            };
            let ends_ms = match (body.string("ends")?, duration(&mut body, "duration")?) {
                (Some(t), None) => instant(&t, "ends")?,
                (None, Some(d)) => starts_ms + d,
                _ => {
                    return Err(Error::invalid(
                        "ends",
                        "give `ends` (a time) or `duration`, one of them",
                    ));
                }
            };
            if ends_ms <= starts_ms {
                return Err(Error::invalid("ends", "must be after `starts`"));
            }
            Schedule::Once { starts_ms, ends_ms }
        }
    };
    body.finish()?;
    Ok(Silence {
        silence_id,
        comment,
        created_by: created_by.to_string(),
        created_ms: now_ms,
        maintenance,
        matchers,
        schedule,
    })
}

/// An RFC 3339 time (`2026-12-01T02:00:00Z`), in ms.
fn instant(text: &str, field: &str) -> Result<i64> {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| {
            Error::invalid(
                field,
                format!("`{text}` is not a time like 2026-12-01T02:00:00Z: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn openings_in_a_range_are_clipped_to_it() {
        let silence = |schedule| Silence {
            silence_id: "s".into(),
            comment: String::new(),
            created_by: "t".into(),
            created_ms: 0,
            maintenance: true,
            matchers: Matchers::default(),
            schedule,
        };
        let nightly = silence(Schedule::Recurring {
            cron: "0 2 * * *".into(),
            duration_ms: 3_600_000,
            timezone: "UTC".into(),
        });
        let (from, to) = (utc("2026-03-01T02:30:00Z"), utc("2026-03-03T02:15:00Z"));
        assert_eq!(
            nightly.openings(from, to),
            [
                (from, utc("2026-03-01T03:00:00Z")),
                (utc("2026-03-02T02:00:00Z"), utc("2026-03-02T03:00:00Z")),
                (utc("2026-03-03T02:00:00Z"), to),
            ]
        );
        let once = silence(Schedule::Once {
            starts_ms: utc("2026-03-02T10:00:00Z"),
            ends_ms: utc("2026-03-05T00:00:00Z"),
        });
        assert_eq!(once.openings(from, to), [(utc("2026-03-02T10:00:00Z"), to)]);
        assert!(once.openings(0, 1_000).is_empty());
        assert!(once.maintains("web", &BTreeMap::new()));
    }

    #[test]
    fn a_berlin_morning_window_opens_at_the_right_utc_instant_across_the_clock_change() {
        let cron = Cron::parse("0 9 * * *").unwrap();
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let hour = 3_600_000;
        // Winter (UTC+1): 09:00 in Berlin is 08:00 UTC.
        assert_eq!(
            last_start(&cron, &berlin, utc("2026-03-28T08:30:00Z"), hour),
            Some(utc("2026-03-28T08:00:00Z"))
        );
        assert_eq!(
            last_start(&cron, &berlin, utc("2026-03-28T07:59:00Z"), hour),
            None
        );
        // The clocks go forward on 29 March; from then on 09:00 is 07:00 UTC.
        assert_eq!(
            last_start(&cron, &berlin, utc("2026-03-29T07:30:00Z"), hour),
            Some(utc("2026-03-29T07:00:00Z"))
        );
        assert_eq!(
            last_start(&cron, &berlin, utc("2026-03-29T08:00:00Z"), hour),
            None,
            "closed after an hour"
        );
        // And back on 25 October.
        assert_eq!(
            last_start(&cron, &berlin, utc("2026-10-25T08:10:00Z"), hour),
            Some(utc("2026-10-25T08:00:00Z"))
        );
    }

    #[test]
    fn matchers_and_one_off_windows() {
        let s = Silence {
            silence_id: "s".into(),
            comment: String::new(),
            created_by: "user:ann".into(),
            created_ms: 0,
            maintenance: true,
            matchers: Matchers {
                services: vec![],
                labels: [("team".to_string(), "db".to_string())].into(),
                rules: vec!["down".into()],
            },
            schedule: Schedule::Once {
                starts_ms: 100,
                ends_ms: 200,
            },
        };
        let db = [("team".to_string(), "db".to_string())].into();
        assert!(s.matches("down", "pg", &db));
        assert!(!s.matches("slow", "pg", &db));
        assert!(!s.matches("down", "web", &BTreeMap::new()));
        assert!(!s.open(99) && s.open(100) && s.open(199) && !s.open(200));
    }
}
