//! Saved plans at the edge: `renewctl apply plan.json` (check the file, the config it was made
//! for, its age, its limits and the cloud, then apply exactly it) and `renewctl show plan.json`.

use std::path::Path;

use anstream::println;
use anyhow::Context as _;

use super::args::{ApplyArgs, EventFormat, GlobalArgs, ShowArgs};
use super::commands::{
    Recheck, apply_exit, eprint_plan_errors, plan_exit, print_plan, recheck, run_apply,
};
use super::context::{client_from_env, load_config};
use super::events;
use super::spend;
use crate::apply::Report;
use crate::plan::Plan;
use crate::planfile;

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
    let config = load_config(&args.config.config)
        .with_context(|| format!("{file} must be checked against the config it was made for"))?;
    planfile::check_config(
        &plan,
        &file,
        &args.config.config.display().to_string(),
        &config.digest,
    )?;
    planfile::check_age(&plan, &file, jiff::Timestamp::now(), args.max_plan_age)?;
    if args.money.no_prices {
        anyhow::bail!(
            "--no-prices is for planning: {file} carries the prices it was reviewed with"
        );
    }
    if !args.tokens.new_tokens.is_empty() {
        anyhow::bail!(
            "--new-token is for planning: {file} carries the tokens it was reviewed with; make \
             and review a new plan with `renewctl plan --new-token … --out {file}`"
        );
    }
    // The limits the plan was reviewed under, and any given now: both must hold, before any
    // call (even a read). A flag can only tighten them.
    let recorded = plan.limits.recorded_in(&file);
    spend::enforce(&plan, &recorded)?;
    spend::enforce(&plan, &spend::from_flags(&args.money, &plan.limits)?)?;
    let errors = plan.errors.len();
    if !plan.has_changes() {
        println!("No changes in {file}: nothing to apply.");
        if args.format == EventFormat::Json {
            events::print_summary(args.format, &Report::default(), errors);
        }
        if errors > 0 {
            eprint_plan_errors(&plan);
            return Ok(1);
        }
        return Ok(0);
    }

    // Re-observe what the plan changes: a console renewal or a toggle since the review must
    // not be paid or undone blindly.
    let client = client_from_env(global).await?;
    let remedy = format!("make and review a new plan (renewctl plan --out {file})");
    let excluded = match recheck(&client, &plan, &file, &remedy).await? {
        Recheck::Proceed(excluded) => excluded,
        Recheck::AlreadyApplied => {
            println!(
                "{file} was already applied: every planned instance is as the plan leads it. Nothing to do."
            );
            if args.format == EventFormat::Json {
                events::print_summary(args.format, &Report::default(), errors);
            }
            return Ok(if errors > 0 { 1 } else { 0 });
        }
    };
    let report = run_apply(&client, &plan, args.format, global, excluded).await;
    Ok(apply_exit(&report, &plan))
}
