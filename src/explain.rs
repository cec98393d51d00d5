//! `renewctl explain`: everything renewctl knows and decides about one instance, as a view of
//! decisions made elsewhere. Which policies match and why come from `policy`, the governing one
//! and any conflict from `policy::govern`, and what would happen from the plan itself (the
//! instance's changes, the calls that carry them, its warnings). Nothing is decided here, so
//! `explain` and `plan` cannot disagree. Pure: the shell observes and plans;
//! `render::explain` renders.

use crate::desired::DesiredState;
use crate::observed::{ChargeType, InstanceSnapshot};
use crate::plan::{Call, Change, Plan, PlanProblem, RiskItem, Warning};
use crate::policy::{self, Conflict, MatchReason};

/// How one policy relates to the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMatch {
    /// Index in the file's `policies`.
    pub index: usize,
    pub name: String,
    /// Why it matches, or why not.
    pub outcome: Result<MatchReason, String>,
}

/// Which policy governs the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Governance {
    /// No policy matches: renewctl never touches it.
    Unmanaged,
    /// Only subscription instances are managed.
    NotSubscription,
    Governed {
        index: usize,
        name: String,
        /// Policies that match too but do not govern (tag policies under an id policy, or tag
        /// policies that agree).
        also: Vec<String>,
        settings: String,
    },
    Conflict(Conflict),
}

/// What the plan does for the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Planned {
        changes: Vec<Change>,
        /// The calls carrying its changes, with their number in the plan and how many
        /// instances each carries.
        calls: Vec<(usize, Call, usize)>,
        warnings: Vec<Warning>,
        /// The plan's risk report for it: nothing renews it and it expires soon, or has.
        risk: Vec<RiskItem>,
        /// The plan's errors about it (or its region): it is left untouched.
        errors: Vec<PlanProblem>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub instance: InstanceSnapshot,
    pub policies: Vec<PolicyMatch>,
    pub governance: Governance,
    pub outcome: Outcome,
}

/// The settings of a policy as one line: `renewal auto, auto_renew_period 1 year, …`.
fn settings(policy: &crate::desired::RenewalPolicy) -> String {
    let mut parts = vec![format!("renewal {}", policy.renewal)];
    for (key, field) in [
        ("auto_renew_period", &policy.auto_renew_period),
        ("min_remaining", &policy.min_remaining),
        ("renew_period", &policy.renew_period),
    ] {
        if let Some(field) = field {
            parts.push(format!("{key} {}", field.text));
        }
    }
    if policy.protects() {
        parts.push("protect true".to_string());
    }
    parts.join(", ")
}

/// Explains `instance` under `desired`, given the plan made for the whole observed state.
pub fn explain(desired: &DesiredState, instance: &InstanceSnapshot, plan: &Plan) -> Explanation {
    let policies = desired
        .policies
        .iter()
        .enumerate()
        .map(|(index, policy)| PolicyMatch {
            index,
            name: policy.name.clone(),
            outcome: policy::match_reason(policy, instance),
        })
        .collect();

    let governance = if instance.charge_type != ChargeType::PrePaid {
        Governance::NotSubscription
    } else {
        match policy::govern(desired, instance) {
            Ok(None) => Governance::Unmanaged,
            Ok(Some(g)) => Governance::Governed {
                index: g.index,
                name: g.policy.name.clone(),
                also: g
                    .also_matched
                    .iter()
                    .map(|&i| desired.policies[i].name.clone())
                    .collect(),
                settings: settings(g.policy),
            },
            Err(conflict) => Governance::Conflict(conflict),
        }
    };

    let id = instance.instance_id.as_str();
    let outcome = {
        {
            let mine: Vec<usize> = plan
                .changes
                .iter()
                .enumerate()
                .filter(|(_, c)| c.instance_id == id)
                .map(|(i, _)| i)
                .collect();
            Outcome::Planned {
                // Its blocked changes too, after the planned ones: they render as blocked.
                changes: mine
                    .iter()
                    .map(|&i| plan.changes[i].clone())
                    .chain(plan.blocked.iter().filter(|c| c.instance_id == id).cloned())
                    .collect(),
                calls: plan
                    .calls
                    .iter()
                    .enumerate()
                    .filter(|(_, call)| call.changes.iter().any(|c| mine.contains(c)))
                    .map(|(n, call)| {
                        let instances = call.ids().len();
                        (n + 1, call.clone(), instances)
                    })
                    .collect(),
                warnings: plan
                    .warnings
                    .iter()
                    .filter(|w| w.instance_id.as_deref() == Some(id))
                    .cloned()
                    .collect(),
                risk: plan
                    .risk
                    .iter()
                    .filter(|r| r.instance_id == id)
                    .cloned()
                    .collect(),
                errors: plan
                    .errors
                    .iter()
                    .filter(|p| match &p.instance_id {
                        Some(other) => other == id,
                        None => p.region.as_deref() == Some(instance.region.as_str()),
                    })
                    .cloned()
                    .collect(),
            }
        }
    };

    Explanation {
        instance: instance.clone(),
        policies,
        governance,
        outcome,
    }
}
