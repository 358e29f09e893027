//! Cron expressions for recurring maintenance windows: five fields
//! (minute, hour, day of month, month, day of week) of `*`, numbers,
//! ranges `a-b`, steps `*/n` or `a-b/n` and lists `a,b`; months and days
//! may be named (`JAN`, `MON`). As in cron, when both day fields are
//! restricted a day matching either counts. Times are civil times in the
//! window's time zone, so `0 9 * * *` in `Europe/Berlin` opens at 09:00
//! there, summer and winter; a time a clock change skips does not occur.

use jiff::civil::DateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether each day field was restricted (not `*`).
    days_restricted: bool,
    weekdays_restricted: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(format!(
                "`{text}` has {} fields; a cron expression has five: minute hour day-of-month month day-of-week",
                fields.len()
            ));
        };
        let mut weekdays = field(weekday, 0, 7, &WEEKDAYS, 0, "day of week")?;
        // 7 is Sunday too.
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & !(1 << 7);
        }
        Ok(Cron {
            minutes: field(minute, 0, 59, &[], 0, "minute")?,
            hours: field(hour, 0, 23, &[], 0, "hour")?,
            days: field(day, 1, 31, &[], 1, "day of month")?,
            months: field(month, 1, 12, &MONTHS, 1, "month")?,
            weekdays,
            days_restricted: day != "*",
            weekdays_restricted: weekday != "*",
        })
    }

    /// Whether the civil time `t` (to the minute) is one of the expression's.
    pub fn matches(&self, t: DateTime) -> bool {
        let bit = |set: u64, v: i8| set & (1 << v) != 0;
        let day = bit(self.days, t.day());
        let weekday = bit(self.weekdays, t.weekday().to_sunday_zero_offset());
        let day_ok = match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => day || weekday,
            _ => day && weekday,
        };
        bit(self.minutes, t.minute())
            && bit(self.hours, t.hour())
            && bit(self.months, t.month())
            && day_ok
    }
}

/// One field as a bit set of the values it allows.
fn field(
    text: &str,
    min: u8,
    max: u8,
    names: &[&str],
    name_base: u8,
    what: &str,
) -> Result<u64, String> {
    let bad = |why: String| format!("{what} `{text}`: {why}");
    let value = |s: &str| -> Result<u8, String> {
        let upper = s.to_ascii_uppercase();
        if let Some(i) = names.iter().position(|n| *n == upper) {
            return Ok(i as u8 + name_base);
        }
        let v: u8 = s
            .parse()
            .map_err(|_| bad(format!("`{s}` is not a number")))?;
        if v < min || v > max {
            return Err(bad(format!("{v} is not between {min} and {max}")));
        }
        Ok(v)
    };
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u8 = s
                    .parse()
                    .map_err(|_| bad(format!("step `{s}` is not a number")))?;
                if step == 0 {
                    return Err(bad("a step of 0".into()));
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if step > 1 => (value(r)?, max),
                None => (value(r)?, value(r)?),
            },
        };
        if from > to {
            return Err(bad(format!("the range {from}-{to} runs backwards")));
        }
        for v in (from..=to).step_by(step as usize) {
            set |= 1 << v;
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn fields_ranges_steps_lists_and_names() {
        let c = Cron::parse("*/15 9-17 * * MON-FRI").unwrap();
        assert!(c.matches(date(2026, 11, 30).at(9, 45, 0, 0)), "a Monday");
        assert!(!c.matches(date(2026, 11, 30).at(9, 40, 0, 0)));
        assert!(!c.matches(date(2026, 11, 29).at(9, 45, 0, 0)), "a Sunday");
        let c = Cron::parse("0 2 1,15 jan,jul *").unwrap();
        assert!(c.matches(date(2026, 7, 15).at(2, 0, 0, 0)));
        assert!(!c.matches(date(2026, 8, 15).at(2, 0, 0, 0)));
        assert!(
            Cron::parse("0 0 * * 7")
                .unwrap()
                .matches(date(2026, 11, 29).at(0, 0, 0, 0)),
            "7 is Sunday"
        );
        // Both day fields restricted: either matches.
        let c = Cron::parse("0 0 1 * MON").unwrap();
        assert!(
            c.matches(date(2026, 12, 1).at(0, 0, 0, 0)),
            "the 1st (a Tuesday)"
        );
        assert!(c.matches(date(2026, 12, 7).at(0, 0, 0, 0)), "a Monday");
        assert!(!c.matches(date(2026, 12, 8).at(0, 0, 0, 0)));
    }

    #[test]
    fn bad_expressions_say_which_field_and_why() {
        for (text, says) in [
            ("* * * *", "five"),
            ("60 * * * *", "minute `60`: 60 is not between 0 and 59"),
            ("* 5-2 * * *", "runs backwards"),
            ("* * * FOO *", "month `FOO`"),
            ("*/0 * * * *", "a step of 0"),
        ] {
            let why = Cron::parse(text).unwrap_err();
            assert!(why.contains(says), "{text}: {why}");
        }
    }
}
