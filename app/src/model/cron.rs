//! Cron schedules: an expression of 5 fields (or 6, seconds first) read in
//! an IANA time zone, so "0 3 * * *" in Europe/Berlin stays at 03:00 local
//! across daylight-saving changes. Parsed and evaluated by `croner`, with
//! zones from `chrono-tz`; server side only (the form asks the server for
//! the next runs as you type).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

fn parse(expression: &str, timezone: &str) -> Result<(Cron, Tz), String> {
    let fields = expression.split_whitespace().count();
    if !(5..=6).contains(&fields) && !expression.trim_start().starts_with('@') {
        return Err(format!(
            "{fields} field(s): write 5 (minute hour day month weekday) or 6 (seconds first)"
        ));
    }
    let cron = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(expression)
        .map_err(|e| e.to_string())?;
    let zone = timezone.trim().parse::<Tz>().map_err(|_| {
        format!("{timezone:?} is not a time zone (e.g. UTC, Europe/Berlin, Asia/Shanghai)")
    })?;
    Ok((cron, zone))
}

/// The next `n` runs strictly after `after`, in the schedule's zone; an
/// expression that is invalid, or never matches, says why.
pub fn next_runs(
    expression: &str,
    timezone: &str,
    after: DateTime<Utc>,
    n: usize,
) -> Result<Vec<DateTime<Tz>>, String> {
    let (cron, zone) = parse(expression, timezone)?;
    let mut runs = Vec::with_capacity(n);
    let mut from = after.with_timezone(&zone);
    while runs.len() < n {
        let next = cron
            .find_next_occurrence(&from, false)
            .map_err(|e| format!("{expression:?} never runs ({e})"))?;
        runs.push(next);
        from = next;
    }
    Ok(runs)
}

/// The first run strictly after `after`, in UTC.
pub fn next_after(expression: &str, timezone: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    next_runs(expression, timezone, after, 1)
        .ok()?
        .first()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn local_time_holds_across_daylight_saving() {
        // 03:00 in Berlin: 02:00 UTC in summer, 01:00 UTC in winter.
        let runs = next_runs("0 3 * * *", "Europe/Berlin", utc("2026-10-23T12:00:00Z"), 4).unwrap();
        let utc_runs: Vec<String> = runs
            .iter()
            .map(|t| t.with_timezone(&Utc).format("%Y-%m-%d %H:%M").to_string())
            .collect();
        assert_eq!(
            utc_runs,
            [
                "2026-10-24 01:00",
                "2026-10-25 02:00",
                "2026-10-26 02:00",
                "2026-10-27 02:00"
            ]
        );
    }

    #[test]
    fn six_fields_take_seconds_and_bad_ones_say_why() {
        let runs = next_runs("30 */15 * * * *", "UTC", utc("2026-12-01T10:00:00Z"), 2).unwrap();
        assert_eq!(runs[0].to_rfc3339(), "2026-12-01T10:00:30+00:00");
        assert_eq!(runs[1].to_rfc3339(), "2026-12-01T10:15:30+00:00");
        assert!(next_runs("0 3 * *", "UTC", Utc::now(), 1)
            .unwrap_err()
            .contains("4 field(s)"));
        assert!(next_runs("0 3 * * * * 2027", "UTC", Utc::now(), 1).is_err());
        assert!(!next_runs("61 3 * * *", "UTC", Utc::now(), 1)
            .unwrap_err()
            .is_empty());
        assert!(next_runs("0 3 * * *", "Mars/Olympus", Utc::now(), 1)
            .unwrap_err()
            .contains("not a time zone"));
        assert!(next_runs("0 0 31 2 *", "UTC", Utc::now(), 1)
            .unwrap_err()
            .contains("never runs"));
    }
}
