//! The values the ECS API accepts for auto-renew periods and renewal steps (ecs-api.md §3.4,
//! §3.6; DESIGN.md §2). Checked by `validate` before any call, and used by the planner to pick
//! the smallest renewal that satisfies `min_remaining`.

use super::period::{Period, PeriodUnit};

/// ModifyInstanceAutoRenewAttribute `Duration` values per `PeriodUnit`.
pub const AUTO_RENEW_MONTHS: &[u32] = &[1, 2, 3, 6, 12, 24, 36, 48, 60];
pub const AUTO_RENEW_YEARS: &[u32] = &[1, 2, 3, 4, 5];
pub const AUTO_RENEW_WEEKS: &[u32] = &[1, 2, 3, 4];

/// RenewInstance `Period` values per `PeriodUnit` (it has no Year unit: years are sent as months).
pub const RENEW_MONTHS: &[u32] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36, 48, 60];
pub const RENEW_WEEKS: &[u32] = &[1, 2, 3, 4];

/// A period as the API takes it: a count and `Week`, `Month` or `Year`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiPeriod {
    pub count: u32,
    pub unit: PeriodUnit,
}

impl ApiPeriod {
    pub fn unit_name(self) -> &'static str {
        self.unit.api_name().unwrap_or("Month")
    }

    /// The same length as a `Period`, for calendar arithmetic.
    pub fn as_period(self) -> Period {
        Period::new(self.count, self.unit)
    }
}

fn list(values: &[u32]) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The auto-renew setting for `period`, or the reason it is not accepted.
pub fn auto_renew_setting(period: Period) -> Result<ApiPeriod, String> {
    let (allowed, unit) = match period.unit {
        PeriodUnit::Day => {
            return Err("auto-renewal is counted in weeks, months or years, not days".to_string());
        }
        PeriodUnit::Week => (AUTO_RENEW_WEEKS, "weeks"),
        PeriodUnit::Month => (AUTO_RENEW_MONTHS, "months"),
        PeriodUnit::Year => (AUTO_RENEW_YEARS, "years"),
    };
    if allowed.contains(&period.count) {
        Ok(ApiPeriod {
            count: period.count,
            unit: period.unit,
        })
    } else {
        Err(format!(
            "the API accepts an auto-renew period of {} {unit}",
            list(allowed)
        ))
    }
}

/// The RenewInstance step for `period` (years become months), or the reason it is not accepted.
pub fn renew_step(period: Period) -> Result<ApiPeriod, String> {
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
    if allowed.contains(&count) {
        Ok(ApiPeriod { count, unit })
    } else if period.unit == PeriodUnit::Week {
        Err(format!("the API renews by {} weeks", list(RENEW_WEEKS)))
    } else {
        // Years are sent as months, so the accepted years are the whole years in that list.
        Err(format!(
            "the API renews by {} months, or {} years",
            list(RENEW_MONTHS),
            list(&renew_years())
        ))
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

/// The renewal lengths the API accepts that are whole multiples of `step`, shortest first.
pub fn renew_candidates(step: ApiPeriod) -> Vec<ApiPeriod> {
    let allowed = match step.unit {
        PeriodUnit::Week => RENEW_WEEKS,
        _ => RENEW_MONTHS,
    };
    allowed
        .iter()
        .filter(|&&n| step.count > 0 && n % step.count == 0)
        .map(|&count| ApiPeriod {
            count,
            unit: step.unit,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_renew_keeps_its_unit() {
        let year = auto_renew_setting(Period::new(1, PeriodUnit::Year)).unwrap();
        assert_eq!((year.count, year.unit_name()), (1, "Year"));
        let months = auto_renew_setting(Period::new(12, PeriodUnit::Month)).unwrap();
        assert_eq!((months.count, months.unit_name()), (12, "Month"));
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
        assert_eq!((step.count, step.unit_name()), (24, "Month"));
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
            renew_candidates(renew_step(p).unwrap())
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
