//! `renewctl explain`: everything renewctl knows and decides about one instance, as a view of
//! decisions made elsewhere. Which policies match and why come from `policy`, the governing one
//! and any conflict from `policy::govern`, and what would happen from the plan itself (the
//! instance's changes, the calls that carry them, its warnings). Nothing is decided here, so
//! `explain` and `plan` cannot disagree. Pure: the shell observes and plans.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::desired::DesiredState;
use crate::observed::{ChargeType, InstanceSnapshot};
use crate::plan::{Call, Change, Plan, PlanError, Warning};
use crate::policy::{self, Conflict, MatchReason};
use crate::render::style::{BOLD, DIM, WARN, paint};
use crate::time::format_api;

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
    },
    /// No plan could be made: the problems naming this instance, and how many there are in all.
    Failed { here: Vec<String>, total: usize },
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
    parts.join(", ")
}

/// Explains `instance` under `desired`, given the plan made for the whole observed state.
pub fn explain(
    desired: &DesiredState,
    instance: &InstanceSnapshot,
    plan: &Result<Plan, PlanError>,
) -> Explanation {
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
    let outcome = match plan {
        Ok(plan) => {
            let mine: Vec<usize> = plan
                .changes
                .iter()
                .enumerate()
                .filter(|(_, c)| c.instance_id == id)
                .map(|(i, _)| i)
                .collect();
            Outcome::Planned {
                changes: mine.iter().map(|&i| plan.changes[i].clone()).collect(),
                calls: plan
                    .calls
                    .iter()
                    .enumerate()
                    .filter(|(_, call)| call.changes.iter().any(|c| mine.contains(c)))
                    .map(|(n, call)| {
                        let instances = call
                            .params
                            .get("InstanceId")
                            .map(|ids| ids.split(',').count())
                            .unwrap_or(1);
                        (n + 1, call.clone(), instances)
                    })
                    .collect(),
                warnings: plan
                    .warnings
                    .iter()
                    .filter(|w| w.instance_id.as_deref() == Some(id))
                    .cloned()
                    .collect(),
            }
        }
        Err(err) => Outcome::Failed {
            here: err
                .problems
                .iter()
                .filter(|p| p.contains(id))
                .cloned()
                .collect(),
            total: err.problems.len(),
        },
    };

    Explanation {
        instance: instance.clone(),
        policies,
        governance,
        outcome,
    }
}

/// Days from `now` to `then`, rounded to the nearest day as the plan's reasons are, as words.
fn from_now(now: Timestamp, then: Timestamp) -> String {
    let secs = then.duration_since(now).as_secs();
    let days = (secs + secs.signum() * 43_200) / 86_400;
    match days {
        0 => "today".to_string(),
        d if d > 0 => format!("in {d} day{}", if d == 1 { "" } else { "s" }),
        d => format!("{} day{} ago", -d, if d == -1 { "" } else { "s" }),
    }
}

fn reason_text(reason: &MatchReason, instance: &InstanceSnapshot) -> String {
    match reason {
        MatchReason::Id => "lists its id".to_string(),
        MatchReason::Tags(tags) => {
            let parts: Vec<String> = tags
                .iter()
                .map(|(k, v)| match (v.as_str(), instance.tags.get(k)) {
                    ("*", Some(have)) => format!("{k}=* ({have})"),
                    _ => format!("{k}={v}"),
                })
                .collect();
            format!("matches tags {}", parts.join(", "))
        }
    }
}

