//! DescribeInstanceAutoRenewAttribute and ModifyInstanceAutoRenewAttribute (ecs-api.md §3.3,
//! §3.4): reading and setting `RenewalStatus`, `Duration` and `PeriodUnit` for up to 100
//! subscription instances of one region at a time.
//!
//! Modify is all-or-nothing: every id is checked before any is changed, so a bad id in a batch
//! of 100 leaves the other 99 untouched, as a transactional API would. `PeriodUnit` is reported
//! verbatim as stored (the real API answers `Month`, `month` or `week`).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Effect, Outcome, comma_list, page, region};
use crate::emulator::fleet::canonical;
use crate::emulator::params::Params;
use crate::emulator::state::{Instance, World};
use crate::emulator::wire::{ApiError, Body, quote_value};

const MAX_IDS: usize = 100;
const STATUSES: [&str; 3] = ["AutoRenewal", "Normal", "NotRenewal"];

pub(super) fn describe(world: &World, params: &Params, now: Timestamp) -> Result<Body, ApiError> {
    let region = region(world, params)?;
    let ids = params.optional("InstanceId").map(comma_list);
    if ids.as_ref().is_some_and(|ids| ids.len() > MAX_IDS) {
        return Err(too_many_ids());
    }
    let status = params
        .optional("RenewalStatus")
        .map(renewal_status)
        .transpose()?;
    let number = page_param(params, "PageNumber", 1, u32::MAX)?;
    let size = page_param(params, "PageSize", 10, 100)?;

    let selected: Vec<&Instance> = match (&ids, status) {
        (None, None) => {
            return Err(ApiError::new(
                403,
                "InvalidParameter.RenewalStatusInstanceId",
                "The parameters InstanceId and RenewalStatus cannot both be empty.",
            ));
        }
        (Some(ids), _) if ids.is_empty() => return Err(missing_instance_id()),
        (Some(ids), _) => ids
            .iter()
            .map(|id| find_prepaid(world, region, id, now))
            .collect::<Result<Vec<_>, _>>()?,
        (None, Some(_)) => world
            .visible(region, now)
            .filter(|i| i.is_prepaid())
            .collect(),
    };
    let matching: Vec<&Instance> = selected
        .into_iter()
        .filter(|i| status.is_none_or(|s| i.renewal_status == s))
        .collect();
    let attributes: Vec<Value> = page(&matching, number as usize, size as usize)
        .into_iter()
        .map(|i| {
            json!({
                "InstanceId": i.id,
                "AutoRenewEnabled": i.renewal_status == "AutoRenewal",
                "Duration": i.duration,
                "PeriodUnit": i.period_unit,
                "RenewalStatus": i.renewal_status,
                "EnableExpectedRenewDay": false,
            })
        })
        .collect();
    Ok(Body::of(&json!({
        "PageNumber": number,
        "PageSize": size,
        "TotalCount": matching.len(),
        "InstanceRenewAttributes": { "InstanceRenewAttribute": attributes },
    })))
}

pub(super) fn modify(world: &mut World, params: &Params, now: Timestamp) -> Outcome {
    let region = region(world, params)?.to_owned();
    let ids = comma_list(
        params
            .optional("InstanceId")
            .ok_or_else(missing_instance_id)?,
    );
    if ids.is_empty() {
        return Err(missing_instance_id());
    }
    if ids.len() > MAX_IDS {
        return Err(too_many_ids());
    }
    // RenewalStatus decides when present; AutoRenew is only read without it (ecs-api.md §3.4).
    let target = match params.optional("RenewalStatus") {
        Some(status) => renewal_status(status)?,
        None => {
            if params.boolean("AutoRenew")?.unwrap_or(false) {
                "AutoRenewal"
            } else {
                "Normal"
            }
        }
    };
    // `Week` exists on the China site only (ecs-api.md §3.4).
    let units: &[&str] = if world.site.has_weeks() {
        &["Month", "Year", "Week"]
    } else {
        &["Month", "Year"]
    };
    let unit = match params.optional("PeriodUnit") {
        None => None,
        Some(unit) => Some(canonical(unit, units).ok_or_else(|| {
            ApiError::new(
                403,
                "InvalidPeriodUnit.ValueNotSupported",
                format!(
                    "The specified parameter PeriodUnit is not valid: {}; use {} on this site.",
                    quote_value(unit),
                    units.join(", ")
                ),
            )
        })?),
    };
    let duration = params.integer("Duration").map_err(|_| {
        invalid_duration(
            params.get("Duration").unwrap_or_default(),
            unit.unwrap_or("Month"),
        )
    })?;
    // Duration and unit matter only when turning auto-renewal on; without a Duration the
    // console's default of one period is assumed [UNCONFIRMED: the docs mark neither required].
    let setting = if target == "AutoRenewal" {
        let unit = unit.unwrap_or("Month");
        let duration = duration.unwrap_or(1);
        let allowed: &[i64] = match unit {
            "Year" => &[1, 2, 3, 4, 5],
            "Week" => &[1, 2, 3, 4],
            _ => &[1, 2, 3, 6, 12, 24, 36, 48, 60],
        };
        if !allowed.contains(&duration) {
            return Err(invalid_duration(&duration.to_string(), unit));
        }
        Some((duration as u32, unit))
    } else {
        None
    };

    // One instance that cannot be changed fails the whole call, as on the real API.
    for id in &ids {
        let instance = find_prepaid(world, &region, id, now)?;
        instance.may_change()?;
        if target == "AutoRenewal" && instance.is_expired(now) {
            return Err(ApiError::incorrect_instance_status(&format!(
                "Instance {id} has expired: renew it before turning auto-renewal on."
            )));
        }
    }
    for id in &ids {
        if let Some(instance) = world.find_mut(id, now) {
            instance.renewal_status = target.into();
            if let Some((duration, unit)) = setting {
                instance.duration = duration;
                instance.period_unit = unit.into();
            }
        }
    }
    Ok((
        Body::empty(),
        Effect {
            modified: true,
            ..Effect::default()
        },
    ))
}

