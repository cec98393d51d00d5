//! Saved plans at the edge: `renewctl apply plan.json` (check the file, the config it was made
//! for, and the cloud, then apply exactly it) and `renewctl show plan.json`.

use std::path::Path;

use anstream::{eprintln, println};
use anyhow::Context as _;

use super::args::{ApplyArgs, EventFormat, GlobalArgs, ShowArgs};
use super::commands::{plan_exit, print_plan, run_apply};
use super::context::{client_from_env, load_config, verify_renewals};
use super::events;
use super::spend;
use crate::apply::Report;
use crate::observe::observe_instances;
use crate::plan::Plan;
use crate::planfile::{self, Verdict};
use crate::render::style::{ERROR, paint};

/// Reads and checks a saved plan file.
fn read_plan(path: &Path) -> anyhow::Result<Plan> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the plan {}", path.display()))?;
    Ok(planfile::read(&bytes, &path.display().to_string())?)
}

pub fn show(args: &ShowArgs) -> anyhow::Result<u8> {
    let plan = read_plan(&args.plan)?;
    print_plan(&plan, args.format);
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
    if args.money.no_prices {
        anyhow::bail!(
            "--no-prices is for planning: {file} carries the prices it was reviewed with"
        );
    }
    // The limits the plan was reviewed under, and any given now: both must hold, before any
    // call (even a read).
    let recorded = plan.limits.recorded_in(&file);
    spend::enforce(&plan, &recorded)?;
    spend::enforce(&plan, &spend::from_flags(&args.money, &plan.limits)?)?;
    if !plan.has_changes() {
        println!("No changes in {file}: nothing to apply.");
        if args.format == EventFormat::Json {
            events::print_summary(args.format, &Report::default());
        }
        return Ok(0);
    }

    // Re-observe what the plan changes: a console renewal or a toggle since the review must
    // not be paid or undone blindly.
    let client = client_from_env(global).await?;
    let look = observe_instances(&client, &planfile::planned_instances(&plan)).await;
    match planfile::verdict(&plan, &look.instances) {
        Verdict::Fresh => {}
        Verdict::AlreadyApplied => {
            println!(
                "{file} was already applied: every planned instance is as the plan leads it. Nothing to do."
            );
            if args.format == EventFormat::Json {
                events::print_summary(args.format, &Report::default());
            }
            return Ok(0);
        }
        Verdict::Stale(drifted) => {
            eprintln!(
                "{}",
                paint(
                    ERROR,
                    format!(
                        "{file} is stale: {} planned instance{} changed since the plan:",
                        drifted.len(),
                        if drifted.len() == 1 { "" } else { "s" }
                    )
                )
            );
            for (region, id, what) in &drifted {
                eprintln!("  - {region}/{id}: {}", what.join("; "));
            }
            anyhow::bail!(
                "nothing was applied: make and review a new plan (renewctl plan --out {file})"
            );
        }
    }
    let report = run_apply(&client, &plan, args.format).await;
    if args.format == EventFormat::Text {
        verify_renewals(&client, &plan, &report, global).await;
    }
    Ok(if report.failed() > 0 { 1 } else { 0 })
}
