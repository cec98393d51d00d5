//! The file's durations as the ECS API takes them (ecs-api.md §3.4, §3.6; DESIGN.md §2): an
//! `auto_renew_period` as the `Duration`/`PeriodUnit` of automatic renewal, a `renew_period` as
//! the step of RenewInstance's `Period` (years sent as months), each refused with the list of
//! accepted values when the API would refuse it. The accepted values are the API's vocabulary
//! (`ecs::period`); `validate` checks them before any call, and the planner picks the smallest
//! renewal that satisfies `min_remaining` from them.

use std::fmt;

use super::period::{Period, PeriodUnit};
use crate::ecs::site::{
    AUTO_RENEW_MONTHS, AUTO_RENEW_YEARS, Site, auto_renew_weeks, renew_months, renew_weeks,
};
use crate::ecs::{AutoRenewPeriod, RenewalPeriod};

/// Why a duration is not accepted, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAccepted {
    pub why: String,
    pub fix: String,
    /// Set when the China site accepts it and the declared site (or none) does not.
    pub china_only: bool,
}

impl fmt::Display for NotAccepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.why)
    }
}

impl NotAccepted {
    fn never(why: String) -> NotAccepted {
        NotAccepted {
            why,
            fix: "pick one of the accepted values".to_string(),
            china_only: false,
        }
    }

    /// A value only the China site accepts, under `site` (not China).
    fn china_only(value: &str, site: Option<Site>, others: String) -> NotAccepted {
        let declared = match site {
            None => "this file declares no `site`, so only what both sites accept is allowed"
                .to_string(),
            Some(site) => format!("this file declares `site: {site}`"),
        };
        NotAccepted {
            why: format!(
                "{value} is accepted by {} only, and {declared}",
                Site::China.label()
            ),
            fix: format!(
                "if the account is on the China site, declare `site: china`; otherwise use {others}"
            ),
            china_only: true,
        }
    }
}

/// The API's unit for a unit of the file (days have none).
fn api_unit(unit: PeriodUnit) -> Option<crate::ecs::PeriodUnit> {
    match unit {
        PeriodUnit::Day => None,
        PeriodUnit::Week => Some(crate::ecs::PeriodUnit::Week),
        PeriodUnit::Month => Some(crate::ecs::PeriodUnit::Month),
        PeriodUnit::Year => Some(crate::ecs::PeriodUnit::Year),
    }
}

fn list(values: &[u32]) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The auto-renew period for `period` on `site` (both sites when `None`), or why it is not
/// accepted.
pub fn auto_renew_setting(
    period: Period,
    site: Option<Site>,
) -> Result<AutoRenewPeriod, NotAccepted> {
    let (allowed, unit) = match period.unit {
        PeriodUnit::Day => {
            return Err(NotAccepted::never(
                "auto-renewal is counted in weeks, months or years, not days".to_string(),
            ));
        }
        PeriodUnit::Week => (auto_renew_weeks(site), "weeks"),
        PeriodUnit::Month => (AUTO_RENEW_MONTHS, "months"),
        PeriodUnit::Year => (AUTO_RENEW_YEARS, "years"),
    };
    if let Some(unit) = api_unit(period.unit).filter(|_| allowed.contains(&period.count)) {
        return Ok(AutoRenewPeriod {
            duration: period.count,
            unit,
        });
    }
    if period.unit == PeriodUnit::Week
        && auto_renew_weeks(Some(Site::China)).contains(&period.count)
    {
        return Err(NotAccepted::china_only(
            &format!("a weekly auto-renew period ({period})"),
            site,
            "an auto-renew period in months (1, 2, 3, 6, 12…) or years".to_string(),
        ));
    }
    if period.unit == PeriodUnit::Week {
        return Err(NotAccepted::never(format!(
            "the API accepts an auto-renew period of {} weeks (China site only)",
            list(auto_renew_weeks(Some(Site::China)))
        )));
    }
    Err(NotAccepted::never(format!(
        "the API accepts an auto-renew period of {} {unit}",
        list(allowed)
    )))
}

/// The RenewInstance step for `period` on `site` (years become months), or why it is not
/// accepted.
pub fn renew_step(period: Period, site: Option<Site>) -> Result<RenewalPeriod, NotAccepted> {
    let (count, unit) = match period.unit {
        PeriodUnit::Day => {
            return Err(NotAccepted::never(
                "a renewal is counted in weeks, months or years, not days".to_string(),
            ));
        }
        PeriodUnit::Year => (period.count.saturating_mul(12), PeriodUnit::Month),
        unit => (period.count, unit),
    };
    let allowed = |site| match unit {
        PeriodUnit::Week => renew_weeks(site),
        _ => renew_months(site),
    };
    if let Some(api) = api_unit(unit).filter(|_| allowed(site).contains(&count)) {
        return Ok(RenewalPeriod { count, unit: api });
    }
    let years = renew_years(site);
    let others = format!(
        "{} months, or {} year{}",
        list(renew_months(site)),
        list(&years),
        if years.len() == 1 { "" } else { "s" }
    );
    if site != Some(Site::China) && allowed(Some(Site::China)).contains(&count) {
        let what = if unit == PeriodUnit::Week {
            format!("a renewal step of weeks ({period})")
        } else {
            format!("a renewal of {period}")
        };
        return Err(NotAccepted::china_only(&what, site, others));
    }
    if period.unit == PeriodUnit::Week {
        return Err(NotAccepted::never(format!(
            "the API renews by {} weeks (China site only)",
            list(renew_weeks(Some(Site::China)))
        )));
    }
    // Years are sent as months, so the accepted years are the whole years in that list.
    Err(NotAccepted::never(format!("the API renews by {others}")))
}

