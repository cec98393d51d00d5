//! Saved plans at the edge: `renewctl apply plan.json` (read the file and the config it was made
//! for, have the engine check and apply exactly it) and `renewctl show plan.json`.

use std::path::Path;

use anstream::println;
use anyhow::Context as _;

use super::args::{ApplyArgs, EventFormat, GlobalArgs, ShowArgs};
use super::commands::{
    already_applied_exit, apply_exit, eprint_plan_errors, flag_limits, no_changes, plan_exit,
    print_plan, run_apply,
};
use super::context::{client_from_env, load_config, routing};
use super::events;
use crate::engine::apply::{Applied, Guard, SavedPlanCheck, check_saved};
use crate::plan::Plan;
use crate::planfile;
use crate::report::Report;

/// Reads and checks a saved plan file.
fn read_plan(path: &Path) -> anyhow::Result<Plan> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the plan {}", path.display()))?;
    Ok(planfile::read(&bytes, &path.display().to_string())?)
}

pub fn show(args: &ShowArgs) -> anyhow::Result<u8> {
    let plan = read_plan(&args.plan)?;
    print_plan(&plan, args.format);
    if plan.has_errors() {
        eprint_plan_errors(&plan);
        return Ok(1);
    }
    Ok(plan_exit(&plan, args.detailed_exitcode))
}

pub async fn apply_saved(global: &GlobalArgs, args: &ApplyArgs, path: &Path) -> anyhow::Result<u8> {
    let file = path.display().to_string();
    let plan = read_plan(path)?;
    let config = load_config(global, &args.config.config)
        .with_context(|| format!("{file} must be checked against the config it was made for"))?;
    if args.money.no_prices {
        anyhow::bail!(
            "--no-prices is for planning: {file} carries the prices it was reviewed with"
        );
    }
    if !args.scope.targets.is_empty()
        || !args.scope.policies.is_empty()
        || args.scope.group_by.is_some()
    {
        anyhow::bail!(
            "--target, --policy and --group-by are for planning: {file} is applied as reviewed (a scoped \
             plan stays scoped); make and review a scoped plan with `renewctl plan --target … --out {file}`"
        );
    }
    if !args.tokens.new_tokens.is_empty() {
        anyhow::bail!(
            "--new-token is for planning: {file} carries the tokens it was reviewed with; make \
             and review a new plan with `renewctl plan --new-token … --out {file}`"
        );
    }
    // The config it was made for, its age, the limits it was reviewed under and any given now:
    // all must hold before any call (even a read). A flag can only tighten the limits.
    check_saved(
        &plan,
        &SavedPlanCheck {
            file: &file,
            config: &args.config.config.display().to_string(),
            config_digest: &config.digest,
            now: jiff::Timestamp::now(),
            max_age: args.max_plan_age,
            site: config.desired.site,
            limits_now: &flag_limits(&args.money, &plan.limits)?,
        },
    )?;
    if !plan.has_changes() {
        println!("No changes in {file}: nothing to apply.");
        return Ok(no_changes(&plan, args.format));
    }

    // Re-observe what the plan changes: a console renewal or a toggle since the review must
    // not be paid or undone blindly.
    let client = client_from_env(global, routing(Some(&config.desired))).await?;
    let remedy = format!("make and review a new plan (renewctl plan --out {file})");
    let guard = Guard::Recheck {
        what: &file,
        remedy: &remedy,
    };
    match run_apply(&client, &plan, guard, args.format, global).await? {
        Applied::AlreadyApplied { unread } => {
            println!(
                "{file} was already applied: every planned instance that could be read is as the plan leads it. Nothing to do."
            );
            if args.format == EventFormat::Json {
                events::print_summary(args.format, &Report::default(), plan.errors.len());
            }
            Ok(already_applied_exit(&plan, &unread))
        }
        applied => Ok(apply_exit(&applied.report(), &plan)),
    }
}