/// A subscription instance of `region`, or the per-action error codes.
fn find_prepaid<'w>(
    world: &'w World,
    region: &str,
    id: &str,
    now: Timestamp,
) -> Result<&'w Instance, ApiError> {
    let instance = world
        .find(id, now)
        .filter(|i| &*i.region == region)
        .ok_or_else(|| {
            ApiError::new(
                403,
                "InvalidParameter.InvalidInstanceId",
                format!(
                    "The specified instanceId is not valid: {} is not an instance of {region}.",
                    quote_value(id)
                ),
            )
        })?;
    if !instance.is_prepaid() {
        return Err(ApiError::charge_type_violation());
    }
    Ok(instance)
}

fn renewal_status(value: &str) -> Result<&'static str, ApiError> {
    STATUSES.iter().find(|s| **s == value).copied().ok_or_else(|| {
        ApiError::new(
            403,
            "InvalidParameter.RenewalStatus",
            format!(
                "The specified parameter RenewalStatus is not valid: {}; use AutoRenewal, Normal or NotRenewal.",
                quote_value(value)
            ),
        )
    })
}

/// `PageNumber` / `PageSize` here are strings in the API model; the codes are this action's own.
fn page_param(params: &Params, name: &str, default: u32, max: u32) -> Result<u32, ApiError> {
    match params.optional(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    403,
                    &format!("InvalidParameter.{name}"),
                    format!(
                        "The specified parameter {name} is not valid: {}.",
                        quote_value(text)
                    ),
                )
            }),
    }
}

fn missing_instance_id() -> ApiError {
    ApiError::new(
        403,
        "MissingParameter.InstanceId",
        "InstanceId should not be null.",
    )
}

fn too_many_ids() -> ApiError {
    ApiError::new(
        403,
        "InvalidParameter.ToManyInstanceIds",
        "No more than 100 InstanceIds can be specified.",
    )
}

fn invalid_duration(value: &str, unit: &str) -> ApiError {
    let allowed = match unit {
        "Year" => "1, 2, 3, 4, 5",
        "Week" => "1, 2, 3, 4",
        _ => "1, 2, 3, 6, 12, 24, 36, 48, 60",
    };
    ApiError::new(
        403,
        "InvalidParameter.Duration",
        format!(
            "The specified parameter Duration is not valid: {}; with PeriodUnit {unit} use one of {allowed}.",
            quote_value(value)
        ),
    )
}

#[cfg(test)]
mod tests {
    use crate::emulator::actions::test_support::*;
    use serde_json::json;

    fn attributes(
        w: &std::sync::RwLock<crate::emulator::state::World>,
        ids: &str,
    ) -> serde_json::Value {
        ok(
            w,
            "DescribeInstanceAutoRenewAttribute",
            &[("RegionId", "cn-hangzhou"), ("InstanceId", ids)],
        )
    }

    #[test]
    fn describe_reports_stored_settings_verbatim() {
        let w = world();
        let body = attributes(&w, "i-web1, i-db1");
        assert_eq!(body["TotalCount"], 2);
        assert_eq!(body["PageNumber"], 1);
        assert_eq!(body["PageSize"], 10);
        assert_eq!(
            body["InstanceRenewAttributes"]["InstanceRenewAttribute"][0],
            json!({"InstanceId": "i-web1", "AutoRenewEnabled": true, "Duration": 1,
                   "PeriodUnit": "month", "RenewalStatus": "AutoRenewal", "EnableExpectedRenewDay": false})
        );
        assert_eq!(
            body["InstanceRenewAttributes"]["InstanceRenewAttribute"][1]["Duration"],
            0
        );
    }

