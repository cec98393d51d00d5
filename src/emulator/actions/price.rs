//! DescribeRenewalPrice (ecs-api.md §3.5): what renewing one instance would cost, priced as the
//! instance's monthly price times the months asked for (`PriceUnit`, not `PeriodUnit`), in the
//! documented nested shape. No discounts are modelled: `TradePrice` equals `OriginalPrice`.

use jiff::Timestamp;
use serde_json::json;

use super::{region, round_price};
use crate::emulator::fleet::canonical;
use crate::emulator::params::Params;
use crate::emulator::state::World;
use crate::emulator::wire::{ApiError, Body};

pub(super) fn describe_renewal_price(
    world: &World,
    params: &Params,
    now: Timestamp,
) -> Result<Body, ApiError> {
    let region = region(world, params)?;
    let resource_id = params.required("ResourceId")?;
    if let Some(kind) = params.optional("ResourceType")
        && kind != "instance"
    {
        return Err(ApiError::invalid_parameter("ResourceType", kind));
    }
    let unit = params.optional("PriceUnit").unwrap_or("Month");
    let unit = canonical(unit, &["Month", "Year"])
        .ok_or_else(|| ApiError::invalid_parameter("PriceUnit", unit))?;
    let period = params.integer("Period")?;
    let day = params.integer("ExpectedRenewDay")?;
    if day.is_some() && (period.is_some() || params.optional("PriceUnit").is_some()) {
        return Err(ApiError::new(
            400,
            "InvalidParameter",
            "ExpectedRenewDay cannot be combined with Period and PriceUnit; send one or the other.",
        ));
    }
    let instance = world
        .find(resource_id, now)
        .filter(|i| &*i.region == region)
        .ok_or_else(|| ApiError::instance_not_found(resource_id))?;
    if !instance.is_prepaid() {
        return Err(ApiError::charge_type_violation());
    }
    let months = match day {
        Some(day) if (1..=28).contains(&day) => {
            // Up to the next such day: priced pro rata on a 30-day month.
            let old = instance.expired_time.unwrap_or(now);
            let days = (1..=62)
                .find(|d| {
                    crate::emulator::clock::add_days(old, *d).is_some_and(|t| {
                        i64::from(crate::emulator::clock::billing_day_of_month(t)) == day
                    })
                })
                .unwrap_or(30);
            days as f64 / 30.0
        }
        Some(day) => {
            return Err(ApiError::invalid_parameter(
                "ExpectedRenewDay",
                &day.to_string(),
            ));
        }
        None => {
            let period = period.unwrap_or(1);
            let allowed = if unit == "Year" { 1..=3 } else { 1..=9 };
            if !allowed.contains(&period) {
                return Err(ApiError::new(
                    400,
                    "InvalidPeriod",
                    format!(
                        "The specified period is not valid. Period {period} is not allowed with PriceUnit {unit}; use {}.",
                        if unit == "Year" { "1-3" } else { "1-9" }
                    ),
                ));
            }
            let per_unit = if unit == "Year" { 12.0 } else { 1.0 };
            period as f64 * per_unit
        }
    };
    let price = round_price(instance.monthly_price * months);
    let money = |amount: f64| json!({ "OriginalPrice": amount, "DiscountPrice": 0.0, "TradePrice": amount });
    let mut detail = money(price);
    detail["Resource"] = json!("instanceType");
    detail["SubRules"] = json!({ "Rule": [] });
    let mut total = money(price);
    total["Currency"] = json!(world.site.currency());
    total["DetailInfos"] = json!({ "DetailInfo": [detail] });
    Ok(Body::of(&json!({
        "PriceInfo": {
            "Price": total,
            "Rules": { "Rule": [] },
            "RelatedPrice": {
                "MarketplaceImagePrice": { "OriginalPrice": 0.0, "DiscountPrice": 0.0, "TradePrice": 0.0, "Currency": world.site.currency() },
            },
        },
    })))
}

#[cfg(test)]
mod tests {
    use crate::emulator::actions::test_support::*;

    #[test]
    fn price_is_the_monthly_price_times_the_months() {
        let w = world();
        let hz = ("RegionId", "cn-hangzhou");
        let one = ok(&w, "DescribeRenewalPrice", &[hz, ("ResourceId", "i-db1")]);
        assert_eq!(one["PriceInfo"]["Price"]["TradePrice"], 100.0);
        assert_eq!(one["PriceInfo"]["Price"]["Currency"], "CNY");
        assert_eq!(
            one["PriceInfo"]["Price"]["DetailInfos"]["DetailInfo"][0]["TradePrice"],
            100.0
        );
        let three = ok(
            &w,
            "DescribeRenewalPrice",
            &[hz, ("ResourceId", "i-db1"), ("Period", "3")],
        );
        assert_eq!(three["PriceInfo"]["Price"]["OriginalPrice"], 300.0);
        let year = ok(
            &w,
            "DescribeRenewalPrice",
            &[
                hz,
                ("ResourceId", "i-db1"),
                ("Period", "1"),
                ("PriceUnit", "Year"),
            ],
        );
        assert_eq!(year["PriceInfo"]["Price"]["TradePrice"], 1200.0);
    }

    #[test]
    fn refusals() {
        let w = world();
        let hz = ("RegionId", "cn-hangzhou");
        for (query, expected) in [
            (vec![hz], (400, "MissingParameter")),
            (
                vec![hz, ("ResourceId", "i-nope")],
                (404, "InvalidInstanceId.NotFound"),
            ),
            (
                vec![hz, ("ResourceId", "i-payg")],
                (403, "ChargeTypeViolation"),
            ),
            (
                vec![hz, ("ResourceId", "i-db1"), ("Period", "10")],
                (400, "InvalidPeriod"),
            ),
            (
                vec![
                    hz,
                    ("ResourceId", "i-db1"),
                    ("Period", "4"),
                    ("PriceUnit", "Year"),
                ],
                (400, "InvalidPeriod"),
            ),
            (
                vec![hz, ("ResourceId", "i-db1"), ("PriceUnit", "Week")],
                (400, "InvalidParameter"),
            ),
        ] {
            assert_eq!(
                err(&w, "DescribeRenewalPrice", &query),
                (expected.0, expected.1.to_owned()),
                "{query:?}"
            );
        }
    }
}
