//! The planner: `plan(desired, observed, now)` → `Plan`. Pure: it reads no clock, environment,
//! file or network, so the same inputs always give the same plan (DESIGN.md §2, §4, §5).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::{Timestamp, ToSpan};
use sha2::{Digest, Sha256};

use super::calls::{self, Slot};
use super::{
    Action, Change, ChangeState, FORMAT_VERSION, ObservedFingerprint, Plan, ReasonCode, Summary,
    Warning,
};
use crate::desired::limits::{ApiPeriod, auto_renew_setting, renew_candidates, renew_step};
use crate::desired::{DesiredState, Renewal, RenewalPolicy};
use crate::observed::{ChargeType, InstanceSnapshot, ObservedState, RenewalStatus};
use crate::policy::{self, Governing};
use crate::time::format_api;

/// Days after expiry at which ECS releases an unrenewed subscription instance (ecs-api.md §6).
pub const RELEASE_AFTER_DAYS: i64 = 15;
/// Instances expiring within this many days with nothing renewing them are warned about.
pub const RISK_WINDOW_DAYS: i64 = 15;

/// Why no plan could be made: every problem found, each naming the instance and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub problems: Vec<String>,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        write!(
            f,
            "no plan was made: {} problem{} above",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for PlanError {}

/// The `RenewalStatus` a policy asks for.
pub fn wanted_status(renewal: Renewal) -> RenewalStatus {
    match renewal {
        Renewal::Auto => RenewalStatus::AutoRenewal,
        Renewal::Manual => RenewalStatus::Normal,
        Renewal::Never => RenewalStatus::NotRenewal,
    }
}

/// The idempotency token of a renewal: derived from (instance, observed expiry, period, unit),
/// so a retry, a re-run or a second pipeline applying the same plan sends the same token and
/// ECS renews once. ≤ 64 ASCII characters.
pub fn client_token(instance_id: &str, expired_time: Timestamp, period: ApiPeriod) -> String {
    let input = format!(
        "{instance_id}|{}|{}|{}",
        format_api(expired_time),
        period.count,
        period.unit_name()
    );
    let digest = Sha256::digest(input.as_bytes());
    format!("renewctl-{}", &hex::encode(digest)[..40])
}

/// A renewal chosen for `min_remaining`.
struct RenewalChoice {
    period: ApiPeriod,
    new_expiry: Timestamp,
    /// False when even the longest accepted renewal does not reach `now + min_remaining`.
    reaches_target: bool,
}

/// The smallest accepted multiple of the policy's step that brings expiry to at least `target`,
/// or the largest one (flagged) when none does.
fn choose_renewal(
    policy: &RenewalPolicy,
    expiry: Timestamp,
    target: Timestamp,
) -> Option<RenewalChoice> {
    let step = renew_step(policy.renew_step()).ok()?;
    let mut last = None;
    for candidate in renew_candidates(step) {
        let new_expiry = candidate.as_period().after(expiry)?;
        if new_expiry >= target {
            return Some(RenewalChoice {
                period: candidate,
                new_expiry,
                reaches_target: true,
            });
        }
        last = Some(RenewalChoice {
            period: candidate,
            new_expiry,
            reaches_target: false,
        });
    }
    last
}

/// When ECS releases an instance that stays unrenewed after `expiry`.
fn release_time(expiry: Timestamp) -> Timestamp {
    expiry
        .checked_add((RELEASE_AFTER_DAYS * 24).hours())
        .unwrap_or(expiry)
}

/// Whole days from `from` to `to`, rounded to the nearest day (negative in the past).
fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    let secs = to.duration_since(from).as_secs();
    (secs + secs.signum() * 43_200) / 86_400
}

fn renewal_state(status: &RenewalStatus, duration: u32, unit: &str) -> ChangeState {
    ChangeState {
        renewal_status: Some(status.clone()),
        duration: Some(duration),
        period_unit: Some(unit.to_string()),
        expired_time: None,
    }
}

fn wanted_state(status: &RenewalStatus, auto: Option<ApiPeriod>) -> ChangeState {
    match (status, auto) {
        (RenewalStatus::AutoRenewal, Some(period)) => ChangeState {
            renewal_status: Some(status.clone()),
            duration: Some(period.count),
            period_unit: Some(period.unit_name().to_string()),
            expired_time: None,
        },
        _ => ChangeState {
            renewal_status: Some(status.clone()),
            ..ChangeState::default()
        },
    }
}