    #[test]
    fn describe_by_status_and_its_errors() {
        let w = world();
        let never = ok(
            &w,
            "DescribeInstanceAutoRenewAttribute",
            &[("RegionId", "cn-hangzhou"), ("RenewalStatus", "NotRenewal")],
        );
        assert_eq!(never["TotalCount"], 1);
        let normal_of = ok(
            &w,
            "DescribeInstanceAutoRenewAttribute",
            &[
                ("RegionId", "cn-hangzhou"),
                ("RenewalStatus", "Normal"),
                ("InstanceId", "i-web1,i-db1"),
            ],
        );
        assert_eq!(
            normal_of["InstanceRenewAttributes"]["InstanceRenewAttribute"][0]["InstanceId"],
            "i-db1"
        );
        let hz = ("RegionId", "cn-hangzhou");
        let many = (0..101)
            .map(|n| format!("i-{n}"))
            .collect::<Vec<_>>()
            .join(",");
        for (query, expected) in [
            (vec![hz], (403, "InvalidParameter.RenewalStatusInstanceId")),
            (
                vec![hz, ("InstanceId", many.as_str())],
                (403, "InvalidParameter.ToManyInstanceIds"),
            ),
            (
                vec![hz, ("InstanceId", "i-payg")],
                (403, "ChargeTypeViolation"),
            ),
            (
                vec![hz, ("InstanceId", "i-sh1")],
                (403, "InvalidParameter.InvalidInstanceId"),
            ),
            (
                vec![hz, ("InstanceId", ",")],
                (403, "MissingParameter.InstanceId"),
            ),
            (
                vec![hz, ("RenewalStatus", "Sometimes")],
                (403, "InvalidParameter.RenewalStatus"),
            ),
            (
                vec![hz, ("InstanceId", "i-web1"), ("PageSize", "101")],
                (403, "InvalidParameter.PageSize"),
            ),
            (
                vec![hz, ("InstanceId", "i-web1"), ("PageNumber", "0")],
                (403, "InvalidParameter.PageNumber"),
            ),
        ] {
            assert_eq!(
                err(&w, "DescribeInstanceAutoRenewAttribute", &query),
                (expected.0, expected.1.to_owned()),
                "{query:?}"
            );
        }
    }

    #[test]
    fn modify_then_read_back() {
        let w = world();
        let (_, effect) = call(
            &w,
            "ModifyInstanceAutoRenewAttribute",
            &[
                ("RegionId", "cn-hangzhou"),
                ("InstanceId", "i-db1,i-never"),
                ("RenewalStatus", "AutoRenewal"),
                ("Duration", "12"),
                ("PeriodUnit", "month"),
                ("AutoRenew", "false"),
            ],
        )
        .expect("modified");
        assert!(effect.modified);
        let body = attributes(&w, "i-db1,i-never");
        for attr in body["InstanceRenewAttributes"]["InstanceRenewAttribute"]
            .as_array()
            .expect("list")
        {
            assert_eq!(
                attr["RenewalStatus"], "AutoRenewal",
                "RenewalStatus beats AutoRenew=false"
            );
            assert_eq!(
                (attr["Duration"].clone(), attr["PeriodUnit"].clone()),
                (json!(12), json!("Month"))
            );
        }
        // AutoRenew alone: false means Normal; the duration is kept.
        ok(
            &w,
            "ModifyInstanceAutoRenewAttribute",
            &[("RegionId", "cn-hangzhou"), ("InstanceId", "i-db1")],
        );
        let body = attributes(&w, "i-db1");
        let attr = &body["InstanceRenewAttributes"]["InstanceRenewAttribute"][0];
        assert_eq!(
            (attr["RenewalStatus"].clone(), attr["Duration"].clone()),
            (json!("Normal"), json!(12))
        );
        ok(
            &w,
            "ModifyInstanceAutoRenewAttribute",
            &[
                ("RegionId", "cn-hangzhou"),
                ("InstanceId", "i-db1"),
                ("AutoRenew", "True"),
            ],
        );
        assert_eq!(
            attributes(&w, "i-db1")["InstanceRenewAttributes"]["InstanceRenewAttribute"][0]["RenewalStatus"],
            "AutoRenewal"
        );
    }

