//! The ECS actions the emulator serves, one file each, and the dispatch between them: readers
//! take the state's read lock, writers its write lock, for exactly the duration of the action
//! (never across an await). Each action validates its parameters the way ECS does, then answers
//! with the real JSON shape or the real error code (ecs-api.md §3, §4).
//!
//! Authentication, faults and the HTTP envelope are the gateway's business; an action only sees
//! decoded parameters and the current time.

mod auto_renew;
mod describe_instances;
mod instance_view;
mod price;
mod regions;
mod renew;

use std::sync::RwLock;

use jiff::Timestamp;

use super::params::Params;
use super::state::World;
use super::wire::{ApiError, Body};

/// Every action the emulator serves, as named on the wire.
pub(crate) const ACTIONS: [&str; 6] = [
    "DescribeRegions",
    "DescribeInstances",
    "DescribeInstanceAutoRenewAttribute",
    "ModifyInstanceAutoRenewAttribute",
    "RenewInstance",
    "DescribeRenewalPrice",
];

/// The actions that change state (and, for RenewInstance, spend money).
pub(crate) fn is_mutating(action: &str) -> bool {
    matches!(action, "ModifyInstanceAutoRenewAttribute" | "RenewInstance")
}

/// What an action did, for the statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Effect {
    /// The renewal carried out, when money was spent.
    pub renewed: Option<super::stats::LedgerEntry>,
    /// Renewal attributes were changed.
    pub modified: bool,
}

pub(crate) type Outcome = Result<(Body, Effect), ApiError>;

/// Runs `action` against the state. Unknown actions never get here (the gateway answers
/// `InvalidApi.NotFound` first), but are answered the same way if they do.
pub(crate) fn dispatch(
    world: &RwLock<World>,
    action: &str,
    params: &Params,
    now: Timestamp,
) -> Outcome {
    let read = || {
        world
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let write = || {
        world
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let answer = |body: Body| (body, Effect::default());
    match action {
        "DescribeRegions" => regions::describe_regions(&read(), params).map(answer),
        "DescribeInstances" => {
            describe_instances::describe_instances(&read(), params, now).map(answer)
        }
        "DescribeInstanceAutoRenewAttribute" => {
            auto_renew::describe(&read(), params, now).map(answer)
        }
        "DescribeRenewalPrice" => price::describe_renewal_price(&read(), params, now).map(answer),
        "ModifyInstanceAutoRenewAttribute" => auto_renew::modify(&mut write(), params, now),
        "RenewInstance" => renew::renew_instance(&mut write(), params, now),
        _ => Err(api_not_found()),
    }
}

pub(crate) fn api_not_found() -> ApiError {
    ApiError::new(
        404,
        "InvalidApi.NotFound",
        "Specified api is not found, please check your url and method.",
    )
}

/// The `RegionId` every regional action requires. A region the fleet does not declare is
/// unknown: the fleet is the whole world, and a typo must not read as "no instances" (declare
/// `region: []` for a region that exists but is empty).
fn region<'a>(world: &World, params: &'a Params) -> Result<&'a str, ApiError> {
    let region = params.required("RegionId")?;
    if world.has_region(region) {
        Ok(region)
    } else {
        Err(ApiError::new(
            404,
            "InvalidRegionId.NotFound",
            format!(
                "The specified RegionId does not exist: {}.",
                super::wire::quote_value(region)
            ),
        ))
    }
}

/// A comma-separated id list (`i-a,i-b`), trimmed, empty entries dropped, first occurrence kept.
fn comma_list(value: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for id in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// One page of `items`: `number` counts from 1.
fn page<T: Clone>(items: &[T], number: usize, size: usize) -> Vec<T> {
    let start = number.saturating_sub(1).saturating_mul(size);
    items.iter().skip(start).take(size).cloned().collect()
}

/// Rounds a price to fen, as prices are shown.
fn round_price(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
pub(crate) mod test_support {
    //! A small world and a caller for the action tests.
    use super::*;
    use crate::emulator::fleet::Fleet;

    pub(crate) const FLEET: &str = r#"
access_keys: [{id: a, secret: b}]
regions:
  cn-hangzhou:
    - id: i-web1
      name: web-1
      expired_time: 2026-12-01T16:00Z
      tags: {env: prod, tier: web}
      renewal: {status: AutoRenewal, duration: 1, period_unit: month}
    - id: i-db1
      name: db-1
      expired_time: 2027-01-31T16:00Z
      tags: {env: prod, tier: db}
      monthly_price: 100
    - id: i-old
      expires_in: -3 days
      tags: {env: staging}
    - id: i-never
      expires_in: 10 days
      renewal: {status: NotRenewal}
    - id: i-payg
      charge_type: PostPaid
      tags: {env: prod}
  cn-shanghai:
    - {id: i-sh1, expires_in: 40 days, tags: {"env name*~/+中": "prod a*b~c/d+e 生产"}}
  cn-beijing: []
generate: {region: cn-shenzhen, count: 250, seed: 3}
"#;

    pub(crate) fn now() -> Timestamp {
        "2026-11-22T10:20:30Z".parse().expect("valid")
    }

    pub(crate) fn world() -> RwLock<World> {
        RwLock::new(World::build(
            &Fleet::from_yaml_str(FLEET).expect("valid"),
            now(),
        ))
    }

    pub(crate) fn call(world: &RwLock<World>, action: &str, query: &[(&str, &str)]) -> Outcome {
        dispatch(
            world,
            action,
            &Params::from_pairs(query.iter().copied()),
            now(),
        )
    }

    pub(crate) fn ok(
        world: &RwLock<World>,
        action: &str,
        query: &[(&str, &str)],
    ) -> serde_json::Value {
        match call(world, action, query) {
            Ok((body, _)) => body.to_value(),
            Err(err) => panic!("{action} {query:?} failed: {err:?}"),
        }
    }

    pub(crate) fn err(
        world: &RwLock<World>,
        action: &str,
        query: &[(&str, &str)],
    ) -> (u16, String) {
        match call(world, action, query) {
            Ok((body, _)) => panic!("{action} {query:?} succeeded: {}", body.to_value()),
            Err(err) => (err.status, err.code),
        }
    }
}
