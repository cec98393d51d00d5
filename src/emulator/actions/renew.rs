//! RenewInstance (ecs-api.md §3.6): pays for one more period of one subscription instance. The
//! new period starts at the old expiry and is counted in calendar months or weeks in UTC+8; an
//! expired instance comes back to life. It is the one action that spends money, so ClientToken
//! idempotency is exact: the same token with the same parameters gets the original answer
//! (same `OrderId`) and renews nothing; with other parameters it is refused.
//!
//! The instance may live in any region (the action has no `RegionId`; the legacy SDK sends one
//! anyway, and then it must match). A token is also remembered when its attempt did not renew
//! (refused for the instance's status, a lock, the balance, or the period): whether ECS does so
//! is undocumented (ecs-api.md §10), and the emulator models the harsher case. The same request
//! again is carried out afresh; another request with that token is refused as a mismatch, so a
//! client must not rely on a failed attempt freeing its token.
//!
//! The account's balance (`balance:` in the fleet) pays for renewals; when it is short the
//! renewal is refused with `InvalidAccountStatus.NotEnoughBalance`.

use jiff::Timestamp;

use super::{Effect, Outcome, round_price};
use crate::emulator::clock::{add_calendar, add_days, billing_day_of_month};
use crate::emulator::fleet::{EmulatedSite, canonical};
use crate::emulator::params::Params;
use crate::emulator::state::{TokenRecord, World};
use crate::emulator::stats::LedgerEntry;
use crate::emulator::wire::{ApiError, Body, quote_value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    Months(i64),
    Weeks(i64),
    /// Up to the next occurrence of this day of the month (the unified expiry day).
    UntilDay(i64),
}

pub(super) fn renew_instance(world: &mut World, params: &Params, now: Timestamp) -> Outcome {
    let id = params.required("InstanceId")?.to_owned();
    let token = params
        .optional("ClientToken")
        .map(check_token)
        .transpose()?;
    // "The same parameters" are the request's own: the instance and the term as sent.
    let fingerprint = format!(
        "{id}|{}|{}|{}",
        params.optional("Period").unwrap_or_default(),
        params.optional("PeriodUnit").unwrap_or_default(),
        params.optional("ExpectedRenewDay").unwrap_or_default()
    );

    if let Some(token) = token
        && let Some(record) = world.tokens.get(token)
    {
        if record.fingerprint != fingerprint {
            // The current error table's name (older pages: IdempotentParameterMismatch).
            return Err(ApiError::new(
                400,
                "IdempotenceParamNotMatch",
                "The request uses the same client token as a previous, but non-identical request.",
            ));
        }
        if let Some(order_id) = &record.order_id {
            return Ok((order(order_id), Effect::default()));
        }
        // The same parameters as an attempt that did not renew: carried out afresh.
    }

    let attempt = attempt_renewal(world, &id, params, now);
    if let Some(token) = token {
        world.tokens.insert(
            token.to_owned(),
            TokenRecord {
                fingerprint,
                order_id: attempt.as_ref().ok().map(|done| done.order_id.clone()),
            },
        );
    }
    let done = attempt?;
    Ok((
        order(&done.order_id),
        Effect {
            renewed: Some(LedgerEntry {
                instance_id: id,
                shown_from: done.shown_from,
                from: done.from,
                to: done.to,
                token: token.map(str::to_owned),
                order_id: done.order_id,
            }),
            modified: false,
        },
    ))
}

/// A renewal carried out.
struct Renewed {
    order_id: String,
    /// The expiry reads showed when it was asked for (the old one while a renewal lags).
    shown_from: Option<Timestamp>,
    from: Timestamp,
    to: Timestamp,
}

