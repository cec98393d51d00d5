//! What cannot be planned, and what the reviewer must be told: an instance under a security
//! lock or with an unreadable attribute, an unreadable answer, a region that could not be read,
//! an `ids` entry found nowhere or not a subscription, a `--new-token` that changes nothing.
//! Each is an error or a warning of the plan for that instance or region alone (blast radius,
//! DESIGN.md §8): nothing else stops.

use std::collections::{BTreeMap, BTreeSet};

use super::draft::Draft;
use super::instance::wanted_setting;
use super::planner::PlanOptions;
use super::{PlanProblem, ProblemKind, Scope, Warning};
use crate::desired::{DesiredState, RenewalPolicy};
use crate::ecs::codes::SECURITY_LOCK;
use crate::observed::{ChargeType, InstanceSnapshot, ObservedState};
use crate::policy;

/// Why a managed instance cannot be planned at all, if it cannot: a security lock (ECS refuses
/// every change; a `financial` lock is what an expired instance shows, and renewing lifts it),
/// or an auto-renew attribute that could not be read.
pub(super) fn unplannable(
    observed: &ObservedState,
    instance: &InstanceSnapshot,
    policy: &RenewalPolicy,
    site: Option<crate::ecs::Site>,
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
    if wanted_setting(policy, site).is_none() {
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
pub(super) fn listed_ids<'a>(
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

/// Records the instances whose DescribeInstances element could not be read: an error when a
/// policy (or two) would manage it, a warning when none would.
pub(super) fn unreadable_instances(
    draft: &mut Draft,
    observed: &ObservedState,
    matcher: &policy::Matcher<'_>,
) {
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
}

/// Records each region that could not be observed: none of its instances is planned.
pub(super) fn failed_regions(draft: &mut Draft, observed: &ObservedState) {
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
}

/// Warns about each instance an `ids` policy lists that is not a subscription (it was looked
/// up): renewal does not apply. Returns how many there are.
pub(super) fn not_subscriptions(
    draft: &mut Draft,
    observed: &ObservedState,
    listed_ids: &BTreeMap<&str, &str>,
) -> u64 {
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
    looked_up_count
}

/// Warns about each `--new-token` that names an instance the plan does not renew.
pub(super) fn unused_token_attempts(draft: &mut Draft, options: &PlanOptions) {
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
}

/// A `--target` that names no observed subscription instance is an error (a typo in an
/// emergency must not read as "nothing to do"); one that no policy manages is a warning.
pub(super) fn scope_targets(
    draft: &mut Draft,
    observed: &ObservedState,
    matcher: &policy::Matcher<'_>,
    scope: &Scope,
) {
    for target in &scope.targets {
        match observed.instances.iter().find(|i| &i.instance_id == target) {
            None => draft.errors.push(PlanProblem {
                region: None,
                instance_id: Some(target.clone()),
                policies: Vec::new(),
                kind: ProblemKind::NotFound,
                reason: format!(
                    "--target {target} is not a subscription instance of the regions read: \
                     check the id"
                ),
            }),
            Some(instance) if matches!(matcher.govern(instance), Ok(None)) => {
                draft.warnings.push(Warning {
                    region: Some(instance.region.clone()),
                    instance_id: Some(target.clone()),
                    policy: None,
                    message: format!(
                        "--target {target}: no policy manages it, so nothing is planned for it"
                    ),
                });
            }
            Some(_) => {}
        }
    }
}
