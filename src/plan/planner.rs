//! The planner: `plan(desired, observed, now)` → `Plan`. Pure: it reads no clock, environment,
//! file or network, so the same inputs always give the same plan (DESIGN.md §2, §4, §5). It
//! decides, instance by instance, what each managed instance needs (a status change, a renewal,
//! both in the order ECS allows, or nothing), what protection blocks, and what cannot be planned
//! at all (an error of the plan for that instance alone); `calls` batches the changes,
//! `risk` reports what nothing renews, `summary` counts.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use super::billing::{TOO_LATE_HOURS, first_deduction};
use super::calls::{self, Slot};
use super::change::{Change, ChangeDetail, PriceState, ReasonCode, Renewal, SettingChange};
use super::cost;
use super::protect::{lowers, protected_by};
use super::risk::{Coverage, RISK_WINDOW_DAYS, days_between, release_time, risk_and_outlook};
use super::{
    FORMAT_VERSION, ObservedFingerprint, Plan, PlanProblem, ProblemKind, Summary, Warning,
};
use crate::desired::limits::{auto_renew_setting, renew_step};
use crate::desired::{DesiredState, Renewal as Wanted, RenewalPolicy};
use crate::ecs::codes::SECURITY_LOCK;
use crate::ecs::{AutoRenewSetting, ClientToken, RenewalPeriod, TokenAttempt};
use crate::observed::{ChargeType, InstanceSnapshot, ObservedState, RenewalStatus};
use crate::policy::{self, Governing};
use crate::time::format_api;

/// Knobs of the planner that are not part of the desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Instances expiring within this many days with nothing renewing them are reported as
    /// risk, managed or not.
    pub risk_window_days: u32,
    /// Instances whose renewal gets a fresh token (`--new-token`): the attempt number it carries.
    /// For a token held by an earlier attempt that did not renew; every other instance's token
    /// is attempt 1.
    pub token_attempts: BTreeMap<String, TokenAttempt>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            risk_window_days: RISK_WINDOW_DAYS as u32,
            token_attempts: BTreeMap::new(),
        }
    }
}

/// The setting a policy asks for; `None` for `renewal: auto` without an auto-renew period the
/// API accepts (validation refuses such a file).
pub fn wanted_setting(policy: &RenewalPolicy) -> Option<AutoRenewSetting> {
    match policy.renewal {
        Wanted::Auto => policy
            .auto_renew_period()
            .and_then(|p| auto_renew_setting(p).ok())
            .map(AutoRenewSetting::Auto),
        Wanted::Manual => Some(AutoRenewSetting::Manual),
        Wanted::Never => Some(AutoRenewSetting::Never),
    }
}

/// A renewal chosen for `min_remaining`.
struct RenewalChoice {
    period: RenewalPeriod,
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
    for candidate in step.multiples() {
        let new_expiry = candidate.after(expiry)?;
        let choice = RenewalChoice {
            period: candidate,
            new_expiry,
            reaches_target: new_expiry >= target,
        };
        if choice.reaches_target {
            return Some(choice);
        }
        last = Some(choice);
    }
    last
}

/// Accumulates the plan while instances are visited.
#[derive(Default)]
struct Draft {
    changes: Vec<(Change, Slot)>,
    warnings: Vec<Warning>,
    /// Instances and regions left out of the plan (blast radius: nothing else stops).
    errors: Vec<PlanProblem>,
    /// Managed instances among `errors`.
    errored: u64,
    fingerprints: Vec<ObservedFingerprint>,
    /// Lowering changes a protection rule blocks.
    blocked: Vec<Change>,
    managed: u64,
    skipped: u64,
    changed: u64,
    /// Instances whose only planned change is blocked.
    blocked_only: u64,
    /// Per observed instance (by index), when managed: its renewal status after the plan,
    /// whether a renewal is planned, and its policy.
    coverage: Vec<Option<Coverage>>,
}

impl Draft {
    fn cover(&mut self, index: usize, coverage: Coverage) {
        if let Some(slot) = self.coverage.get_mut(index) {
            *slot = Some(coverage);
        }
    }