/// Accumulates the plan while instances are visited.
#[derive(Default)]
struct Draft {
    changes: Vec<(Change, Slot)>,
    warnings: Vec<Warning>,
    problems: Vec<String>,
    fingerprints: Vec<ObservedFingerprint>,
    managed: u64,
    skipped: u64,
    changed: u64,
}

impl Draft {
    fn warn(&mut self, instance: &InstanceSnapshot, policy: &str, message: String) {
        self.warnings.push(Warning {
            region: Some(instance.region.clone()),
            instance_id: Some(instance.instance_id.clone()),
            policy: Some(policy.to_string()),
            message,
        });
    }
}

/// Plans the changes that bring `observed` to `desired` at time `now`.
pub fn plan(
    desired: &DesiredState,
    observed: &ObservedState,
    now: Timestamp,
    config_digest: &str,
) -> Result<Plan, PlanError> {
    let mut draft = Draft::default();

    let matcher = policy::Matcher::new(desired);
    for instance in &observed.instances {
        match matcher.govern(instance) {
            Err(conflict) => draft.problems.push(conflict.to_string()),
            Ok(None) => {}
            Ok(Some(governing)) => {
                draft.managed += 1;
                draft.fingerprints.push(ObservedFingerprint {
                    region: instance.region.clone(),
                    instance_id: instance.instance_id.clone(),
                    fingerprint: instance.fingerprint(),
                });
                plan_instance(&mut draft, &governing, instance, now);
            }
        }
    }

    let listed_ids = listed_ids(desired, observed, &mut draft);

    let mut looked_up_count = 0;
    for instance in &observed.looked_up {
        let Some(policy) = listed_ids.get(instance.instance_id.as_str()) else {
            continue;
        };
        looked_up_count += 1;
        draft.managed += 1;
        draft.skipped += 1;
        draft.warn(
            instance,
            policy,
            format!(
                "{}, not a subscription: renewal does not apply, so it is skipped; \
                 remove it from policy {policy:?}",
                match &instance.charge_type {
                    ChargeType::PostPaid => "pay-as-you-go (PostPaid)".to_string(),
                    other => format!("billed as {other}"),
                }
            ),
        );
    }

    if !draft.problems.is_empty() {
        return Err(PlanError {
            problems: draft.problems,
        });
    }

    let Draft {
        changes: mut planned,
        mut warnings,
        fingerprints,
        managed,
        skipped,
        changed,
        ..
    } = draft;
    planned.sort_by(|(a, sa), (b, sb)| {
        (&a.region, &a.instance_id, sa).cmp(&(&b.region, &b.instance_id, sb))
    });
    warnings.sort_by(|a, b| (&a.region, &a.instance_id).cmp(&(&b.region, &b.instance_id)));
    let (changes, slots): (Vec<Change>, Vec<Slot>) = planned.into_iter().unzip();
    let calls = calls::batch(&changes, &slots);

    let observed_count = observed.instances.len() as u64 + looked_up_count;
    let summary = Summary {
        observed: observed_count,
        managed,
        unmanaged: observed_count - managed,
        skipped,
        to_modify: changes
            .iter()
            .filter(|c| c.action == Action::ModifyAutoRenew)
            .count() as u64,
        to_renew: changes.iter().filter(|c| c.action == Action::Renew).count() as u64,
        unchanged: managed - skipped - changed,
        api_calls: calls.len() as u64,
        read_calls: observed.read_calls,
    };

    Ok(Plan {
        format_version: FORMAT_VERSION.to_string(),
        renewctl_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: now.round(jiff::Unit::Second).unwrap_or(now),
        config_digest: config_digest.to_string(),
        summary,
        changes,
        calls,
        warnings,
        observed: fingerprints,
    })
}