/// The whole years a renewal step may be on `site` (sent as 12, 24, … months).
pub fn renew_years(site: Option<Site>) -> Vec<u32> {
    renew_months(site)
        .iter()
        .filter(|&&m| m % 12 == 0)
        .map(|m| m / 12)
        .collect()
}

/// The longest watch window or charge horizon of `watch:`, in days: a year.
pub const MAX_WATCH_DAYS: u32 = 366;

/// The watch windows when `watch.windows` is not given, in days.
pub const DEFAULT_WINDOWS: [u32; 5] = [30, 14, 7, 3, 1];

/// The charge horizon when `watch.charges_within` is not given, in days.
pub const DEFAULT_CHARGES_WITHIN: u32 = 30;

/// The longest `min_remaining` accepted, as (days, weeks, months, years): 10 years, twice the
/// longest renewal (60 months). Longer is a typing mistake rather than a wish: reaching it would
/// take one renewal after another, one per apply.
pub const MIN_REMAINING_AT_MOST: (u32, u32, u32, u32) = (3653, 521, 120, 10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_renew_keeps_its_unit() {
        let china = Some(Site::China);
        let year = auto_renew_setting(Period::new(1, PeriodUnit::Year), None).unwrap();
        assert_eq!((year.duration, year.unit.as_api()), (1, "Year"));
        let months = auto_renew_setting(Period::new(12, PeriodUnit::Month), None).unwrap();
        assert_eq!((months.duration, months.unit.as_api()), (12, "Month"));
        let err = auto_renew_setting(Period::new(5, PeriodUnit::Month), china).unwrap_err();
        assert!(
            err.why.contains("1, 2, 3, 6, 12, 24, 36, 48, 60 months"),
            "{err}"
        );
        assert!(auto_renew_setting(Period::new(6, PeriodUnit::Year), china).is_err());
        assert!(auto_renew_setting(Period::new(30, PeriodUnit::Day), china).is_err());
        // Weekly auto-renewal: the China site only.
        assert!(auto_renew_setting(Period::new(2, PeriodUnit::Week), china).is_ok());
        for site in [None, Some(Site::International)] {
            let err = auto_renew_setting(Period::new(2, PeriodUnit::Week), site).unwrap_err();
            assert!(err.china_only, "{err}");
            assert!(err.fix.contains("`site: china`"), "{}", err.fix);
        }
    }

    #[test]
    fn renew_steps_in_years_become_months() {
        let china = Some(Site::China);
        let step = renew_step(Period::new(2, PeriodUnit::Year), china).unwrap();
        assert_eq!((step.count, step.unit.as_api()), (24, "Month"));
        let err = renew_step(Period::new(10, PeriodUnit::Month), china).unwrap_err();
        assert!(
            err.why
                .contains("9, 12, 24, 36, 48, 60 months, or 1, 2, 3, 4, 5 years"),
            "{err}"
        );
        let err = renew_step(Period::new(5, PeriodUnit::Week), china).unwrap_err();
        assert_eq!(
            err.why,
            "the API renews by 1, 2, 3, 4 weeks (China site only)"
        );
        assert!(renew_step(Period::new(6, PeriodUnit::Year), china).is_err());
        // Two years and weekly steps: the China site only.
        for site in [None, Some(Site::International)] {
            let err = renew_step(Period::new(2, PeriodUnit::Year), site).unwrap_err();
            assert!(err.china_only && err.why.contains("2 years"), "{err}");
            let err = renew_step(Period::new(1, PeriodUnit::Week), site).unwrap_err();
            assert!(err.china_only, "{err}");
            assert!(
                err.fix
                    .contains("1, 2, 3, 4, 5, 6, 7, 8, 9, 12 months, or 1 year"),
                "{}",
                err.fix
            );
        }
        let err = renew_step(Period::new(10, PeriodUnit::Month), None).unwrap_err();
        assert!(!err.china_only);
        assert_eq!(
            err.why,
            "the API renews by 1, 2, 3, 4, 5, 6, 7, 8, 9, 12 months, or 1 year"
        );
    }

    #[test]
    fn candidates_are_accepted_multiples_of_the_step() {
        let counts = |p: Period| {
            renew_step(p, Some(Site::China))
                .unwrap()
                .multiples(Some(Site::China))
                .iter()
                .map(|c| c.count)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            counts(Period::new(1, PeriodUnit::Month)),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36, 48, 60]
        );
        assert_eq!(
            counts(Period::new(3, PeriodUnit::Month)),
            vec![3, 6, 9, 12, 24, 36, 48, 60]
        );
        assert_eq!(
            counts(Period::new(1, PeriodUnit::Year)),
            vec![12, 24, 36, 48, 60]
        );
        assert_eq!(counts(Period::new(2, PeriodUnit::Week)), vec![2, 4]);
        // Without a site, never a renewal only the China site accepts.
        let both = renew_step(Period::new(3, PeriodUnit::Month), None)
            .unwrap()
            .multiples(None);
        assert_eq!(
            both.iter().map(|c| c.count).collect::<Vec<_>>(),
            vec![3, 6, 9, 12]
        );
    }
}
