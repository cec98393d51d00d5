//! The planner: `plan(desired, observed, now)` → `Plan`. Pure: it reads no clock, environment,
//! file or network, so the same inputs always give the same plan (DESIGN.md §2, §4, §5). It
//! walks the observed instances: which policy governs each, what cannot be planned at all
//! (`problems`: an error of the plan for that instance or region alone), what each managed
//! instance needs (`instance`: a status change, a renewal, both, or nothing; what protection
//! blocks); then `calls` batches the changes, `risk` reports what nothing renews, `summary`
//! counts.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::calls::{self, Slot};
use super::change::Change;
use super::cost;
use super::draft::Draft;
use super::instance::plan_instance;
use super::problems::{
    failed_regions, listed_ids, not_subscriptions, scope_targets, unplannable,
    unreadable_instances, unused_token_attempts,
};
use super::protect::protected_by;
use super::risk::{RISK_WINDOW_DAYS, risk_and_outlook};
use super::{FORMAT_VERSION, ObservedFingerprint, Plan, ProblemKind, Scope, Summary};
use crate::desired::DesiredState;
use crate::ecs::TokenAttempt;
use crate::observed::ObservedState;
use crate::policy;

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
    /// A partial plan (`--target`, `--policy`): only these instances are planned; empty for
    /// the whole fleet.
    pub scope: Scope,
    /// `--group-by tag:KEY`: subtotals per value of this tag.
    pub group_by: Option<String>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            risk_window_days: RISK_WINDOW_DAYS as u32,
            token_attempts: BTreeMap::new(),
            scope: Scope::default(),
            group_by: None,
        }
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
        site: desired.site,
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
            // Outside a partial plan's scope: not considered (it is still in the risk report).
            Ok(Some(governing))
                if !options.scope.is_empty()
                    && !options
                        .scope
                        .covers(&instance.instance_id, &governing.policy.name) => {}
            Ok(Some(governing)) => {
                draft.managed += 1;
                if let Some(problem) =
                    unplannable(observed, instance, governing.policy, desired.site)
                {
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
    unreadable_instances(&mut draft, observed, &matcher);
    failed_regions(&mut draft, observed);

    let listed_ids = listed_ids(desired, observed, &mut draft);

    let looked_up_count = not_subscriptions(&mut draft, observed, &listed_ids);
    scope_targets(&mut draft, observed, &matcher, &options.scope);
    unused_token_attempts(&mut draft, options);

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
    let changed_ids: std::collections::BTreeSet<String> =
        changes.iter().map(|c| c.instance_id.clone()).collect();

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
        site: desired.site,
        scope: (!options.scope.is_empty()).then(|| options.scope.clone()),
        groups: options.group_by.as_ref().map(|key| cost::Groups {
            key: key.clone(),
            rows: Vec::new(),
            members: observed
                .instances
                .iter()
                .filter(|i| changed_ids.contains(&i.instance_id))
                .map(|i| (i.instance_id.clone(), i.tags.get(key).cloned()))
                .collect(),
        }),
    };
    // Prices are read by the shell after planning; until then every renewal's is unknown.
    cost::summarize(&mut plan);
    plan
}
