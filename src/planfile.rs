//! Saved plans (`renewctl plan --out plan.json`, `renewctl apply plan.json`): written with an
//! integrity checksum; read back with every check a reviewer relies on — complete JSON, format
//! version, checksum, shape (every call carries exactly the changes it names, each renewal the
//! token derived from its instance and observed expiry), config digest, age — and checked for
//! staleness against a fresh observation of the planned instances. Pure: bytes and snapshots
//! in, verdicts out. Like Terraform's saved plans, but checked against the cloud rather than a
//! state file.
//!
//! The checksum catches accidents (a truncated upload, a hand edit, a merge that mangled the
//! file); it is not a signature: whoever can rewrite the file can recompute it. The shape checks
//! make sure a file that passes cannot call instances the staleness check never looked at.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::ecs::{ApiAction, ClientToken};
use crate::observed::InstanceSnapshot;
use crate::plan::calls::request_for;
use crate::plan::{Action, FORMAT_VERSION, ObservedFingerprint, Phase, Plan};
use crate::time::format_api;

/// The key of the checksum in a saved plan.
pub const CHECKSUM_KEY: &str = "plan_checksum";

/// Why a saved plan cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PlanFileError {
    #[error(
        "{file} is not a complete JSON document ({message} at line {line}, column {column}); \
         it may be truncated: save the plan again with `renewctl plan --out {file}`"
    )]
    NotJson {
        file: String,
        message: String,
        line: usize,
        column: usize,
    },
    #[error("{file} is not a renewctl plan: {message}")]
    NotAPlan { file: String, message: String },
    #[error(
        "{file} has plan format_version {found:?}; this renewctl reads format_version \"{FORMAT_VERSION}\": \
         make the plan again with this renewctl"
    )]
    FormatVersion { file: String, found: String },
    #[error(
        "{file} has no {CHECKSUM_KEY}: it was not written by `renewctl plan --out`; make the plan again"
    )]
    NoChecksum { file: String },
    #[error(
        "{file} was changed after renewctl wrote it (its {CHECKSUM_KEY} does not match its content): \
         a reviewed plan must be applied as reviewed; make and review the plan again"
    )]
    Edited { file: String },
    #[error(
        "{file} was made for another version of {config}: the plan records {planned}, \
         {config} is now {current}; make and review the plan again"
    )]
    OtherConfig {
        file: String,
        config: String,
        planned: String,
        current: String,
    },
    #[error(
        "{file} was made at {created_at}, {age_hours} hours ago, more than --max-plan-age \
         ({max_hours} hours): the world it was made from is too old to trust; make and review \
         a new plan (or raise --max-plan-age)"
    )]
    TooOld {
        file: String,
        created_at: String,
        age_hours: i64,
        max_hours: i64,
    },
    #[error(
        "{file} says it was made at {created_at}, in the future: check this machine's clock (or \
         the one that made the plan), then make and review a new plan"
    )]
    FromTheFuture { file: String, created_at: String },
}