    /// Records `change` as blocked by `rule` instead of planning it, with a warning.
    fn block(&mut self, instance: &InstanceSnapshot, mut change: Change, rule: &str) {
        let (before, after) = match change.setting() {
            Some(s) => (s.before.status.to_string(), s.after.status().to_string()),
            None => ("?".to_string(), "?".to_string()),
        };
        let policy = change.policy.clone();
        self.warn(
            instance,
            &policy,
            format!(
                "policy {policy:?} would lower its renewal from {before} to {after}, but it is protected \
                 by {rule}: the change is blocked and will not be applied (renewctl never lowers the \
                 renewal of a protected instance); to allow it, lift the protection"
            ),
        );
        change.blocked_by = Some(rule.to_string());
        self.blocked.push(change);
    }

    /// Leaves `instance` out of the plan with an error naming it.
    fn error(
        &mut self,
        instance: &InstanceSnapshot,
        policies: Vec<String>,
        kind: ProblemKind,
        reason: String,
    ) {
        self.errors.push(PlanProblem {
            region: Some(instance.region.clone()),
            instance_id: Some(instance.instance_id.clone()),
            policies,
            kind,
            reason,
        });
    }

    fn warn(&mut self, instance: &InstanceSnapshot, policy: &str, message: String) {
        self.warnings.push(Warning {
            region: Some(instance.region.clone()),
            instance_id: Some(instance.instance_id.clone()),
            policy: Some(policy.to_string()),
            message,
        });
    }
}

/// Plans the changes that bring `observed` to `desired` at time `now`, with default options.
pub fn plan(
    desired: &DesiredState,
    observed: &ObservedState,
    now: Timestamp,
    config_digest: &str,
) -> Plan {
    plan_with(
        desired,
        observed,
        now,
        config_digest,
        &PlanOptions::default(),
    )
}

