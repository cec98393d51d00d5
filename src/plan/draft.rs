//! The plan as it is drafted, instance by instance: changes with their batching slots,
//! warnings, errors, counters and each managed instance's coverage for the risk report.

use super::calls::Slot;
use super::change::Change;
use super::risk::Coverage;
use super::{ObservedFingerprint, PlanProblem, ProblemKind, Warning};
use crate::observed::InstanceSnapshot;

/// Accumulates the plan while instances are visited.
#[derive(Default)]
pub(super) struct Draft {
    /// The account's site (`None`: only what both sites accept).
    pub(super) site: Option<crate::ecs::Site>,
    pub(super) changes: Vec<(Change, Slot)>,
    pub(super) warnings: Vec<Warning>,
    /// Instances and regions left out of the plan (blast radius: nothing else stops).
    pub(super) errors: Vec<PlanProblem>,
    /// Managed instances among `errors`.
    pub(super) errored: u64,
    pub(super) fingerprints: Vec<ObservedFingerprint>,
    /// Lowering changes a protection rule blocks.
    pub(super) blocked: Vec<Change>,
    pub(super) managed: u64,
    pub(super) skipped: u64,
    pub(super) changed: u64,
    /// Instances whose only planned change is blocked.
    pub(super) blocked_only: u64,
    /// Per observed instance (by index), when managed: its renewal status after the plan,
    /// whether a renewal is planned, and its policy.
    pub(super) coverage: Vec<Option<Coverage>>,
}

impl Draft {
    pub(super) fn cover(&mut self, index: usize, coverage: Coverage) {
        if let Some(slot) = self.coverage.get_mut(index) {
            *slot = Some(coverage);
        }
    }

    /// Records `change` as blocked by `rule` instead of planning it, with a warning.
    pub(super) fn block(&mut self, instance: &InstanceSnapshot, mut change: Change, rule: &str) {
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
    pub(super) fn error(
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

    pub(super) fn warn(&mut self, instance: &InstanceSnapshot, policy: &str, message: String) {
        self.warnings.push(Warning {
            region: Some(instance.region.clone()),
            instance_id: Some(instance.instance_id.clone()),
            policy: Some(policy.to_string()),
            message,
        });
    }
}
