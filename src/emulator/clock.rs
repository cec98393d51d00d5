//! The emulator's idea of "now" and the few time rules of the ECS API it needs: minute-precision
//! UTC timestamps on the wire (`2026-12-01T16:00Z`) and calendar arithmetic in China Standard
//! Time, because Alibaba Cloud's billing day starts at Beijing midnight (ecs-api.md §6).
//!
//! These helpers are deliberately the emulator's own and not `crate::time`: the emulator must
//! not share code with the client it is used to test.

use jiff::tz::{TimeZone, offset};
use jiff::{SignedDuration, Span, Timestamp};

/// Where the emulator reads the current time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The machine's clock.
    #[default]
    System,
    /// A frozen instant: tests replay captured requests signed at a known time, and relative
    /// expiries (`expires_in`) become exact.
    Fixed(Timestamp),
}

impl Clock {
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Fixed(at) => *at,
        }
    }
}

/// The zone in which renewal periods are counted.
fn billing_zone() -> TimeZone {
    TimeZone::fixed(offset(8))
}

/// `yyyy-MM-ddTHH:mmZ`, the format of `ExpiredTime`, `CreationTime` and the expiry filters.
pub(crate) fn format_minute(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%MZ").to_string()
}

/// Drops seconds and below. Expiries are kept at minute precision because that is all the API
/// shows; a hidden seconds part would make a client's arithmetic disagree with ours.
pub(crate) fn truncate_to_minute(ts: Timestamp) -> Timestamp {
    let second = ts.as_second();
    Timestamp::from_second(second - second.rem_euclid(60)).unwrap_or(ts)
}

/// Reads an API time in UTC: `2026-12-01T16:00Z` (what the API documents) or with seconds.
pub(crate) fn parse_api_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if !text.ends_with('Z') || text.len() > 40 {
        return None;
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    let stem = text.strip_suffix('Z')?;
    format!("{stem}:00Z").parse::<Timestamp>().ok()
}

/// Reads a request `Timestamp` / `x-acs-date`: ISO 8601 UTC to the second,
/// `yyyy-MM-ddTHH:mm:ssZ`. Fractional seconds are tolerated.
pub(crate) fn parse_request_time(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    // The gateway documents exactly this shape; an offset such as `+08:00` is a format error.
    let shape_ok = bytes.len() >= 20
        && bytes.len() <= 40
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && text.ends_with('Z');
    if !shape_ok {
        return None;
    }
    text.parse::<Timestamp>().ok()
}

/// Moves `ts` by whole calendar months and weeks counted in UTC+8, clamping at a month's end
/// (Jan 31 + 1 month = Feb 28/29), the way a renewal moves an expiry.
pub(crate) fn add_calendar(ts: Timestamp, months: i64, weeks: i64) -> Option<Timestamp> {
    let span = Span::new().try_months(months).ok()?.try_weeks(weeks).ok()?;
    ts.to_zoned(billing_zone())
        .checked_add(span)
        .ok()
        .map(|z| z.timestamp())
}

/// Moves `ts` by calendar days in UTC+8 (equal to 24 h since the zone has no DST).
pub(crate) fn add_days(ts: Timestamp, days: i64) -> Option<Timestamp> {
    ts.checked_add(SignedDuration::from_hours(days.checked_mul(24)?))
        .ok()
}

/// The day of the month of `ts` in UTC+8.
pub(crate) fn billing_day_of_month(ts: Timestamp) -> i8 {
    ts.to_zoned(billing_zone()).day()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        parse_api_time(text).expect("valid time")
    }

    #[test]
    fn minute_precision_round_trips() {
        assert_eq!(format_minute(ts("2026-12-01T16:00Z")), "2026-12-01T16:00Z");
        assert_eq!(ts("2026-12-01T16:00:00Z"), ts("2026-12-01T16:00Z"));
        assert_eq!(parse_api_time("2026-12-01 16:00"), None);
        assert_eq!(parse_api_time("tomorrow"), None);
    }

    #[test]
    fn request_time_must_be_utc_to_the_second() {
        assert!(parse_request_time("2026-11-22T10:20:30Z").is_some());
        assert!(parse_request_time("2026-11-22T10:20Z").is_none());
        assert!(parse_request_time("2026-11-22T10:20:30+08:00").is_none());
        assert!(parse_request_time("2026-13-22T10:20:30Z").is_none());
        assert!(parse_request_time("").is_none());
    }

    #[test]
    fn months_are_counted_at_beijing_midnight_and_clamped() {
        // 2026-01-31T00:00+08 plus one month is 2026-02-28T00:00+08.
        let end_of_january = ts("2026-01-30T16:00Z");
        assert_eq!(
            format_minute(add_calendar(end_of_january, 1, 0).expect("in range")),
            "2026-02-27T16:00Z"
        );
        // A UTC-only computation would have moved 2026-11-30T16:00Z to 2026-12-30T16:00Z.
        let first_of_december = ts("2026-11-30T16:00Z");
        assert_eq!(
            format_minute(add_calendar(first_of_december, 1, 0).expect("in range")),
            "2026-12-31T16:00Z"
        );
        assert_eq!(
            format_minute(add_calendar(first_of_december, 0, 2).expect("in range")),
            "2026-12-14T16:00Z"
        );
    }

    #[test]
    fn truncation_drops_seconds() {
        let at: Timestamp = "2026-11-22T10:20:30Z".parse().expect("valid");
        assert_eq!(format_minute(truncate_to_minute(at)), "2026-11-22T10:20Z");
        assert_eq!(truncate_to_minute(at).as_second() % 60, 0);
    }
}