/// The checksum of a plan's JSON value (without the checksum key): SHA-256 of its compact
/// serialization with keys sorted.
fn checksum(value: &serde_json::Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// The saved-plan JSON of `plan`: the plan contract plus `plan_checksum`.
pub fn to_saved_json(plan: &Plan) -> String {
    // serde_json's map is ordered by key (no `preserve_order`), so the compact form is canonical.
    let mut value = match serde_json::to_value(plan) {
        Ok(value) => value,
        Err(err) => return format!("{{\"error\": \"cannot serialize the plan: {err}\"}}\n"),
    };
    let sum = checksum(&value);
    if let Some(object) = value.as_object_mut() {
        object.insert(CHECKSUM_KEY.to_string(), serde_json::Value::String(sum));
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Reads a saved plan, refusing one that is truncated, of another format version, edited, or
/// not a plan.
pub fn read(bytes: &[u8], file: &str) -> Result<Plan, PlanFileError> {
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| PlanFileError::NotJson {
            file: file.to_string(),
            message: err
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_string(),
            line: err.line(),
            column: err.column(),
        })?;
    let not_a_plan = |message: &str| PlanFileError::NotAPlan {
        file: file.to_string(),
        message: message.to_string(),
    };
    let object = value
        .as_object_mut()
        .ok_or_else(|| not_a_plan("it is not a JSON object"))?;
    match object.get("format_version") {
        None => return Err(not_a_plan("it has no format_version")),
        Some(serde_json::Value::String(v)) if v == FORMAT_VERSION => {}
        Some(other) => {
            return Err(PlanFileError::FormatVersion {
                file: file.to_string(),
                found: match other {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            });
        }
    }
    let recorded = match object.remove(CHECKSUM_KEY) {
        Some(serde_json::Value::String(sum)) => sum,
        _ => {
            return Err(PlanFileError::NoChecksum {
                file: file.to_string(),
            });
        }
    };
    if checksum(&value) != recorded {
        return Err(PlanFileError::Edited {
            file: file.to_string(),
        });
    }
    let plan: Plan = serde_json::from_value(value).map_err(|err| not_a_plan(&err.to_string()))?;
    // A checksummed file is as renewctl wrote it, but the checksum is no signature: check the
    // cross-references apply relies on, so that no call can reach an instance the staleness
    // check does not look at, nor renew with a token of its own.
    check_calls(&plan).map_err(|message| not_a_plan(&message))?;
    Ok(plan)
}

/// Every call carries exactly the changes it names: its request is the one its changes lead to
/// (the ids of a status change, in order, with their setting and region; a renewal's instance,
/// period and token), and a renewal's token is the one derived from the instance and the expiry
/// the plan observed; each change is carried by exactly one call, in the phase its action runs
/// in; an instance is renewed at most once; every changed instance is one the plan observed (so
/// the staleness check reads it).
fn check_calls(plan: &Plan) -> Result<(), String> {
    let observed: BTreeMap<&str, &ObservedFingerprint> = plan
        .observed
        .iter()
        .map(|o| (o.instance_id.as_str(), o))
        .collect();
    let mut carried = vec![0u32; plan.changes.len()];
    let mut renewed: BTreeSet<&str> = BTreeSet::new();
    for (number, call) in plan.calls.iter().enumerate() {
        let which = format!("call {} ({})", number + 1, call.action());
        for &index in &call.changes {
            let change = plan
                .changes
                .get(index)
                .ok_or_else(|| format!("{which} refers to a change that does not exist"))?;
            carried[index] += 1;
            let fits = matches!(
                (call.action(), change.action(), call.phase),
                (ApiAction::RenewInstance, Action::Renew, Phase::Renewal)
                    | (
                        ApiAction::ModifyInstanceAutoRenewAttribute,
                        Action::ModifyAutoRenew,
                        Phase::BeforeRenewal | Phase::AfterRenewal
                    )
            );
            if !fits {
                return Err(format!(
                    "{which} in phase {} carries a {:?} change",
                    call.phase.number(),
                    change.action()
                ));
            }
            if !observed.contains_key(change.instance_id.as_str()) {
                return Err(format!(
                    "{which} changes {}, which the plan holds no observation of",
                    change.instance_id
                ));
            }
        }
        let expected =
            request_for(&call.changes, &plan.changes).map_err(|why| format!("{which}: {why}"))?;
        if expected != call.mutation {
            return Err(format!(
                "{which} names instances or parameters other than those of its changes \
                 (sends {}; its changes lead to {})",
                describe(&call.mutation.params()),
                describe(&expected.params())
            ));
        }
        if let Some(index) = call
            .changes
            .first()
            .filter(|_| call.action() == ApiAction::RenewInstance)
        {
            let change = &plan.changes[*index];
            let Some(renewal) = change.renewal() else {
                continue;
            };
            if !renewed.insert(change.instance_id.as_str()) {
                return Err(format!(
                    "{which} renews {} a second time",
                    change.instance_id
                ));
            }
            let token =
                ClientToken::for_renewal(&change.instance_id, renewal.before, renewal.attempt);
            let observed_ok = observed
                .get(change.instance_id.as_str())
                .is_some_and(|o| o.expired_time == renewal.before);
            if token != renewal.token || !observed_ok {
                return Err(format!(
                    "{which} for {} does not match its change (the token must be derived from \
                     the expiry the plan observed)",
                    change.instance_id
                ));
            }
        }
    }
    if let Some(index) = carried.iter().position(|&n| n != 1) {
        return Err(format!(
            "change {} ({}) is carried by {} calls; each change is carried by one",
            index + 1,
            plan.changes[index].instance_id,
            carried[index]
        ));
    }
    Ok(())
}

fn describe(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How far in the future a plan's `created_at` may lie (clock skew between machines).
const FUTURE_SKEW_SECS: i64 = 300;

/// Refuses a plan made more than `max_age` before `now`, or dated in the future.
pub fn check_age(
    plan: &Plan,
    file: &str,
    now: jiff::Timestamp,
    max_age: std::time::Duration,
) -> Result<(), PlanFileError> {
    let age = now.duration_since(plan.created_at);
    // A plan dated in the future (a skewed clock, an edited file) never ages: refused too,
    // beyond a few minutes of clock skew.
    if age.as_secs() < -FUTURE_SKEW_SECS {
        return Err(PlanFileError::FromTheFuture {
            file: file.to_string(),
            created_at: format_api(plan.created_at),
        });
    }
    if age.as_secs() > 0 && age.unsigned_abs() > max_age {
        return Err(PlanFileError::TooOld {
            file: file.to_string(),
            created_at: format_api(plan.created_at),
            age_hours: age.as_hours(),
            max_hours: (max_age.as_secs() / 3600) as i64,
        });
    }
    Ok(())
}

/// Refuses a plan made for another version of the config.
pub fn check_config(
    plan: &Plan,
    file: &str,
    config: &str,
    config_digest: &str,
) -> Result<(), PlanFileError> {
    if plan.config_digest == config_digest {
        Ok(())
    } else {
        Err(PlanFileError::OtherConfig {
            file: file.to_string(),
            config: config.to_string(),
            planned: plan.config_digest.clone(),
            current: config_digest.to_string(),
        })
    }
}

/// How a planned instance compares with a fresh observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// As planned.
    Unchanged,
    /// Already in the state the plan leads it to.
    AlreadyApplied,
    /// Something else moved. Each entry says what changed.
    Drifted(Vec<String>),
}

/// Whether a saved plan may be applied, given a fresh observation of its instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every planned instance is as planned: apply it.
    Fresh,
    /// Every planned instance is already as the plan leads it: the plan was applied before.
    /// Nothing to do (a retried pipeline must not fail, and must not pay again).
    AlreadyApplied,
    /// Something moved since the plan: refuse it whole. `(region, instance, what changed)`.
    Stale(Vec<(String, String, Vec<String>)>),
}

/// The instances a plan changes, by region.
pub fn planned_instances(plan: &Plan) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for change in &plan.changes {
        out.entry(change.region.clone())
            .or_default()
            .insert(change.instance_id.clone());
    }
    out.into_iter()
        .map(|(region, ids)| (region, ids.into_iter().collect()))
        .collect()
}

/// The planned instances that could not be read again, with why, from what a fresh look could
/// not read (`unread`: keyed by region, or by instance id).
pub fn unread_instances(
    plan: &Plan,
    unread: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (region, ids) in planned_instances(plan) {
        for id in ids {
            let why = unread
                .get(&id)
                .or_else(|| unread.get(&region))
                .map(|reason| {
                    format!(
                        "it could not be read again to check the plan still holds for it: {reason}"
                    )
                });
            if let Some(why) = why {
                out.insert(id, why);
            }
        }
    }
    out
}

/// Decides whether `plan` may be applied, comparing every planned instance with its fresh
/// snapshot (`fresh` need only hold the planned instances; a missing one is gone). Instances in
/// `unread` (they could not be read again) are left out of the decision: apply sends none of
/// their changes. Any other instance that moved makes the whole plan stale — including one that
/// moved to exactly the planned state while others did not (a console renewal, or an earlier
/// apply cut short): the safe answer to a partly changed world is a new plan.
pub fn verdict(
    plan: &Plan,
    fresh: &[InstanceSnapshot],
    unread: &BTreeMap<String, String>,
) -> Verdict {
    let fresh: BTreeMap<&str, &InstanceSnapshot> =
        fresh.iter().map(|i| (i.instance_id.as_str(), i)).collect();
    let recorded: BTreeMap<&str, &ObservedFingerprint> = plan
        .observed
        .iter()
        .map(|o| (o.instance_id.as_str(), o))
        .collect();
    let mut states = Vec::new();
    for (region, ids) in planned_instances(plan) {
        for id in ids {
            if unread.contains_key(&id) {
                continue;
            }
            let freshness = match (recorded.get(id.as_str()), fresh.get(id.as_str())) {
                (None, _) => {
                    Freshness::Drifted(vec!["the plan holds no observation of it".to_string()])
                }
                (Some(_), None) => Freshness::Drifted(vec![
                    "it is gone (released or deleted since the plan)".to_string(),
                ]),
                (Some(before), Some(now)) => {
                    if now.fingerprint() == before.fingerprint && facts_hold(before, now) {
                        Freshness::Unchanged
                    } else if matches_planned_outcome(plan, &id, now) {
                        Freshness::AlreadyApplied
                    } else {
                        Freshness::Drifted(differences(before, now))
                    }
                }
            };
            states.push((region.clone(), id, freshness));
        }
    }
    if states.iter().all(|(_, _, f)| *f == Freshness::Unchanged) {
        return Verdict::Fresh;
    }
    if states
        .iter()
        .all(|(_, _, f)| *f == Freshness::AlreadyApplied)
    {
        return Verdict::AlreadyApplied;
    }
    Verdict::Stale(
        states
            .into_iter()
            .filter_map(|(region, id, f)| match f {
                Freshness::Unchanged => None,
                Freshness::AlreadyApplied => Some((
                    region,
                    id,
                    vec![
                        "it is already in the state the plan leads to (changed since the plan by someone else, or by an earlier apply that did not finish)".to_string(),
                    ],
                )),
                Freshness::Drifted(what) => Some((region, id, what)),
            })
            .collect(),
    )
}

/// The facts the plan recorded beside the fingerprint (and derived its tokens and changes from)
/// are the fresh ones too: a file whose fingerprint and facts disagree is not trusted.
fn facts_hold(before: &ObservedFingerprint, now: &InstanceSnapshot) -> bool {
    let minutes = |t: jiff::Timestamp| t.as_second().div_euclid(60);
    let renewal = now.renewal.as_ref();
    minutes(before.expired_time) == minutes(now.expired_time)
        && before.renewal_status.as_ref() == renewal.map(|r| &r.status)
        && before.duration == renewal.map(|r| r.duration)
        && before.period_unit.as_deref().map(str::to_ascii_lowercase)
            == renewal.map(|r| r.period_unit.to_ascii_lowercase())
        && before.charge_type == now.charge_type.as_api()
        && before.status == now.status
}

/// Is `now` the state the plan's changes lead `id` to?
fn matches_planned_outcome(plan: &Plan, id: &str, now: &InstanceSnapshot) -> bool {
    let changes: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.instance_id == id)
        .collect();
    let expiry_ok = match changes.iter().rev().find_map(|c| c.renewal()) {
        Some(renewal) => renewal.after == now.expired_time,
        None => plan
            .observed
            .iter()
            .any(|o| o.instance_id == id && o.expired_time == now.expired_time),
    };
    let setting_ok = match changes.iter().rev().find_map(|c| c.setting()) {
        None => true,
        Some(setting) => now.renewal.as_ref().is_some_and(|r| {
            r.status.as_api() == setting.after.status()
                && setting
                    .after
                    .period()
                    .is_none_or(|p| p.is(r.duration, &r.period_unit))
        }),
    };
    expiry_ok && setting_ok
}

