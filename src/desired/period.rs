//! Durations of the desired state: `"<n> <unit>"` with unit `day(s)`, `week(s)`, `month(s)` or
//! `year(s)`. Parsing is strict and pure; which values the API accepts is checked in `validate`,
//! where the field's meaning is known.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The unit of a `Period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodUnit {
    Day,
    Week,
    Month,
    Year,
}

impl PeriodUnit {
    fn name(self, plural: bool) -> &'static str {
        match (self, plural) {
            (PeriodUnit::Day, false) => "day",
            (PeriodUnit::Day, true) => "days",
            (PeriodUnit::Week, false) => "week",
            (PeriodUnit::Week, true) => "weeks",
            (PeriodUnit::Month, false) => "month",
            (PeriodUnit::Month, true) => "months",
            (PeriodUnit::Year, false) => "year",
            (PeriodUnit::Year, true) => "years",
        }
    }

    /// The API's spelling of this unit (`Week`, `Month`, `Year`); days have none.
    pub fn api_name(self) -> Option<&'static str> {
        match self {
            PeriodUnit::Day => None,
            PeriodUnit::Week => Some("Week"),
            PeriodUnit::Month => Some("Month"),
            PeriodUnit::Year => Some("Year"),
        }
    }
}

/// A count of calendar units, e.g. `30 days` or `1 year`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub count: u32,
    pub unit: PeriodUnit,
}

impl Period {
    pub const fn new(count: u32, unit: PeriodUnit) -> Period {
        Period { count, unit }
    }

    /// `ts` moved forward by this period, counted in the billing zone (UTC+8), so that months
    /// follow the calendar the way renewals do.
    pub fn after(self, ts: Timestamp) -> Option<Timestamp> {
        let n = i64::from(self.count);
        let span = match self.unit {
            PeriodUnit::Day => jiff::Span::new().try_days(n),
            PeriodUnit::Week => jiff::Span::new().try_weeks(n),
            PeriodUnit::Month => jiff::Span::new().try_months(n),
            PeriodUnit::Year => jiff::Span::new().try_years(n),
        }
        .ok()?;
        crate::time::add_in_billing_zone(ts, span)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.count, self.unit.name(self.count != 1))
    }
}

/// Why a duration string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeriodSyntaxError(pub String);

impl fmt::Display for PeriodSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a duration: write \"<number> <unit>\" with unit day(s), week(s), month(s) or year(s), e.g. \"30 days\" or \"1 year\"",
            self.0
        )
    }
}

impl FromStr for Period {
    type Err = PeriodSyntaxError;

    fn from_str(text: &str) -> Result<Period, PeriodSyntaxError> {
        let err = || PeriodSyntaxError(text.to_string());
        let mut words = text.split_whitespace();
        let (Some(number), Some(unit), None) = (words.next(), words.next(), words.next()) else {
            return Err(err());
        };
        if !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let count: u32 = number.parse().map_err(|_| err())?;
        let unit = match unit.to_ascii_lowercase().as_str() {
            "day" | "days" => PeriodUnit::Day,
            "week" | "weeks" => PeriodUnit::Week,
            "month" | "months" => PeriodUnit::Month,
            "year" | "years" => PeriodUnit::Year,
            _ => return Err(err()),
        };
        Ok(Period { count, unit })
    }
}

/// A duration as written in the file: the text, and the period when it parses. The parser keeps
/// a malformed duration instead of failing on it, so that `validate` can report it with its
/// field path alongside every other problem.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeriodField {
    pub text: String,
    pub parsed: Result<Period, PeriodSyntaxError>,
}

impl PeriodField {
    /// The period; `None` for a malformed one (which validation has refused).
    pub fn period(&self) -> Option<Period> {
        self.parsed.as_ref().ok().copied()
    }
}

impl From<Period> for PeriodField {
    fn from(period: Period) -> PeriodField {
        PeriodField {
            text: period.to_string(),
            parsed: Ok(period),
        }
    }
}

impl<'de> Deserialize<'de> for PeriodField {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<PeriodField, D::Error> {
        let text = String::deserialize(deserializer)?;
        let parsed = text.parse();
        Ok(PeriodField { text, parsed })
    }
}

impl Serialize for PeriodField {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_singular_plural_and_case() {
        assert_eq!("30 days".parse(), Ok(Period::new(30, PeriodUnit::Day)));
        assert_eq!("1 month".parse(), Ok(Period::new(1, PeriodUnit::Month)));
        assert_eq!("2  Weeks".parse(), Ok(Period::new(2, PeriodUnit::Week)));
        assert_eq!("1 YEAR".parse(), Ok(Period::new(1, PeriodUnit::Year)));
        assert_eq!(Period::new(1, PeriodUnit::Year).to_string(), "1 year");
        assert_eq!(Period::new(3, PeriodUnit::Month).to_string(), "3 months");
    }

    #[test]
    fn rejects_everything_else_with_the_expected_form() {
        for bad in [
            "",
            "30",
            "days",
            "30days",
            "-1 day",
            "+1 day",
            "1.5 months",
            "1 fortnight",
            "1 month 2 days",
            "99999999999 days",
        ] {
            let err = bad.parse::<Period>().unwrap_err();
            assert!(err.to_string().contains("<number> <unit>"), "{bad}: {err}");
        }
    }
}