/// Renews `id` for the term `params` ask for, paying from the balance, or says why not.
fn attempt_renewal(
    world: &mut World,
    id: &str,
    params: &Params,
    now: Timestamp,
) -> Result<Renewed, ApiError> {
    let term = term(params, world.site)?;
    let balance = world.balance;
    let instance = world
        .find_mut(id, now)
        .filter(|i| params.optional("RegionId").is_none_or(|r| r == &*i.region))
        .ok_or_else(|| ApiError::instance_not_found(id))?;
    instance.may_change()?;
    if !instance.is_prepaid() {
        return Err(ApiError::charge_type_violation());
    }
    if instance.renewal_status == "NotRenewal" {
        return Err(ApiError::incorrect_instance_status(
            "The instance is set to NotRenewal: set RenewalStatus to Normal or AutoRenewal before renewing it.",
        ));
    }
    let Some(old) = instance.expired_time else {
        return Err(ApiError::charge_type_violation());
    };
    let new = match term {
        Term::Months(n) => add_calendar(old, n, 0),
        Term::Weeks(n) => add_calendar(old, 0, n),
        Term::UntilDay(day) => (1..=62)
            .filter_map(|d| add_days(old, d))
            .find(|t| i64::from(billing_day_of_month(*t)) == day),
    }
    .ok_or_else(|| {
        ApiError::new(
            400,
            "InvalidPeriod",
            "The renewal would run past the supported date range.",
        )
    })?;
    // Priced like DescribeRenewalPrice: the monthly price per month, a quarter of it per week.
    let price = round_price(
        instance.monthly_price
            * match term {
                Term::Months(n) => n as f64,
                Term::Weeks(n) => n as f64 / 4.0,
                Term::UntilDay(_) => 1.0,
            },
    );
    if let Some(available) = balance
        && available + 1e-9 < price
    {
        return Err(ApiError::new(
            403,
            "InvalidAccountStatus.NotEnoughBalance",
            format!(
                "Your account does not have enough balance: the renewal costs {price:.2}, the balance is {available:.2}."
            ),
        ));
    }
    let was_expired = instance.is_expired(now);
    let shown_from = instance.shown_expired_time();
    instance.expired_time = Some(new);
    if was_expired {
        // Paying the arrears lifts the financial lock and starts the instance again.
        instance.status = "Running".into();
    }
    if let Some(available) = balance {
        world.balance = Some(round_price(available - price));
    }
    Ok(Renewed {
        order_id: world.next_order_id(),
        shown_from,
        from: old,
        to: new,
    })
}

fn order(order_id: &str) -> Body {
    Body::of(&serde_json::json!({ "OrderId": order_id }))
}

/// A ClientToken is at most 64 ASCII characters (ecs-api.md §3.6).
fn check_token(token: &str) -> Result<&str, ApiError> {
    if token.len() <= 64 && token.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        Ok(token)
    } else {
        Err(ApiError::new(
            400,
            "InvalidClientToken.ValueNotSupported",
            format!(
                "The specified parameter ClientToken is not valid: {}; use at most 64 ASCII characters.",
                quote_value(token)
            ),
        ))
    }
}

/// `Period` + `PeriodUnit` (Month by default), or `ExpectedRenewDay` 1-28, never both, with
/// the codes of the current error table (ecs-api.md §3.6): neither → `InvalidPeriod.NotFound`,
/// both → `InvalidExpectedRenewDay.Conflict`, a unit the site has not →
/// `InvalidPeriodUnit.ValueNotSupported`. The China site takes Month 1-9, 12, 24, 36, 48, 60
/// and Week 1-4; the international site Month 1-9 or 12 only.
fn term(params: &Params, site: EmulatedSite) -> Result<Term, ApiError> {
    let period = params.integer("Period").map_err(|_| {
        invalid_period(&format!(
            "Period {} is not a number.",
            quote_value(params.get("Period").unwrap_or_default())
        ))
    })?;
    let unit = params.optional("PeriodUnit");
    let day = params.integer("ExpectedRenewDay")?;
    match (period, day) {
        (Some(_), Some(_)) => Err(ApiError::new(
            400,
            "InvalidExpectedRenewDay.Conflict",
            "ExpectedRenewDay cannot be combined with Period and PeriodUnit; send one or the other.",
        )),
        (None, None) => Err(ApiError::new(
            400,
            "InvalidPeriod.NotFound",
            "Period or ExpectedRenewDay must be specified.",
        )),
        (None, Some(day)) if unit.is_none() && (1..=28).contains(&day) => Ok(Term::UntilDay(day)),
        (None, Some(day)) => Err(ApiError::invalid_parameter(
            "ExpectedRenewDay",
            &day.to_string(),
        )),
        (Some(period), None) => {
            let units: &[&str] = if site.has_weeks() {
                &["Month", "Week"]
            } else {
                &["Month"]
            };
            match canonical(unit.unwrap_or("Month"), units) {
                Some("Week") if (1..=4).contains(&period) => Ok(Term::Weeks(period)),
                Some("Week") => Err(invalid_period(&format!(
                    "Period {period} is not allowed with PeriodUnit Week; use 1, 2, 3 or 4."
                ))),
                Some(_) if site.renews_months(period) => Ok(Term::Months(period)),
                Some(_) => Err(invalid_period(&format!(
                    "Period {period} is not allowed with PeriodUnit Month on this site; use {}.",
                    if site.has_weeks() {
                        "1-9, 12, 24, 36, 48 or 60"
                    } else {
                        "1-9 or 12"
                    }
                ))),
                None => Err(ApiError::new(
                    400,
                    "InvalidPeriodUnit.ValueNotSupported",
                    format!(
                        "The specified parameter PeriodUnit is not valid: {}; use {} on this site (a year is Period 12, Month).",
                        quote_value(unit.unwrap_or_default()),
                        units.join(" or ")
                    ),
                )),
            }
        }
    }
}

