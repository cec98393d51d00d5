//! The apply use case, for a plan made in this run or read from a file: the checks a saved
//! plan must pass (the config it was made for, its age, its spending limits), the re-read that
//! refuses a plan whose instances moved since it was made, then the calls and the verification
//! (`crate::apply`). Nothing is sent before every check has passed.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use super::EngineError;
use super::events::{Event, Sink, Stage, Tracked};
use crate::apply::{ApplyOptions, apply_with};
use crate::cloud::EcsApi;
use crate::interrupt::Stop;
use crate::observe::observe_instances;
use crate::plan::Plan;
use crate::plan::spend::{self, SpendLimits};
use crate::planfile::{self, Verdict};
use crate::report::Report;

/// What guards the plan's facts before any call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard<'a> {
    /// The plan was made in this run and is applied at once (`apply --auto-approve`): nothing
    /// to re-read.
    JustMade,
    /// Time passed since the plan was made (a prompt answered, a saved file): every planned
    /// instance is read again, and the plan is refused whole if any moved. `what` names the
    /// plan in the refusal, `remedy` says what to do then.
    Recheck { what: &'a str, remedy: &'a str },
}

/// How an apply ended, when it was allowed to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The plan has no change: nothing was read or sent.
    NoChanges,
    /// Every planned instance that could be read is already as the plan leads it (it was
    /// applied before, or someone did the same by hand): nothing was sent, nothing will be paid
    /// again. `unread`: planned instances that could not be read, with why — when there are
    /// any, the plan may be only partly done.
    AlreadyApplied { unread: BTreeMap<String, String> },
    /// The calls were sent: what became of each change, and the verification.
    Done(Report),
}

impl Applied {
    /// The report of the calls; an empty one when none was sent.
    pub fn report(&self) -> Report {
        match self {
            Applied::Done(report) => report.clone(),
            Applied::NoChanges | Applied::AlreadyApplied { .. } => Report::default(),
        }
    }
}

/// What a saved plan is checked against before anything is read or sent.
#[derive(Debug, Clone)]
pub struct SavedPlanCheck<'a> {
    /// How the plan file is named in messages.
    pub file: &'a str,
    /// The config it must have been made for: how it is named, and its digest now.
    pub config: &'a str,
    pub config_digest: &'a str,
    pub now: Timestamp,
    pub max_age: Duration,
    /// The site in force now (the config's, or `--site`): it must be the plan's.
    pub site: Option<crate::ecs::Site>,
    /// Limits given now (flags): they hold as well as the recorded ones; they can only tighten.
    pub limits_now: &'a SpendLimits,
}

/// Refuses a saved plan made for another version of the config, too old or dated in the
/// future, or breaking the limits it was reviewed under or those given now.
pub fn check_saved(plan: &Plan, check: &SavedPlanCheck<'_>) -> Result<(), EngineError> {
    planfile::check_config(plan, check.file, check.config, check.config_digest)?;
    planfile::check_age(plan, check.file, check.now, check.max_age)?;
    if plan.site != check.site {
        let name = |site: Option<crate::ecs::Site>| match site {
            Some(site) => format!("site {site}"),
            None => "no site".to_string(),
        };
        return Err(EngineError::PlanSite(format!(
            "{} was made for {}, and {} is in force now: make and review the plan again \
             (renewctl plan --out {})",
            check.file,
            name(plan.site),
            name(check.site),
            check.file
        )));
    }
    spend::check(plan, &plan.limits.recorded_in(check.file))?;
    spend::check(plan, check.limits_now)?;
    Ok(())
}

/// Applies `plan` under `guard`. `options.excluded` is extended with the planned instances the
/// re-read could not see (their changes are not sent). `stop` interrupts it (no new call; calls
/// in flight get `options.stop_grace`).
pub async fn apply<A: EcsApi>(
    api: &A,
    plan: &Plan,
    guard: Guard<'_>,
    mut options: ApplyOptions,
    stop: &Stop,
    sink: Sink<'_>,
) -> Result<Applied, EngineError> {
    if !plan.has_changes() {
        return Ok(Applied::NoChanges);
    }
    if let Guard::Recheck { what, remedy } = guard {
        let (verdict, unread) = recheck(api, plan, sink).await;
        match verdict {
            Verdict::Fresh => options.excluded.extend(unread),
            // Nothing is sent (it would repeat what was done); the instances that could not be
            // read are reported, so a partly done plan never reads as done.
            Verdict::AlreadyApplied => return Ok(Applied::AlreadyApplied { unread }),
            Verdict::Stale(drifted) => {
                return Err(EngineError::Stale {
                    what: what.to_string(),
                    drifted,
                    remedy: remedy.to_string(),
                });
            }
        }
    }
    // Before any money moves: the account is on the site the plan was made for.
    super::site::check_plan(api, plan, &options.excluded).await?;
    sink(Event::Applying {
        changes: plan.changes.len(),
        calls: plan.calls.len(),
    });
    let report = apply_with(api, plan, &options, stop, |event| sink(Event::Apply(event))).await;
    Ok(Applied::Done(report))
}

/// Reads every planned instance again: the verdict on the plan, and the planned instances that
/// could not be read (with why), which are left out of the verdict and of the apply.
async fn recheck<A: EcsApi>(
    api: &A,
    plan: &Plan,
    sink: Sink<'_>,
) -> (Verdict, BTreeMap<String, String>) {
    let tracked = Tracked {
        api,
        stage: Stage::Rechecking,
        sink,
    };
    let look = observe_instances(&tracked, &planfile::planned_instances(plan)).await;
    sink(Event::Done(Stage::Rechecking));
    let unread = planfile::unread_instances(plan, &look.unread);
    (planfile::verdict(plan, &look.instances, &unread), unread)
}