/// The ids listed by `ids` policies, with their policy's name; records an error for each one
/// that exists in none of the regions.
fn listed_ids<'a>(
    desired: &'a DesiredState,
    observed: &ObservedState,
    draft: &mut Draft,
) -> BTreeMap<&'a str, &'a str> {
    let prepaid: BTreeSet<&str> = observed
        .instances
        .iter()
        .map(|i| i.instance_id.as_str())
        .collect();
    let looked_up: BTreeSet<&str> = observed
        .looked_up
        .iter()
        .map(|i| i.instance_id.as_str())
        .collect();
    let mut listed = BTreeMap::new();
    for policy in &desired.policies {
        for id in policy.selector.ids.iter().flatten() {
            listed.insert(id.as_str(), policy.name.as_str());
            if !prepaid.contains(id.as_str()) && !looked_up.contains(id.as_str()) {
                draft.problems.push(format!(
                    "instance {id} (policy {:?}) exists in none of the regions {}: \
                     correct the id, or add its region to `regions`",
                    policy.name,
                    observed.regions.join(", ")
                ));
            }
        }
    }
    listed
}

/// Plans one managed, subscription instance.
fn plan_instance(
    draft: &mut Draft,
    governing: &Governing<'_>,
    instance: &InstanceSnapshot,
    now: Timestamp,
) {
    let policy = governing.policy;
    let name = policy.name.as_str();
    let Some(attr) = &instance.renewal else {
        draft.problems.push(format!(
            "the auto-renew attribute of {} was not observed; run the plan again",
            instance.instance_id
        ));
        return;
    };

    let want_status = wanted_status(policy.renewal);
    let want_auto = match policy.renewal {
        Renewal::Auto => policy
            .auto_renew_period()
            .and_then(|p| auto_renew_setting(p).ok()),
        _ => None,
    };
    let status_differs = attr.status != want_status;
    let period_differs = want_auto.is_some_and(|want| {
        attr.duration != want.count || !attr.period_unit.eq_ignore_ascii_case(want.unit_name())
    });
    let needs_modify = status_differs || period_differs;
    let expired = instance.expired_time <= now;

    let renewal = policy.min_remaining().and_then(|min| {
        let target = min.after(now)?;
        if instance.expired_time >= target {
            return None;
        }
        choose_renewal(policy, instance.expired_time, target).map(|choice| (min, choice))
    });

    let before = renewal_state(&attr.status, attr.duration, &attr.period_unit);
    let modify = |after: ChangeState, code: ReasonCode, reason: String| Change {
        region: instance.region.clone(),
        instance_id: instance.instance_id.clone(),
        instance_name: instance.instance_name.clone(),
        policy: name.to_string(),
        action: Action::ModifyAutoRenew,
        reason,
        reason_code: code,
        before: before.clone(),
        after,
        period: None,
        period_unit: None,
        client_token: None,
    };
    let differs_reason = || {
        if status_differs {
            (
                ReasonCode::RenewalStatusDiffers,
                format!(
                    "renewal status is {}; policy {name:?} ({}) wants {want_status}",
                    attr.status, governing.reason
                ),
            )
        } else {
            let want = want_auto
                .map(|w| format!("{} {}", w.count, w.unit_name()))
                .unwrap_or_default();
            (
                ReasonCode::AutoRenewPeriodDiffers,
                format!(
                    "auto-renews every {} {}; policy {name:?} wants every {want}",
                    attr.duration, attr.period_unit
                ),
            )
        }
    };

    let Some((min, choice)) = renewal else {
        if needs_modify && want_status == RenewalStatus::AutoRenewal && expired {
            // ECS refuses to turn auto-renewal on for an expired instance (ecs-api.md §6).
            draft.skipped += 1;
            draft.warn(
                instance,
                name,
                format!(
                    "expired on {}: auto-renewal cannot be turned on until it is renewed; \
                     add min_remaining to policy {name:?} or renew it now (it is released on {})",
                    format_api(instance.expired_time),
                    format_api(release_time(instance.expired_time))
                ),
            );
            return;
        }
        if needs_modify {
            let (code, reason) = differs_reason();
            draft.changes.push((
                modify(wanted_state(&want_status, want_auto), code, reason),
                Slot::Free,
            ));
            draft.changed += 1;
        }
        warn_unrenewed(draft, instance, name, &want_status, now);
        return;
    };

    // A renewal is planned.
    draft.changed += 1;
    if attr.status == RenewalStatus::NotRenewal {
        // A NotRenewal instance must leave that status before it can be renewed (ecs-api.md
        // §3.3). An expired one cannot go straight to AutoRenewal: it goes to Normal, is
        // renewed, and then gets auto-renewal.
        let first = if want_status == RenewalStatus::AutoRenewal && expired {
            wanted_state(&RenewalStatus::Normal, None)
        } else {
            wanted_state(&want_status, want_auto)
        };
        let then_auto = first.renewal_status.as_ref() != Some(&want_status);
        draft.changes.push((
            modify(
                first,
                ReasonCode::LeaveNotRenewalToRenew,
                format!(
                    "renewal status is NotRenewal, which ECS does not renew; it must change before the renewal policy {name:?} plans"
                ),
            ),
            Slot::BeforeRenewal,
        ));
        if then_auto {
            draft.changes.push((
                modify(
                    wanted_state(&want_status, want_auto),
                    ReasonCode::EnableAutoRenewAfterRenewal,
                    format!("policy {name:?} wants AutoRenewal, which ECS allows once the expired instance is renewed"),
                ),
                Slot::AfterRenewal,
            ));
        }
    } else if needs_modify {
        let (code, reason) = if want_status == RenewalStatus::AutoRenewal && expired {
            (
                ReasonCode::EnableAutoRenewAfterRenewal,
                format!(
                    "policy {name:?} wants AutoRenewal, which ECS allows once the expired instance is renewed"
                ),
            )
        } else {
            differs_reason()
        };
        draft.changes.push((
            modify(wanted_state(&want_status, want_auto), code, reason),
            Slot::AfterRenewal,
        ));
    }

    let remaining = days_between(now, instance.expired_time);
    let when = if remaining < 0 || expired {
        format!("expired on {}", format_api(instance.expired_time))
    } else {
        format!(
            "expires on {} (in {remaining} days)",
            format_api(instance.expired_time)
        )
    };
    draft.changes.push((
        Change {
            region: instance.region.clone(),
            instance_id: instance.instance_id.clone(),
            instance_name: instance.instance_name.clone(),
            policy: name.to_string(),
            action: Action::Renew,
            reason: format!("{when}, nearer than min_remaining {min} of policy {name:?}"),
            reason_code: ReasonCode::ExpiryWithinMinRemaining,
            before: ChangeState {
                expired_time: Some(instance.expired_time),
                ..ChangeState::default()
            },
            after: ChangeState {
                expired_time: Some(choice.new_expiry),
                ..ChangeState::default()
            },
            period: Some(choice.period.count),
            period_unit: Some(choice.period.unit_name().to_string()),
            client_token: Some(client_token(
                &instance.instance_id,
                instance.expired_time,
                choice.period,
            )),
        },
        Slot::Renewal,
    ));
    if !choice.reaches_target {
        draft.warn(
            instance,
            name,
            format!(
                "even the longest renewal ECS accepts ({} {}) leaves expiry at {}, nearer than min_remaining {min}",
                choice.period.count,
                choice.period.unit_name(),
                format_api(choice.new_expiry)
            ),
        );
    }
}

/// Warns about a managed instance that nothing will renew and that is expired or expires soon.
fn warn_unrenewed(
    draft: &mut Draft,
    instance: &InstanceSnapshot,
    policy: &str,
    want_status: &RenewalStatus,
    now: Timestamp,
) {
    if *want_status == RenewalStatus::AutoRenewal {
        return;
    }
    let expiry = instance.expired_time;
    let release = release_time(expiry);
    let days = days_between(now, expiry);
    let message = if expiry <= now {
        format!(
            "expired on {} and nothing renews it: ECS releases it on {} (renewal: {})",
            format_api(expiry),
            format_api(release),
            if *want_status == RenewalStatus::NotRenewal {
                "never"
            } else {
                "manual, no min_remaining"
            }
        )
    } else if days < RISK_WINDOW_DAYS {
        if *want_status == RenewalStatus::NotRenewal {
            format!(
                "expires on {} (in {days} days) and will not be renewed (renewal: never): it is released on {}",
                format_api(expiry),
                format_api(release)
            )
        } else {
            format!(
                "expires on {} (in {days} days) and nothing renews it: renewal is manual and policy {policy:?} has no min_remaining",
                format_api(expiry)
            )
        }
    } else {
        return;
    };
    draft.warn(instance, policy, message);
}