/// What moved between the planned observation and now, field by field.
fn differences(before: &ObservedFingerprint, now: &InstanceSnapshot) -> Vec<String> {
    let mut out = Vec::new();
    if before.expired_time != now.expired_time {
        out.push(format!(
            "expiry moved from {} to {}",
            format_api(before.expired_time),
            format_api(now.expired_time)
        ));
    }
    let renewal_now = now.renewal.as_ref();
    let status_now = renewal_now.map(|r| r.status.clone());
    if before.renewal_status != status_now {
        out.push(format!(
            "renewal status changed from {} to {}",
            before
                .renewal_status
                .as_ref()
                .map_or("unknown", |s| s.as_api()),
            status_now.as_ref().map_or("unknown", |s| s.as_api())
        ));
    } else if let Some(r) = renewal_now
        && (before.duration != Some(r.duration)
            || !before
                .period_unit
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(&r.period_unit)))
    {
        out.push(format!(
            "auto-renew period changed from {} {} to {} {}",
            before.duration.unwrap_or(0),
            before.period_unit.as_deref().unwrap_or("?"),
            r.duration,
            r.period_unit
        ));
    }
    if before.charge_type != now.charge_type.as_api() {
        out.push(format!(
            "billing changed from {} to {}",
            before.charge_type, now.charge_type
        ));
    }
    if before.status != now.status {
        out.push(format!(
            "status changed from {} to {}",
            before.status, now.status
        ));
    }
    if out.is_empty() {
        out.push(
            "its tags or operation locks changed (a protect tag or a lock added since the plan \
             is honoured only by a new plan)"
                .to_string(),
        );
    }
    out
}