    #[test]
    fn modify_validates_everything_before_changing_anything() {
        let w = world();
        let hz = ("RegionId", "cn-hangzhou");
        let auto = ("RenewalStatus", "AutoRenewal");
        for (query, expected) in [
            (
                vec![hz, ("InstanceId", "i-db1,i-old"), auto, ("Duration", "1")],
                (403, "IncorrectInstanceStatus"),
            ),
            (
                vec![hz, ("InstanceId", "i-db1,i-payg"), auto],
                (403, "ChargeTypeViolation"),
            ),
            (
                vec![hz, ("InstanceId", "i-db1,i-nope"), auto],
                (403, "InvalidParameter.InvalidInstanceId"),
            ),
            (
                vec![hz, ("InstanceId", "i-db1"), auto, ("Duration", "5")],
                (403, "InvalidParameter.Duration"),
            ),
            (
                vec![
                    hz,
                    ("InstanceId", "i-db1"),
                    auto,
                    ("Duration", "6"),
                    ("PeriodUnit", "Year"),
                ],
                (403, "InvalidParameter.Duration"),
            ),
            (
                vec![
                    hz,
                    ("InstanceId", "i-db1"),
                    auto,
                    ("Duration", "6"),
                    ("PeriodUnit", "Week"),
                ],
                (403, "InvalidParameter.Duration"),
            ),
            (
                vec![hz, ("InstanceId", "i-db1"), auto, ("PeriodUnit", "Day")],
                (403, "InvalidPeriodUnit.ValueNotSupported"),
            ),
            (
                vec![hz, ("InstanceId", "i-db1"), ("RenewalStatus", "auto")],
                (403, "InvalidParameter.RenewalStatus"),
            ),
            (
                vec![hz, ("InstanceId", "i-db1"), ("AutoRenew", "yes")],
                (400, "InvalidParameter"),
            ),
            (vec![hz], (403, "MissingParameter.InstanceId")),
        ] {
            assert_eq!(
                err(&w, "ModifyInstanceAutoRenewAttribute", &query),
                (expected.0, expected.1.to_owned()),
                "{query:?}"
            );
        }
        let body = attributes(&w, "i-db1");
        assert_eq!(
            body["InstanceRenewAttributes"]["InstanceRenewAttribute"][0]["RenewalStatus"], "Normal",
            "untouched"
        );
        // An expired instance may still be moved between Normal and NotRenewal.
        ok(
            &w,
            "ModifyInstanceAutoRenewAttribute",
            &[hz, ("InstanceId", "i-old"), ("RenewalStatus", "NotRenewal")],
        );
    }

    #[test]
    fn one_locked_or_refusing_instance_fails_the_whole_call() {
        let w = world();
        let both = [
            ("RegionId", "cn-hangzhou"),
            ("InstanceId", "i-web1,i-db1"),
            ("RenewalStatus", "Normal"),
        ];
        if let Some(db) = w.write().expect("lock").find_mut("i-db1", now()) {
            db.security_lock = true;
        }
        assert_eq!(
            err(&w, "ModifyInstanceAutoRenewAttribute", &both),
            (403, "InstanceLockedForSecurity".to_owned())
        );
        if let Some(db) = w.write().expect("lock").find_mut("i-db1", now()) {
            db.security_lock = false;
            db.refusal = Some((403, "IncorrectInstanceStatus"));
        }
        assert_eq!(
            err(&w, "ModifyInstanceAutoRenewAttribute", &both),
            (403, "IncorrectInstanceStatus".to_owned())
        );
        // Nothing changed for the other instance of the call.
        let w = w.read().expect("lock");
        assert_eq!(
            w.find("i-web1", now())
                .map(|i| i.renewal_status.to_string()),
            Some("AutoRenewal".to_owned())
        );
    }

    #[test]
    fn an_expired_instance_stays_expired_while_its_renewal_lags() {
        let w = world();
        ok(
            &w,
            "RenewInstance",
            &[("InstanceId", "i-old"), ("Period", "1")],
        );
        if let Some(old) = w.write().expect("lock").find_mut("i-old", now()) {
            old.hide_renewal(
                Some(now() - jiff::SignedDuration::from_hours(72)),
                std::time::Instant::now() + std::time::Duration::from_secs(3600),
            );
        }
        let auto = [
            ("RegionId", "cn-hangzhou"),
            ("InstanceId", "i-old"),
            ("RenewalStatus", "AutoRenewal"),
            ("Duration", "1"),
        ];
        assert_eq!(
            err(&w, "ModifyInstanceAutoRenewAttribute", &auto),
            (403, "IncorrectInstanceStatus".to_owned()),
            "refused while the renewal is not visible"
        );
        if let Some(old) = w.write().expect("lock").find_mut("i-old", now()) {
            old.lagging_expiry = None;
        }
        ok(&w, "ModifyInstanceAutoRenewAttribute", &auto);
    }
}