fn invalid_period(detail: &str) -> ApiError {
    ApiError::new(
        400,
        "InvalidPeriod",
        format!("The specified period is not valid. {detail}"),
    )
}

#[cfg(test)]
mod tests {
    use crate::emulator::actions::test_support::*;
    use crate::emulator::clock::format_minute;

    fn expiry(w: &std::sync::RwLock<crate::emulator::state::World>, id: &str) -> String {
        let w = w.read().expect("lock");
        format_minute(
            w.find(id, now())
                .and_then(|i| i.expired_time)
                .expect("prepaid"),
        )
    }

    #[test]
    fn renewing_moves_expiry_by_calendar_months_in_beijing_time() {
        let w = world();
        // 2027-01-31T16:00Z is Feb 1 00:00 in Beijing: one month later is Mar 1 00:00 Beijing.
        let (body, effect) = call(
            &w,
            "RenewInstance",
            &[("InstanceId", "i-db1"), ("Period", "1")],
        )
        .expect("renewed");
        assert_eq!(expiry(&w, "i-db1"), "2027-02-28T16:00Z");
        assert!(
            body.to_value()["OrderId"]
                .as_str()
                .is_some_and(|o| o.len() >= 10 && o.bytes().all(|b| b.is_ascii_digit()))
        );
        assert_eq!(
            effect.renewed.map(|r| r.instance_id).as_deref(),
            Some("i-db1")
        );
        call(
            &w,
            "RenewInstance",
            &[
                ("InstanceId", "i-db1"),
                ("Period", "2"),
                ("PeriodUnit", "week"),
            ],
        )
        .expect("renewed");
        assert_eq!(expiry(&w, "i-db1"), "2027-03-14T16:00Z");
        call(
            &w,
            "RenewInstance",
            &[("InstanceId", "i-db1"), ("ExpectedRenewDay", "5")],
        )
        .expect("renewed");
        assert_eq!(expiry(&w, "i-db1"), "2027-04-04T16:00Z");
    }

    #[test]
    fn an_expired_instance_comes_back() {
        let w = world();
        call(
            &w,
            "RenewInstance",
            &[
                ("InstanceId", "i-old"),
                ("Period", "1"),
                ("RegionId", "cn-hangzhou"),
            ],
        )
        .expect("renewed");
        let w = w.read().expect("lock");
        let old = w.find("i-old", now()).expect("present");
        assert!(!old.is_expired(now()));
        assert_eq!(old.status(now()), "Running");
    }

    #[test]
    fn a_client_token_renews_once() {
        let w = world();
        let first = [
            ("InstanceId", "i-web1"),
            ("Period", "1"),
            ("ClientToken", "tok-1"),
        ];
        let (a, effect_a) = call(&w, "RenewInstance", &first).expect("renewed");
        let after_first = expiry(&w, "i-web1");
        let (b, effect_b) = call(&w, "RenewInstance", &first).expect("replayed");
        assert_eq!(a.to_value()["OrderId"], b.to_value()["OrderId"]);
        assert!(effect_a.renewed.is_some());
        assert_eq!(effect_b.renewed, None, "no money spent on the replay");
        assert_eq!(expiry(&w, "i-web1"), after_first);
        assert_eq!(
            err(
                &w,
                "RenewInstance",
                &[
                    ("InstanceId", "i-web1"),
                    ("Period", "2"),
                    ("ClientToken", "tok-1")
                ]
            ),
            (400, "IdempotenceParamNotMatch".to_owned())
        );
        // A token is not consumed by a failed request.
        assert!(
            call(
                &w,
                "RenewInstance",
                &[
                    ("InstanceId", "i-never"),
                    ("Period", "1"),
                    ("ClientToken", "tok-2")
                ]
            )
            .is_err()
        );
        ok(
            &w,
            "ModifyInstanceAutoRenewAttribute",
            &[
                ("RegionId", "cn-hangzhou"),
                ("InstanceId", "i-never"),
                ("RenewalStatus", "Normal"),
            ],
        );
        assert!(
            call(
                &w,
                "RenewInstance",
                &[
                    ("InstanceId", "i-never"),
                    ("Period", "1"),
                    ("ClientToken", "tok-2")
                ]
            )
            .is_ok()
        );
    }