/// The explanation as text, in the plan's colours (stripped off a terminal by the writer).
pub fn render(e: &Explanation, now: Timestamp) -> String {
    let mut out = String::new();
    let i = &e.instance;
    let name = if i.instance_name.is_empty() {
        String::new()
    } else {
        format!(" ({})", i.instance_name)
    };
    let _ = writeln!(
        out,
        "{}",
        paint(BOLD, format!("{}/{}{name}", i.region, i.instance_id))
    );

    let _ = writeln!(out, "\nObserved:");
    let _ = writeln!(out, "  billing        {}, {}", i.charge_type, i.status);
    if i.charge_type == ChargeType::PrePaid {
        let _ = writeln!(
            out,
            "  expires        {} ({})",
            format_api(i.expired_time),
            from_now(now, i.expired_time)
        );
    }
    let renewal = match &i.renewal {
        Some(r) if r.status == crate::observed::RenewalStatus::AutoRenewal => {
            format!("{} every {} {}", r.status, r.duration, r.period_unit)
        }
        Some(r) => r.status.to_string(),
        None => "not read".to_string(),
    };
    let _ = writeln!(out, "  renewal        {renewal}");
    let tags: Vec<String> = i.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(
        out,
        "  tags           {}",
        if tags.is_empty() {
            "none".to_string()
        } else {
            tags.join(", ")
        }
    );
    if !i.locks.is_empty() {
        let _ = writeln!(out, "  locks          {}", i.locks.join(", "));
    }

    let _ = writeln!(out, "\nPolicies:");
    if e.policies.is_empty() {
        let _ = writeln!(out, "  (the file has none)");
    }
    let governing = match &e.governance {
        Governance::Governed { index, .. } => Some(*index),
        _ => None,
    };
    for p in &e.policies {
        let head = format!("{} (policies[{}])", p.name, p.index);
        match &p.outcome {
            Ok(reason) => {
                let mark = if governing == Some(p.index) {
                    paint(BOLD, "  governs")
                } else {
                    String::new()
                };
                let _ = writeln!(out, "  + {head}: {}{mark}", reason_text(reason, i));
            }
            Err(why) => {
                let _ = writeln!(out, "  {}", paint(DIM, format!("- {head}: {why}")));
            }
        }
    }

    let _ = writeln!(out);
    match &e.governance {
        Governance::NotSubscription => {
            let _ = writeln!(
                out,
                "Not managed: renewctl manages subscription (PrePaid) instances only; this one is {}.",
                i.charge_type
            );
        }
        Governance::Unmanaged => {
            let _ = writeln!(
                out,
                "Unmanaged: no policy matches it, so renewctl never touches it."
            );
        }
        Governance::Governed {
            name,
            also,
            settings,
            ..
        } => {
            let _ = writeln!(out, "Governed by {}: {settings}.", paint(BOLD, name));
            if !also.is_empty() {
                let _ = writeln!(
                    out,
                    "  also matched: {} (an ids policy beats tag policies; agreeing tag policies are equivalent)",
                    also.join(", ")
                );
            }
        }
        Governance::Conflict(conflict) => {
            let _ = writeln!(out, "{} {conflict}", paint(WARN, "Conflict:"));
        }
    }

    let _ = writeln!(out);
    match &e.outcome {
        Outcome::Failed { here, total } => {
            let _ = writeln!(
                out,
                "The plan cannot be made ({total} problem{} in all){}",
                if *total == 1 { "" } else { "s" },
                if here.is_empty() {
                    "; none is about this instance.".to_string()
                } else {
                    "; about this instance:".to_string()
                }
            );
            for problem in here {
                let _ = writeln!(out, "  - {problem}");
            }
        }
        Outcome::Planned {
            changes,
            calls,
            warnings,
        } => {
            if changes.is_empty() {
                let _ = writeln!(out, "The plan makes no change to it.");
            } else {
                let _ = writeln!(out, "The plan:");
                for change in changes {
                    crate::render::text::change_lines(&mut out, change);
                }
                let _ = writeln!(out, "\nCalls (numbered as in the plan):");
                for (number, call, instances) in calls {
                    let params: Vec<String> = call
                        .params
                        .iter()
                        .filter(|(k, _)| k.as_str() != "InstanceId" && k.as_str() != "RegionId")
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    let with = if *instances > 1 {
                        format!(" (with {} other instances)", instances - 1)
                    } else {
                        String::new()
                    };
                    let _ = writeln!(
                        out,
                        "  {number}. phase {}  {}  {}{with}  {}",
                        call.phase,
                        call.region,
                        paint(BOLD, call.action),
                        paint(DIM, params.join(" "))
                    );
                }
            }
            if !warnings.is_empty() {
                let _ = writeln!(out, "\n{}", paint(WARN, "Warnings:"));
                for w in warnings {
                    let _ = writeln!(out, "  {} {}", paint(WARN, "!"), w.message);
                }
            }
        }
    }
    out
}
