//! The planner: `plan(desired, observed, now)` → `Plan`. Pure: it reads no clock, environment,
//! file or network, so the same inputs always give the same plan (DESIGN.md §2, §4, §5).

use std::collections::{BTreeMap, BTreeSet};

use jiff::{Timestamp, ToSpan};

use super::billing::{TOO_LATE_HOURS, first_deduction};
use super::calls::{self, Slot};
use super::prices;
use super::protect::{lowers, protected_by};
use super::{
    Action, Change, ChangeState, FORMAT_VERSION, ObservedFingerprint, OutlookWeek, Plan,
    PlanProblem, ProblemKind, ReasonCode, RiskItem, RiskKind, Summary, Warning,
};
use crate::desired::limits::{ApiPeriod, auto_renew_setting, renew_candidates, renew_step};
use crate::desired::{DesiredState, Renewal, RenewalPolicy};
use crate::ecs::codes::SECURITY_LOCK;
use crate::ecs::{ClientToken, TokenAttempt};
use crate::observed::{ChargeType, InstanceSnapshot, ObservedState, RenewalStatus};
use crate::policy::{self, Governing};
use crate::time::{billing_zone, format_api};

/// Days after expiry at which ECS releases an unrenewed subscription instance (ecs-api.md §6).
pub const RELEASE_AFTER_DAYS: i64 = 15;
/// Instances expiring within this many days with nothing renewing them are warned about.
pub const RISK_WINDOW_DAYS: i64 = 15;

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

/// Weeks in the expiry outlook.
pub const OUTLOOK_WEEKS: i64 = 12;

/// The `RenewalStatus` a policy asks for.
pub fn wanted_status(renewal: Renewal) -> RenewalStatus {
    match renewal {
        Renewal::Auto => RenewalStatus::AutoRenewal,
        Renewal::Manual => RenewalStatus::Normal,
        Renewal::Never => RenewalStatus::NotRenewal,
    }
}

