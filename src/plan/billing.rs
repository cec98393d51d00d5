//! When ECS charges an automatic renewal (ecs-api.md §6): from some days before expiry (nine on
//! the China site and the API page, three on the international site's own page: `ecs::site`),
//! at 08:00 China time (UTC+8), retried daily until expiry; an auto-renewal turned on takes
//! effect the next day. Pure.

use jiff::civil::Time;
use jiff::{Timestamp, ToSpan};

use crate::ecs::site::ChargeRule;
use crate::time::billing_zone;

/// Less than this before expiry, turning auto-renewal on comes too late to be relied on.
pub const TOO_LATE_HOURS: i64 = 48;

/// The first automatic renewal charge for an instance expiring at `expiry` whose auto-renewal
/// is on from `enabled_at`: 08:00 UTC+8, `rule.days_before` days before the expiry date, but
/// not before 08:00 the day after enabling. `None` when no attempt falls before expiry (the
/// instance would stop first).
pub fn first_deduction(
    expiry: Timestamp,
    enabled_at: Timestamp,
    rule: ChargeRule,
) -> Option<Timestamp> {
    let zone = billing_zone();
    let eight = Time::constant(8, 0, 0, 0);
    let nominal = expiry
        .to_zoned(zone.clone())
        .date()
        .checked_sub(rule.days_before.days())
        .ok()?
        .to_datetime(eight)
        .to_zoned(zone.clone())
        .ok()?
        .timestamp();
    let effective = enabled_at
        .to_zoned(zone.clone())
        .date()
        .checked_add(1.day())
        .ok()?
        .to_datetime(eight)
        .to_zoned(zone)
        .ok()?
        .timestamp();
    let first = nominal.max(effective);
    (first < expiry).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::Site;
    use crate::ecs::site::charge_rule;
    use crate::time::{format_api, parse_api};

    fn at(text: &str) -> Timestamp {
        parse_api(text).expect("time")
    }

    #[test]
    fn nine_days_before_the_expiry_date_at_eight_beijing_time() {
        // Expiry 2027-01-20 00:00 Beijing (= 2027-01-19T16:00Z): charged 2027-01-11 08:00
        // Beijing = 2027-01-11T00:00Z.
        let first = first_deduction(
            at("2027-01-19T16:00Z"),
            at("2026-11-23T12:00Z"),
            charge_rule(None),
        );
        assert_eq!(first.map(format_api).as_deref(), Some("2027-01-11T00:00Z"));
    }

    #[test]
    fn inside_the_nine_days_the_first_charge_is_the_next_morning() {
        // Enabled 2026-11-23 20:00 UTC (= 11-24 04:00 Beijing): first attempt 11-25 08:00
        // Beijing = 11-25T00:00Z, before the 11-27 expiry.
        let first = first_deduction(
            at("2026-11-27T16:00Z"),
            at("2026-11-23T20:00Z"),
            charge_rule(None),
        );
        assert_eq!(first.map(format_api).as_deref(), Some("2026-11-25T00:00Z"));
    }

    #[test]
    fn too_late_when_expiry_comes_before_the_first_attempt() {
        // Enabled 11-23 20:00 Beijing; the first attempt would be 11-24 08:00 Beijing, after
        // the 11-24 07:00 Beijing expiry.
        assert_eq!(
            first_deduction(
                at("2026-11-23T23:00Z"),
                at("2026-11-23T12:00Z"),
                charge_rule(None)
            ),
            None
        );
    }

    #[test]
    fn the_international_site_charges_three_days_before() {
        // Expiry 2027-01-20 00:00 Beijing: charged 2027-01-17 08:00 Beijing = 2027-01-17T00:00Z.
        let rule = Site::International.charge_rule();
        let first = first_deduction(at("2027-01-19T16:00Z"), at("2026-11-23T12:00Z"), rule);
        assert_eq!(first.map(format_api).as_deref(), Some("2027-01-17T00:00Z"));
    }
}
