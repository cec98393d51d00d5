//! The commands: plan, apply. Each reads its inputs, calls the core, and renders.

use std::io::{BufRead, IsTerminal, Write};

use anstream::{eprintln, print, println};

use super::EXIT_CHANGES;
use super::args::{ApplyArgs, Format, GlobalArgs, PlanArgs};
use super::context::{client_from_env, load_config, make_plan};
use crate::apply::{Report, apply};
use crate::cloud::EcsApi;
use crate::plan::Plan;
use crate::render;

pub async fn plan(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<u8> {
    let config = load_config(&args.config.config)?;
    let client = client_from_env(global)?;
    let plan = make_plan(&client, &config).await?;
    match args.format {
        Format::Text => print!("{}", render::text::plan(&plan)),
        Format::Json => print!("{}", render::json::plan(&plan)),
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        EXIT_CHANGES
    } else {
        0
    })
}

pub async fn apply_config(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<u8> {
    let config = load_config(&args.config.config)?;
    // Refuse before observing anything: a pipeline without --auto-approve is a mistake.
    if !args.auto_approve && !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to apply without confirmation: stdin is not a terminal. Review the plan \
             (renewctl plan) and run `renewctl apply --auto-approve`"
        );
    }
    let client = client_from_env(global)?;
    let plan = make_plan(&client, &config).await?;
    print!("{}", render::text::plan(&plan));
    if !plan.has_changes() {
        return Ok(0);
    }
    if !args.auto_approve && !confirm()? {
        eprintln!("Apply cancelled: nothing was changed.");
        return Ok(1);
    }
    println!();
    let report = run_apply(&client, &plan).await;
    Ok(if report.failed() > 0 { 1 } else { 0 })
}

/// Asks on the terminal; only `yes` approves.
fn confirm() -> anyhow::Result<bool> {
    print!(
        "\nDo you want to make these changes?\n  renewctl will send exactly the API calls listed above.\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Applies `plan`, printing each outcome as it happens and the summary at the end.
pub async fn run_apply<A: EcsApi>(api: &A, plan: &Plan) -> Report {
    println!(
        "Applying {} change{} with {} call{}:",
        plan.changes.len(),
        if plan.changes.len() == 1 { "" } else { "s" },
        plan.calls.len(),
        if plan.calls.len() == 1 { "" } else { "s" }
    );
    let report = apply(api, plan, |index, outcome| {
        println!("{}", render::text::outcome_line(plan, index, outcome));
    })
    .await;
    println!("\n{}", render::text::apply_summary(&report));
    report
}