    #[test]
    fn refusals_use_the_real_codes() {
        let w = world();
        let long = "x".repeat(65);
        for (query, expected) in [
            (vec![("Period", "1")], (400, "MissingParameter")),
            (
                vec![("InstanceId", "i-nope"), ("Period", "1")],
                (404, "InvalidInstanceId.NotFound"),
            ),
            (
                vec![("InstanceId", "i-web1,i-db1"), ("Period", "1")],
                (404, "InvalidInstanceId.NotFound"),
            ),
            (
                vec![
                    ("InstanceId", "i-web1"),
                    ("Period", "1"),
                    ("RegionId", "cn-shanghai"),
                ],
                (404, "InvalidInstanceId.NotFound"),
            ),
            (
                vec![("InstanceId", "i-payg"), ("Period", "1")],
                (403, "ChargeTypeViolation"),
            ),
            (
                vec![("InstanceId", "i-never"), ("Period", "1")],
                (403, "IncorrectInstanceStatus"),
            ),
            (
                vec![("InstanceId", "i-web1"), ("Period", "10")],
                (400, "InvalidPeriod"),
            ),
            (
                vec![
                    ("InstanceId", "i-web1"),
                    ("Period", "5"),
                    ("PeriodUnit", "Week"),
                ],
                (400, "InvalidPeriod"),
            ),
            (
                vec![
                    ("InstanceId", "i-web1"),
                    ("Period", "1"),
                    ("PeriodUnit", "Year"),
                ],
                (400, "InvalidPeriodUnit.ValueNotSupported"),
            ),
            (
                vec![("InstanceId", "i-web1"), ("Period", "x")],
                (400, "InvalidPeriod"),
            ),
            (
                vec![("InstanceId", "i-web1")],
                (400, "InvalidPeriod.NotFound"),
            ),
            (
                vec![
                    ("InstanceId", "i-web1"),
                    ("Period", "1"),
                    ("ExpectedRenewDay", "3"),
                ],
                (400, "InvalidExpectedRenewDay.Conflict"),
            ),
            (
                vec![
                    ("InstanceId", "i-web1"),
                    ("Period", "1"),
                    ("ClientToken", "令牌"),
                ],
                (400, "InvalidClientToken.ValueNotSupported"),
            ),
            (
                vec![
                    ("InstanceId", "i-web1"),
                    ("Period", "1"),
                    ("ClientToken", long.as_str()),
                ],
                (400, "InvalidClientToken.ValueNotSupported"),
            ),
        ] {
            assert_eq!(
                err(&w, "RenewInstance", &query),
                (expected.0, expected.1.to_owned()),
                "{query:?}"
            );
        }
        assert_eq!(expiry(&w, "i-web1"), "2026-12-01T16:00Z", "nothing renewed");
    }

    #[test]
    fn a_token_of_an_attempt_that_did_not_renew_refuses_other_parameters() {
        let w = world();
        w.write().expect("lock").balance = Some(50.0);
        let one = [
            ("InstanceId", "i-db1"),
            ("Period", "1"),
            ("ClientToken", "tok-held"),
        ];
        // db-1 costs 100 a month: the balance cannot pay.
        assert_eq!(
            err(&w, "RenewInstance", &one),
            (403, "InvalidAccountStatus.NotEnoughBalance".to_owned())
        );
        w.write().expect("lock").balance = Some(500.0);
        // Other parameters with that token: refused, although nothing was renewed.
        assert_eq!(
            err(
                &w,
                "RenewInstance",
                &[
                    ("InstanceId", "i-db1"),
                    ("Period", "2"),
                    ("ClientToken", "tok-held")
                ]
            ),
            (400, "IdempotenceParamNotMatch".to_owned())
        );
        // The same parameters again: carried out afresh, and paid from the balance.
        let (_, effect) = call(&w, "RenewInstance", &one).expect("renewed");
        let entry = effect.renewed.expect("a renewal");
        assert_eq!(entry.token.as_deref(), Some("tok-held"));
        assert_eq!(w.read().expect("lock").balance, Some(400.0));
    }

    #[test]
    fn a_locked_instance_is_not_renewed() {
        let w = world();
        if let Some(db) = w.write().expect("lock").find_mut("i-db1", now()) {
            db.security_lock = true;
        }
        assert_eq!(
            err(
                &w,
                "RenewInstance",
                &[("InstanceId", "i-db1"), ("Period", "1")]
            ),
            (403, "InstanceLockedForSecurity".to_owned())
        );
    }
}
