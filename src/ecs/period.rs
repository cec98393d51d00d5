//! The lengths the ECS API takes (ecs-api.md §3.4, §3.6; DESIGN.md §2; the values each site
//! accepts are in `site`): the `Duration`/`PeriodUnit` of ModifyInstanceAutoRenewAttribute, the
//! `Period`/`PeriodUnit` of RenewInstance, and the setting a status change sends. A renewal's new
//! period runs from the old expiry, counted in calendar units in UTC+8 (the billing zone).

use std::fmt;

use jiff::Timestamp;

use super::site::{Site, renew_months, renew_weeks};

/// A `PeriodUnit` of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodUnit {
    Week,
    Month,
    Year,
}

impl PeriodUnit {
    /// As the API writes it.
    pub fn as_api(self) -> &'static str {
        match self {
            PeriodUnit::Week => "Week",
            PeriodUnit::Month => "Month",
            PeriodUnit::Year => "Year",
        }
    }

    /// Reads a unit the way the API answers it: in any case (`Month`, `month`, `week`).
    pub fn from_api(text: &str) -> Option<PeriodUnit> {
        [PeriodUnit::Week, PeriodUnit::Month, PeriodUnit::Year]
            .into_iter()
            .find(|u| u.as_api().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for PeriodUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_api())
    }
}

/// `count` units after `ts`, in calendar units of the billing zone.
fn after(count: u32, unit: PeriodUnit, ts: Timestamp) -> Option<Timestamp> {
    let n = i64::from(count);
    let span = match unit {
        PeriodUnit::Week => jiff::Span::new().try_weeks(n),
        PeriodUnit::Month => jiff::Span::new().try_months(n),
        PeriodUnit::Year => jiff::Span::new().try_years(n),
    }
    .ok()?;
    crate::time::add_in_billing_zone(ts, span)
}

/// The `Period` and `PeriodUnit` of a RenewInstance: months (years are sent as 12, 24… months)
/// or weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RenewalPeriod {
    pub count: u32,
    pub unit: PeriodUnit,
}

impl RenewalPeriod {
    /// The expiry after renewing from `expiry`.
    pub fn after(self, expiry: Timestamp) -> Option<Timestamp> {
        after(self.count, self.unit, expiry)
    }

    /// The renewal lengths `site`'s API accepts (both sites' when `None`) that are whole
    /// multiples of `self` (a step), shortest first.
    pub fn multiples(self, site: Option<Site>) -> Vec<RenewalPeriod> {
        let allowed = match self.unit {
            PeriodUnit::Week => renew_weeks(site),
            _ => renew_months(site),
        };
        allowed
            .iter()
            .filter(|&&n| self.count > 0 && n % self.count == 0)
            .map(|&count| RenewalPeriod {
                count,
                unit: self.unit,
            })
            .collect()
    }
}

impl fmt::Display for RenewalPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.count, self.unit)
    }
}

/// The `Duration` and `PeriodUnit` of automatic renewal. `1 Year` and `12 Month` are different
/// settings (prices can differ): the unit is kept as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AutoRenewPeriod {
    pub duration: u32,
    pub unit: PeriodUnit,
}

impl AutoRenewPeriod {
    /// Whether the API's answer (`Duration`, `PeriodUnit` in any case) is this period.
    pub fn is(&self, duration: u32, unit: &str) -> bool {
        self.duration == duration && self.unit.as_api().eq_ignore_ascii_case(unit)
    }
}

impl fmt::Display for AutoRenewPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.duration, self.unit)
    }
}

/// What a ModifyInstanceAutoRenewAttribute call sets: `RenewalStatus`, and with `AutoRenewal`
/// its `Duration` and `PeriodUnit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AutoRenewSetting {
    /// `AutoRenewal`: renewed automatically by this period.
    Auto(AutoRenewPeriod),
    /// `Normal`: waits for a manual renewal.
    Manual,
    /// `NotRenewal`: released 15 days after expiry.
    Never,
}

impl AutoRenewSetting {
    /// The `RenewalStatus` it sends.
    pub fn status(&self) -> &'static str {
        match self {
            AutoRenewSetting::Auto(_) => "AutoRenewal",
            AutoRenewSetting::Manual => "Normal",
            AutoRenewSetting::Never => "NotRenewal",
        }
    }

    pub fn period(&self) -> Option<AutoRenewPeriod> {
        match self {
            AutoRenewSetting::Auto(period) => Some(*period),
            _ => None,
        }
    }
}

impl fmt::Display for AutoRenewSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AutoRenewSetting::Auto(period) => write!(f, "AutoRenewal (every {period})"),
            other => f.write_str(other.status()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_read_in_any_case() {
        assert_eq!(PeriodUnit::from_api("month"), Some(PeriodUnit::Month));
        assert_eq!(PeriodUnit::from_api("WEEK"), Some(PeriodUnit::Week));
        assert_eq!(PeriodUnit::from_api("fortnight"), None);
        let yearly = AutoRenewPeriod {
            duration: 1,
            unit: PeriodUnit::Year,
        };
        assert!(yearly.is(1, "year") && !yearly.is(12, "Month"));
    }

    #[test]
    fn multiples_are_accepted_lengths_of_the_step() {
        let counts = |count, unit| {
            RenewalPeriod { count, unit }
                .multiples(Some(Site::China))
                .iter()
                .map(|p| p.count)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            counts(3, PeriodUnit::Month),
            vec![3, 6, 9, 12, 24, 36, 48, 60]
        );
        assert_eq!(counts(2, PeriodUnit::Week), vec![2, 4]);
    }

    #[test]
    fn a_renewal_counts_calendar_months_in_beijing_time() {
        // 2027-01-31T16:00Z is Feb 1 00:00 in Beijing: a month later is Mar 1 00:00 Beijing.
        let from: Timestamp = "2027-01-31T16:00:00Z".parse().expect("time");
        let month = RenewalPeriod {
            count: 1,
            unit: PeriodUnit::Month,
        };
        assert_eq!(
            month.after(from).map(|t| t.to_string()).as_deref(),
            Some("2027-02-28T16:00:00Z")
        );
    }
}