/// Plans the changes that bring `observed` to `desired` at time `now`.
pub fn plan_with(
    desired: &DesiredState,
    observed: &ObservedState,
    now: Timestamp,
    config_digest: &str,
    options: &PlanOptions,
) -> Plan {
    let mut draft = Draft {
        coverage: vec![None; observed.instances.len()],
        fingerprints: Vec::with_capacity(observed.instances.len()),
        ..Draft::default()
    };

    let matcher = policy::Matcher::new(desired);
    for (index, instance) in observed.instances.iter().enumerate() {
        match matcher.govern(instance) {
            Err(conflict) => {
                draft.managed += 1;
                draft.errored += 1;
                let reason = conflict.to_string();
                draft.error(
                    instance,
                    vec![conflict.first, conflict.second],
                    ProblemKind::PolicyConflict,
                    reason,
                );
            }
            Ok(None) => {}
            Ok(Some(governing)) => {
                draft.managed += 1;
                if let Some(problem) = unplannable(observed, instance, governing.policy) {
                    draft.errored += 1;
                    let (kind, reason) = problem;
                    draft.error(instance, vec![governing.policy.name.clone()], kind, reason);
                    continue;
                }
                draft.fingerprints.push(ObservedFingerprint::of(instance));
                let protection = protected_by(desired, governing.policy, instance);
                let attempt = options
                    .token_attempts
                    .get(&instance.instance_id)
                    .copied()
                    .unwrap_or_default();
                plan_instance(
                    &mut draft,
                    &governing,
                    protection.as_deref(),
                    instance,
                    index,
                    now,
                    attempt,
                );
            }
        }
    }
    for unreadable in &observed.unreadable {
        let view = unreadable.for_matching();
        let policies = match matcher.govern(&view) {
            Ok(None) => {
                draft.warnings.push(Warning {
                    region: Some(unreadable.region.clone()),
                    instance_id: Some(unreadable.instance_id.clone()),
                    policy: None,
                    message: format!(
                        "its DescribeInstances answer could not be read ({}); no policy manages it, \
                         so nothing is planned, but its expiry is unknown",
                        unreadable.reason
                    ),
                });
                continue;
            }
            Ok(Some(governing)) => vec![governing.policy.name.clone()],
            Err(conflict) => vec![conflict.first, conflict.second],
        };
        draft.managed += 1;
        draft.errored += 1;
        draft.error(
            &view,
            policies,
            ProblemKind::Unreadable,
            format!(
                "its DescribeInstances answer could not be read: {}; it is left untouched \
                 (nothing is guessed about an instance that spends money); plan again, and \
                 report the answer if it persists",
                unreadable.reason
            ),
        );
    }
    for failure in &observed.failed_regions {
        draft.errors.push(PlanProblem {
            region: Some(failure.region.clone()),
            instance_id: None,
            policies: Vec::new(),
            kind: ProblemKind::RegionUnreadable,
            reason: format!(
                "region {} could not be observed: {}; none of its instances is planned, the \
                 other regions are",
                failure.region, failure.reason
            ),
        });
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

    for (id, attempt) in &options.token_attempts {
        let renewed = draft
            .changes
            .iter()
            .any(|(c, _)| c.renewal().is_some() && &c.instance_id == id);
        if !renewed {
            draft.warnings.push(Warning {
                region: None,
                instance_id: Some(id.clone()),
                policy: None,
                message: format!(
                    "--new-token {id}={}: the plan renews no instance {id}, so the option changes nothing",
                    attempt.get()
                ),
            });
        }
    }

    let (risk, outlook) = risk_and_outlook(
        desired,
        observed,
        &draft.coverage,
        now,
        options.risk_window_days,
    );

    let Draft {
        changes: mut planned,
        mut warnings,
        mut errors,
        errored,
        fingerprints,
        mut blocked,
        managed,
        skipped,
        changed,
        blocked_only,
        ..
    } = draft;
    errors.sort_by(|a, b| {
        (&a.region, &a.instance_id, a.kind).cmp(&(&b.region, &b.instance_id, b.kind))
    });
    blocked.sort_by(|a, b| (&a.region, &a.instance_id).cmp(&(&b.region, &b.instance_id)));
    planned.sort_by(|(a, sa), (b, sb)| {
        (&a.region, &a.instance_id, sa).cmp(&(&b.region, &b.instance_id, sb))
    });
    warnings.sort_by(|a, b| (&a.region, &a.instance_id).cmp(&(&b.region, &b.instance_id)));
    let (changes, slots): (Vec<Change>, Vec<Slot>) = planned.into_iter().unzip();
    let calls = calls::batch(&changes, &slots);

    let summary = Summary::count(
        super::summary::Counts {
            observed: observed.instances.len() as u64
                + observed.unreadable.len() as u64
                + looked_up_count,
            managed,
            skipped,
            changed,
            blocked_only,
            errored,
            read_calls: observed.read_calls,
        },
        &changes,
        calls.len(),
        risk.len(),
        blocked.len(),
        errors.len(),
    );

    let mut plan = Plan {
        format_version: FORMAT_VERSION.to_string(),
        renewctl_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: now.round(jiff::Unit::Second).unwrap_or(now),
        config_digest: config_digest.to_string(),
        summary,
        changes,
        calls,
        warnings,
        observed: fingerprints,
        risk_window_days: options.risk_window_days,
        risk,
        outlook,
        blocked,
        errors,
        limits: Default::default(),
    };
    // Prices are read by the shell after planning; until then every renewal's is unknown.
    cost::summarize(&mut plan);
    plan
}

/// Why a managed instance cannot be planned at all, if it cannot: a security lock (ECS refuses
/// every change; a `financial` lock is what an expired instance shows, and renewing lifts it),
/// or an auto-renew attribute that could not be read.
fn unplannable(
    observed: &ObservedState,
    instance: &InstanceSnapshot,
    policy: &RenewalPolicy,
) -> Option<(ProblemKind, String)> {
    if instance.locks.iter().any(|lock| lock == SECURITY_LOCK) {
        return Some((
            ProblemKind::SecurityLock,
            format!(
                "it is locked for security (OperationLocks: {}): ECS refuses every change to it \
                 (InstanceLockedForSecurity), so policy {:?} is not applied to it; resolve the lock \
                 with Alibaba Cloud, then plan again",
                instance.locks.join(", "),
                policy.name
            ),
        ));
    }
    if wanted_setting(policy).is_none() {
        return Some((
            ProblemKind::Unreadable,
            format!(
                "policy {:?} wants auto-renewal without an auto-renew period the API accepts \
                 (renewctl validate names the fix)",
                policy.name
            ),
        ));
    }
    if instance.renewal.is_none() {
        let why = observed
            .attribute_errors
            .get(&instance.instance_id)
            .map(|e| format!("reading it failed: {e}"))
            .unwrap_or_else(|| "DescribeInstanceAutoRenewAttribute did not return it".to_string());
        return Some((
            ProblemKind::Unreadable,
            format!(
                "its auto-renew attribute is unknown ({why}); it is left untouched; plan again"
            ),
        ));
    }
    None
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
    let unreadable: BTreeSet<&str> = observed
        .unreadable
        .iter()
        .map(|i| i.instance_id.as_str())
        .collect();
    let mut listed = BTreeMap::new();
    for policy in &desired.policies {
        for id in policy.selector.ids.iter().flatten() {
            listed.insert(id.as_str(), policy.name.as_str());
            if !prepaid.contains(id.as_str())
                && !looked_up.contains(id.as_str())
                && !unreadable.contains(id.as_str())
            {
                let read: Vec<&str> = observed
                    .regions
                    .iter()
                    .filter(|r| !observed.failed_regions.iter().any(|f| &f.region == *r))
                    .map(String::as_str)
                    .collect();
                let unread: Vec<&str> = observed
                    .failed_regions
                    .iter()
                    .map(|f| f.region.as_str())
                    .collect();
                let reason = if unread.is_empty() {
                    format!(
                        "instance {id} (policy {:?}) exists in none of the regions {}: \
                         correct the id, or add its region to `regions`",
                        policy.name,
                        read.join(", ")
                    )
                } else {
                    format!(
                        "instance {id} (policy {:?}) is in none of the regions read ({}), and \
                         {} could not be read: plan again when {} can be read, or correct the id",
                        policy.name,
                        if read.is_empty() {
                            "none".to_string()
                        } else {
                            read.join(", ")
                        },
                        unread.join(", "),
                        if unread.len() == 1 { "it" } else { "they" }
                    )
                };
                draft.errors.push(PlanProblem {
                    region: None,
                    instance_id: Some(id.clone()),
                    policies: vec![policy.name.clone()],
                    kind: ProblemKind::NotFound,
                    reason,
                });
            }
        }
    }
    listed
}

/// Plans one managed, subscription instance. `protection` names the rule that protects it,
/// if one does: a change that would lower its renewal is then blocked instead of planned.
fn plan_instance(
    draft: &mut Draft,
    governing: &Governing<'_>,
    protection: Option<&str>,
    instance: &InstanceSnapshot,
    index: usize,
    now: Timestamp,
    attempt: TokenAttempt,
) {
    let policy = governing.policy;
    let name = policy.name.as_str();
    // Checked by `unplannable` before: an instance without them is an error of the plan.
    let (Some(attr), Some(want)) = (&instance.renewal, wanted_setting(policy)) else {
        return;
    };
    let want_status = RenewalStatus::from_api(want.status());
    let status_differs = attr.status != want_status;
    let period_differs = want
        .period()
        .is_some_and(|p| !p.is(attr.duration, &attr.period_unit));
    let needs_modify = status_differs || period_differs;
    let expired = instance.expired_time <= now;
    let wants_auto = want_status == RenewalStatus::AutoRenewal;
    // The rule that blocks the policy's status change, when that change lowers renewal.
    let blocked_by = protection.filter(|_| status_differs && lowers(&attr.status, &want_status));
    let status_after = if blocked_by.is_some() {
        attr.status.clone()
    } else {
        want_status.clone()
    };

    let renewal = policy.min_remaining().and_then(|min| {
        // Past the last representable date (validation refuses such a min_remaining): no
        // renewal reaches it, so the longest is planned, with its warning; never none.
        let target = min.after(now).unwrap_or(Timestamp::MAX);
        if instance.expired_time >= target {
            return None;
        }
        choose_renewal(policy, instance.expired_time, target).map(|choice| (min, choice))
    });

    let modify = |after: AutoRenewSetting, code: ReasonCode, reason: String| Change {
        region: instance.region.clone(),
        instance_id: instance.instance_id.clone(),
        instance_name: instance.instance_name.clone(),
        policy: name.to_string(),
        reason,
        reason_code: code,
        // Built only for a change: most instances have none.
        detail: ChangeDetail::ModifyAutoRenew(SettingChange {
            before: attr.clone(),
            after,
            first_deduction: None,
        }),
        blocked_by: None,
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
            let wanted = want.period().map(|p| p.to_string()).unwrap_or_default();
            (
                ReasonCode::AutoRenewPeriodDiffers,
                format!(
                    "auto-renews every {} {}; policy {name:?} wants every {wanted}",
                    attr.duration, attr.period_unit
                ),
            )
        }
    };
    let after_renewal = || {
        (
            ReasonCode::EnableAutoRenewAfterRenewal,
            format!(
                "policy {name:?} wants AutoRenewal, which ECS allows once the expired instance is renewed"
            ),
        )
    };

    let Some((min, choice)) = renewal else {
        if needs_modify && wants_auto && expired {
            // ECS refuses to turn auto-renewal on for an expired instance (ecs-api.md §6).
            draft.skipped += 1;
            draft.cover(
                index,
                Coverage {
                    status_after: Some(attr.status.clone()),
                    renewed: false,
                    policy: governing.index,
                },
            );
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
        if let Some(rule) = blocked_by {
            let (code, reason) = differs_reason();
            draft.block(instance, modify(want, code, reason), rule);
            draft.blocked_only += 1;
        } else if needs_modify {
            let (code, reason) = differs_reason();
            let mut change = modify(want, code, reason);
            if wants_auto {
                let first = first_deduction(instance.expired_time, now);
                set_first_deduction(&mut change, first);
                let hours_left = instance.expired_time.duration_since(now).as_hours();
                if first.is_none() || hours_left < TOO_LATE_HOURS {
                    draft.warn(
                        instance,
                        name,
                        format!(
                            "auto-renewal is turned on only {hours_left} hours before expiry ({}): ECS charges it from the next day, \
                             so the instance may stop first; renew it now instead (add min_remaining to policy {name:?})",
                            format_api(instance.expired_time)
                        ),
                    );
                }
            }
            draft.changes.push((change, Slot::Free));
            draft.changed += 1;
        }
        draft.cover(
            index,
            Coverage {
                status_after: Some(status_after),
                renewed: false,
                policy: governing.index,
            },
        );
        return;
    };

    // A renewal is planned.
    draft.changed += 1;
    draft.cover(
        index,
        Coverage {
            status_after: Some(status_after),
            renewed: true,
            policy: governing.index,
        },
    );
    if attr.status == RenewalStatus::NotRenewal {
        // A NotRenewal instance must leave that status before it can be renewed (ecs-api.md
        // §3.3). An expired one cannot go straight to AutoRenewal: it goes to Normal, is
        // renewed, and then gets auto-renewal.
        let first = if wants_auto && expired {
            AutoRenewSetting::Manual
        } else {
            want
        };
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
        if first != want {
            let (code, reason) = after_renewal();
            draft
                .changes
                .push((modify(want, code, reason), Slot::AfterRenewal));
        }
    } else if let Some(rule) = blocked_by {
        let (code, reason) = differs_reason();
        draft.block(instance, modify(want, code, reason), rule);
    } else if needs_modify {
        let (code, reason) = if wants_auto && expired {
            after_renewal()
        } else {
            differs_reason()
        };
        draft
            .changes
            .push((modify(want, code, reason), Slot::AfterRenewal));
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
            reason: format!("{when}, nearer than min_remaining {min} of policy {name:?}"),
            reason_code: ReasonCode::ExpiryWithinMinRemaining,
            detail: ChangeDetail::Renew(Renewal {
                before: instance.expired_time,
                after: choice.new_expiry,
                period: choice.period,
                token: ClientToken::for_renewal(
                    &instance.instance_id,
                    instance.expired_time,
                    attempt,
                ),
                attempt,
                price: PriceState::NotAsked,
            }),
            blocked_by: None,
        },
        Slot::Renewal,
    ));
    // Auto-renewal turned on with (or after) the renewal: its first charge counts from the
    // new expiry.
    for (change, _) in draft.changes.iter_mut().rev() {
        if change.instance_id != instance.instance_id {
            break;
        }
        if change.status_after() == Some("AutoRenewal") {
            set_first_deduction(change, first_deduction(choice.new_expiry, now));
        }
    }
    if !choice.reaches_target {
        draft.warn(
            instance,
            name,
            format!(
                "even the longest renewal ECS accepts ({}) leaves expiry at {}, nearer than min_remaining {min}",
                choice.period,
                format_api(choice.new_expiry)
            ),
        );
    }
}

fn set_first_deduction(change: &mut Change, first: Option<Timestamp>) {
    if let ChangeDetail::ModifyAutoRenew(setting) = &mut change.detail {
        setting.first_deduction = first;
    }
}
