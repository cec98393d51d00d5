//! The file's durations as the ECS API takes them (ecs-api.md §3.4, §3.6; DESIGN.md §2): an
//! `auto_renew_period` as the `Duration`/`PeriodUnit` of automatic renewal, a `renew_period` as
//! the step of RenewInstance's `Period` (years sent as months), each refused with the list of
//! accepted values when the API would refuse it. The accepted values are the API's vocabulary
//! (`ecs::period`); `validate` checks them before any call, and the planner picks the smallest
//! renewal that satisfies `min_remaining` from them.

use super::period::{Period, PeriodUnit};
use crate::ecs::period::{
    AUTO_RENEW_MONTHS, AUTO_RENEW_WEEKS, AUTO_RENEW_YEARS, RENEW_MONTHS, RENEW_WEEKS,
};
use crate::ecs::{AutoRenewPeriod, RenewalPeriod};

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

/// The auto-renew period for `period`, or the reason it is not accepted.
pub fn auto_renew_setting(period: Period) -> Result<AutoRenewPeriod, String> {
    let (allowed, unit) = match period.unit {
        PeriodUnit::Day => {
            return Err("auto-renewal is counted in weeks, months or years, not days".to_string());
        }
        PeriodUnit::Week => (AUTO_RENEW_WEEKS, "weeks"),
        PeriodUnit::Month => (AUTO_RENEW_MONTHS, "months"),
        PeriodUnit::Year => (AUTO_RENEW_YEARS, "years"),
    };
    match api_unit(period.unit).filter(|_| allowed.contains(&period.count)) {
        Some(unit) => Ok(AutoRenewPeriod {
            duration: period.count,
            unit,
        }),
        None => Err(format!(
            "the API accepts an auto-renew period of {} {unit}",
            list(allowed)
        )),
    }
}

/// The RenewInstance step for `period` (years become months), or the reason it is not accepted.
pub fn renew_step(period: Period) -> Result<RenewalPeriod, String> {
    let (count, unit) = match period.unit {
        PeriodUnit::Day => {
            return Err("a renewal is counted in weeks, months or years, not days".to_string());
        }
        PeriodUnit::Year => (period.count.saturating_mul(12), PeriodUnit::Month),
        unit => (period.count, unit),
    };
    let allowed = match unit {
        PeriodUnit::Week => RENEW_WEEKS,
        _ => RENEW_MONTHS,
    };
    match api_unit(unit).filter(|_| allowed.contains(&count)) {
        Some(unit) => Ok(RenewalPeriod { count, unit }),
        None if period.unit == PeriodUnit::Week => {
            Err(format!("the API renews by {} weeks", list(RENEW_WEEKS)))
        }
        // Years are sent as months, so the accepted years are the whole years in that list.
        None => Err(format!(
            "the API renews by {} months, or {} years",
            list(RENEW_MONTHS),
            list(&renew_years())
        )),
    }
}

/// The whole years a renewal step may be (sent as 12, 24, … months).
pub fn renew_years() -> Vec<u32> {
    RENEW_MONTHS
        .iter()
        .filter(|&&m| m % 12 == 0)
        .map(|m| m / 12)
        .collect()
}

/// The longest `min_remaining` accepted, as (days, weeks, months, years): 10 years, twice the
/// longest renewal (60 months). Longer is a typing mistake rather than a wish: reaching it would
/// take one renewal after another, one per apply.
pub const MIN_REMAINING_AT_MOST: (u32, u32, u32, u32) = (3653, 521, 120, 10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_renew_keeps_its_unit() {
        let year = auto_renew_setting(Period::new(1, PeriodUnit::Year)).unwrap();
        assert_eq!((year.duration, year.unit.as_api()), (1, "Year"));
        let months = auto_renew_setting(Period::new(12, PeriodUnit::Month)).unwrap();
        assert_eq!((months.duration, months.unit.as_api()), (12, "Month"));
        let err = auto_renew_setting(Period::new(5, PeriodUnit::Month)).unwrap_err();
        assert!(
            err.contains("1, 2, 3, 6, 12, 24, 36, 48, 60 months"),
            "{err}"
        );
        assert!(auto_renew_setting(Period::new(6, PeriodUnit::Year)).is_err());
        assert!(auto_renew_setting(Period::new(30, PeriodUnit::Day)).is_err());
    }

    #[test]
    fn renew_steps_in_years_become_months() {
        let step = renew_step(Period::new(2, PeriodUnit::Year)).unwrap();
        assert_eq!((step.count, step.unit.as_api()), (24, "Month"));
        let err = renew_step(Period::new(10, PeriodUnit::Month)).unwrap_err();
        assert!(
            err.contains("9, 12, 24, 36, 48, 60 months, or 1, 2, 3, 4, 5 years"),
            "{err}"
        );
        let err = renew_step(Period::new(5, PeriodUnit::Week)).unwrap_err();
        assert_eq!(err, "the API renews by 1, 2, 3, 4 weeks");
        assert!(renew_step(Period::new(6, PeriodUnit::Year)).is_err());
        assert!(renew_step(Period::new(5, PeriodUnit::Week)).is_err());
    }

    #[test]
    fn candidates_are_accepted_multiples_of_the_step() {
        let counts = |p: Period| {
            renew_step(p)
                .unwrap()
                .multiples()
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
    }
}
