//! Time as the ECS API speaks it: UTC timestamps with minute precision (`2026-12-01T16:00Z`), and
//! calendar arithmetic in China Standard Time, because Alibaba Cloud's billing day starts at
//! Beijing midnight (`…T16:00Z`). Pure functions only; the clock is read by the shell.

use jiff::tz::{TimeZone, offset};
use jiff::{Span, Timestamp};

/// The `yyyy-MM-ddTHH:mmZ` format the API uses for `ExpiredTime` and its filters.
pub fn format_api(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%MZ").to_string()
}

/// Parses `2026-12-01T16:00Z` as well as `2026-12-01T16:00:00Z` (the docs show minutes only, but
/// seconds are accepted to be safe). Returns `None` for anything else.
pub fn parse_api(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    // The API's minute form has no seconds: add them. (`strip_suffix`, not byte slicing: the
    // text comes from the network and may end in any character; found by fuzzing.)
    let date_time = text.strip_suffix('Z')?;
    format!("{date_time}:00Z").parse::<Timestamp>().ok()
}

/// The fixed UTC+8 zone in which renewal periods are counted.
pub fn billing_zone() -> TimeZone {
    TimeZone::fixed(offset(8))
}

/// Adds a calendar span the way a renewal moves an expiry: in UTC+8, clamping at the end of a
/// month (Jan 31 + 1 month = Feb 28/29). `None` when the result is out of range.
pub fn add_in_billing_zone(ts: Timestamp, span: Span) -> Option<Timestamp> {
    ts.to_zoned(billing_zone())
        .checked_add(span)
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minute_and_second_precision() {
        let a = parse_api("2026-12-01T16:00Z").expect("minutes");
        let b = parse_api("2026-12-01T16:00:00Z").expect("seconds");
        assert_eq!(a, b);
        assert_eq!(format_api(a), "2026-12-01T16:00Z");
        assert!(parse_api("2026-12-01").is_none());
        assert!(parse_api("").is_none());
        assert!(parse_api("yesterday").is_none());
        // Multi-byte characters at the end (a fuzzer's find: this used to panic).
        assert!(parse_api("1013-`2-00T16:0Н").is_none());
        assert!(parse_api("Н").is_none());
    }

    #[test]
    fn months_clamp_at_month_end_in_beijing_time() {
        // 2027-01-31 00:00 Beijing is 2027-01-30T16:00Z; one month later is Feb 28 in Beijing.
        let ts = parse_api("2027-01-30T16:00Z").unwrap();
        assert_eq!(
            format_api(add_in_billing_zone(ts, Span::new().months(1)).unwrap()),
            "2027-02-27T16:00Z"
        );
        assert_eq!(
            format_api(add_in_billing_zone(ts, Span::new().weeks(2)).unwrap()),
            "2027-02-13T16:00Z"
        );
        assert_eq!(
            format_api(add_in_billing_zone(ts, Span::new().months(12)).unwrap()),
            "2028-01-30T16:00Z"
        );
    }
}

/// Serde for timestamps in the API's minute format, used by the plan JSON.
pub mod api_format {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ts: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&super::format_api(*ts))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_api(&text).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "{text:?} is not a time of the form 2026-12-01T16:00Z"
            ))
        })
    }
}

/// `api_format` for optional timestamps.
pub mod api_format_opt {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        ts: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match ts {
            Some(ts) => serializer.collect_str(&super::format_api(*ts)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        super::parse_api(&text).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "{text:?} is not a time of the form 2026-12-01T16:00Z"
            ))
        })
    }
}
