//! When a check runs, from its service's `status_config`: how often
//! (`interval`, default 30s), how long a run may take (`timeout`) and how
//! long it may stay silent before it is UNKNOWN (`grace`, see `staleness`).

use std::time::Duration;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const SCHEDULE_KEYS: [&str; 3] = ["interval", "timeout", "grace"];

/// When a check runs, as its `status_config` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub interval: Duration,
    pub timeout: Option<Duration>,
    pub grace: Option<Duration>,
}

/// The schedule a `status_config` gives its check; errors are (key,
/// reason) like the check parsers'.
pub fn schedule(config: &serde_json::Value) -> Result<Schedule, (String, String)> {
    let mut found = [None, None, None];
    if let Some(obj) = config.as_object() {
        for (slot, key) in found.iter_mut().zip(SCHEDULE_KEYS) {
            let Some(v) = obj.get(key) else { continue };
            let text = v.as_str().ok_or_else(|| {
                (
                    key.to_string(),
                    "must be a duration like \"30s\"".to_string(),
                )
            })?;
            let d =
                lightbulb_common::time::parse_duration(text).map_err(|e| (key.to_string(), e))?;
            if d < Duration::from_millis(100) {
                return Err((key.to_string(), "must be at least 100ms".into()));
            }
            *slot = Some(d);
        }
    }
    Ok(Schedule {
        interval: found[0].unwrap_or(DEFAULT_INTERVAL),
        timeout: found[1],
        grace: found[2],
    })
}

/// `status_config` without the schedule keys, and the schedule.
pub fn split_schedule(
    config: &serde_json::Value,
) -> Result<(serde_json::Value, Schedule), (String, String)> {
    let schedule = schedule(config)?;
    let mut rest = config.clone();
    if let Some(obj) = rest.as_object_mut() {
        for key in SCHEDULE_KEYS {
            obj.remove(key);
        }
    }
    Ok((rest, schedule))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_keys_come_out_of_the_check_config() {
        let (rest, schedule) = split_schedule(&serde_json::json!(
            {"url": "http://x", "interval": "5s", "timeout": "1s", "grace": "1m"}
        ))
        .unwrap();
        assert_eq!(rest, serde_json::json!({"url": "http://x"}));
        assert_eq!(
            schedule,
            Schedule {
                interval: Duration::from_secs(5),
                timeout: Some(Duration::from_secs(1)),
                grace: Some(Duration::from_secs(60)),
            }
        );
        assert_eq!(
            split_schedule(&serde_json::json!({"interval": 5}))
                .unwrap_err()
                .0,
            "interval"
        );
        assert_eq!(
            split_schedule(&serde_json::json!({"timeout": "1ms"}))
                .unwrap_err()
                .0,
            "timeout"
        );
        assert_eq!(
            split_schedule(&serde_json::json!({})).unwrap().1.interval,
            DEFAULT_INTERVAL
        );
    }
}