/// The idempotency token of a renewal from the observed expiry `expired_time`: see
/// `ecs::token` (instance and observed expiry only, and the attempt number a user asked for).
pub fn client_token(instance_id: &str, expired_time: Timestamp, attempt: TokenAttempt) -> String {
    ClientToken::for_renewal(instance_id, expired_time, attempt).into_string()
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

/// What will keep an instance alive once the plan is applied.
#[derive(Debug, Clone)]
struct Coverage {
    status_after: Option<RenewalStatus>,
    renewed: bool,
    /// Index of the governing policy.
    policy: usize,
}

impl Draft {
    fn cover(&mut self, index: usize, coverage: Coverage) {
        if let Some(slot) = self.coverage.get_mut(index) {
            *slot = Some(coverage);
        }
    }

    /// Records `change` as blocked by `rule` instead of planning it, with a warning.
    fn block(&mut self, instance: &InstanceSnapshot, mut change: Change, rule: &str) {
        let before = change
            .before
            .renewal_status
            .as_ref()
            .map_or("?", RenewalStatus::as_api)
            .to_string();
        let after = change
            .after
            .renewal_status
            .as_ref()
            .map_or("?", RenewalStatus::as_api)
            .to_string();
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
            .any(|(c, _)| c.action == Action::Renew && &c.instance_id == id);
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

    let (risk, outlook) = risk_and_outlook(desired, observed, &draft.coverage, now, options);

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

    let observed_count =
        observed.instances.len() as u64 + observed.unreadable.len() as u64 + looked_up_count;
    let summary = Summary {
        observed: observed_count,
        managed,
        skipped,
        to_modify: changes
            .iter()
            .filter(|c| c.action == Action::ModifyAutoRenew)
            .count() as u64,
        to_renew: changes.iter().filter(|c| c.action == Action::Renew).count() as u64,
        unchanged: managed.saturating_sub(skipped + changed + blocked_only + errored),
        unmanaged: observed_count.saturating_sub(managed),
        api_calls: calls.len() as u64,
        read_calls: observed.read_calls,
        at_risk: risk.len() as u64,
        blocked: blocked.len() as u64,
        errors: errors.len() as u64,
        ..Summary::default()
    };

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
    prices::summarize(&mut plan);
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

/// The instances nothing renews that expire within the risk window, and the expiry outlook
/// over the next weeks, across every observed instance, managed or not.
fn risk_and_outlook(
    desired: &DesiredState,
    observed: &ObservedState,
    coverage: &[Option<Coverage>],
    now: Timestamp,
    options: &PlanOptions,
) -> (Vec<RiskItem>, Vec<OutlookWeek>) {
    let horizon = now
        .checked_add((i64::from(options.risk_window_days) * 24).hours())
        .unwrap_or(Timestamp::MAX);
    let today = now.to_zoned(billing_zone()).date();
    let mut outlook: Vec<OutlookWeek> = (0..OUTLOOK_WEEKS)
        .map(|week| OutlookWeek {
            week_start: today.checked_add((week * 7).days()).unwrap_or(today),
            ..OutlookWeek::default()
        })
        .collect();
    let mut risk = Vec::new();

    for (index, instance) in observed.instances.iter().enumerate() {
        // Borrowed: most instances are covered, and nothing is cloned for them.
        let (status_after, renewed, policy_index) =
            match coverage.get(index).and_then(Option::as_ref) {
                Some(c) => (c.status_after.as_ref(), c.renewed, Some(c.policy)),
                None => (instance.renewal.as_ref().map(|r| &r.status), false, None),
            };
        let expiry = instance.expired_time;
        let expired = expiry <= now;
        let auto = status_after == Some(&RenewalStatus::AutoRenewal);
        let covered = renewed || (auto && !expired);

        let seconds_ahead = expiry.duration_since(now).as_secs();
        if seconds_ahead > 0 {
            let week = seconds_ahead / (7 * 86_400);
            if let Some(slot) = usize::try_from(week).ok().and_then(|w| outlook.get_mut(w)) {
                slot.expiring += 1;
                match (&status_after, covered) {
                    (_, true) => slot.covered += 1,
                    (None, false) => slot.unknown += 1,
                    (Some(_), false) => slot.not_covered += 1,
                }
            }
        }

        if covered || expiry >= horizon {
            continue;
        }
        let release = release_time(expiry);
        let days = days_between(now, expiry);
        let policy = policy_index
            .and_then(|i| desired.policies.get(i))
            .map(|p| p.name.clone());
        let (kind, message) = if expired {
            (
                RiskKind::Expired,
                format!(
                    "expired on {}; ECS releases it on {} ({} days left) unless it is renewed",
                    format_api(expiry),
                    format_api(release),
                    days_between(now, release).max(0)
                ),
            )
        } else if status_after == Some(&RenewalStatus::NotRenewal) {
            (
                RiskKind::WillBeReleased,
                format!(
                    "expires on {} (in {days} days) and is set to NotRenewal: ECS releases it on {}",
                    format_api(expiry),
                    format_api(release)
                ),
            )
        } else if status_after.is_none() {
            (
                RiskKind::Unknown,
                format!(
                    "expires on {} (in {days} days); no policy manages it and its auto-renew setting was not read",
                    format_api(expiry)
                ),
            )
        } else {
            let why = match &policy {
                Some(name) => format!(
                    "policy {name:?} neither auto-renews it nor has a min_remaining that renews it now"
                ),
                None => "no policy manages it and auto-renewal is off".to_string(),
            };
            (
                RiskKind::ExpiresSoon,
                format!(
                    "expires on {} (in {days} days) and nothing renews it: {why}",
                    format_api(expiry)
                ),
            )
        };
        risk.push(RiskItem {
            region: instance.region.clone(),
            instance_id: instance.instance_id.clone(),
            instance_name: instance.instance_name.clone(),
            policy,
            kind,
            expired_time: expiry,
            release_time: release,
            renewal_status: status_after.cloned(),
            message,
        });
    }
    risk.sort_by(|a, b| {
        (a.expired_time, &a.region, &a.instance_id).cmp(&(
            b.expired_time,
            &b.region,
            &b.instance_id,
        ))
    });
    (risk, outlook)
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
    // Checked by `unplannable` before: an instance without it is an error of the plan.
    let Some(attr) = &instance.renewal else {
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

    let modify = |after: ChangeState, code: ReasonCode, reason: String| Change {
        region: instance.region.clone(),
        instance_id: instance.instance_id.clone(),
        instance_name: instance.instance_name.clone(),
        policy: name.to_string(),
        action: Action::ModifyAutoRenew,
        reason,
        reason_code: code,
        // Built only for a change: most instances have none.
        before: renewal_state(&attr.status, attr.duration, &attr.period_unit),
        after,
        period: None,
        period_unit: None,
        client_token: None,
        token_attempt: None,
        first_deduction: None,
        price: None,
        price_unknown: None,
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
            draft.block(
                instance,
                modify(wanted_state(&want_status, want_auto), code, reason),
                rule,
            );
            draft.blocked_only += 1;
        } else if needs_modify {
            let (code, reason) = differs_reason();
            let mut change = modify(wanted_state(&want_status, want_auto), code, reason);
            if want_status == RenewalStatus::AutoRenewal {
                change.first_deduction = first_deduction(instance.expired_time, now);
                let hours_left = instance.expired_time.duration_since(now).as_hours();
                if change.first_deduction.is_none() || hours_left < TOO_LATE_HOURS {
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
    } else if let Some(rule) = blocked_by {
        let (code, reason) = differs_reason();
        draft.block(
            instance,
            modify(wanted_state(&want_status, want_auto), code, reason),
            rule,
        );
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
            first_deduction: None,
            price: None,
            price_unknown: None,
            blocked_by: None,
            client_token: Some(client_token(
                &instance.instance_id,
                instance.expired_time,
                attempt,
            )),
            token_attempt: (!attempt.is_first()).then_some(attempt.get()),
        },
        Slot::Renewal,
    ));
    // Auto-renewal turned on with (or after) the renewal: its first charge counts from the
    // new expiry.
    for (change, _) in draft.changes.iter_mut().rev() {
        if change.instance_id != instance.instance_id {
            break;
        }
        if change.action == Action::ModifyAutoRenew
            && change.after.renewal_status == Some(RenewalStatus::AutoRenewal)
        {
            change.first_deduction = first_deduction(choice.new_expiry, now);
        }
    }
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
