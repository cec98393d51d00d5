//! The commands plan and apply (from the config). Each reads its inputs, calls the core, and
//! renders.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::Context as _;

use anstream::{eprintln, print, println};

use super::EXIT_CHANGES;
use super::args::{ApplyArgs, EventFormat, Format, GlobalArgs, MoneyArgs, PlanArgs};
use super::context::{client_from_env, load_config, make_plan_with, verify_renewals};
use super::events;
use super::progress::Progress;
use super::spend;
use crate::apply::{ApplyEvent, Report, apply};
use crate::cloud::EcsApi;
use crate::plan::{Plan, PlanOptions, SpendLimits};
use crate::{planfile, render};

pub async fn plan(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<u8> {
    let config = load_config(&args.config.config)?;
    let spend_limits = config_limits(&config, &args.config.config, &args.money)?;
    let client = client_from_env(global).await?;
    let options = PlanOptions {
        risk_window_days: args.risk.risk_window,
        ..PlanOptions::default()
    };
    let mut plan = make_plan_with(&client, &config, &options, !args.money.no_prices).await?;
    plan.limits = spend_limits;
    // A plan over its limits is shown (reviewers see why) but never saved: it cannot be applied.
    let within = spend::enforce(&plan, &plan.limits);
    if let (Some(out), Ok(())) = (&args.out, &within) {
        write_atomically(out, planfile::to_saved_json(&plan).as_bytes())?;
    }
    print_plan(&plan, args.format);
    within?;
    if let Some(out) = &args.out {
        eprintln!(
            "Saved the plan to {0}. Apply exactly this plan with: renewctl apply {0}",
            out.display()
        );
    }
    Ok(plan_exit(&plan, args.detailed_exitcode))
}

/// The limits of a plan made from `config`: its `limits:`, overridden by the flags.
fn config_limits(
    config: &crate::desired::Config,
    path: &Path,
    money: &MoneyArgs,
) -> anyhow::Result<SpendLimits> {
    let file = spend::from_config(config.desired.limits.as_ref(), &path.display().to_string());
    Ok(file.overridden_by(&spend::from_flags(money, &file)?))
}

/// Prints a plan in `format` on stdout.
pub fn print_plan(plan: &Plan, format: Format) {
    match format {
        Format::Text => print!("{}", render::text::plan(plan)),
        Format::Json => print!("{}", render::json::plan(plan)),
        Format::Markdown => print!("{}", render::markdown::plan(plan)),
    }
}

/// The exit status of a plan: 2 with changes under `--detailed-exitcode`, else 0.
pub fn plan_exit(plan: &Plan, detailed: bool) -> u8 {
    if detailed && plan.has_changes() {
        EXIT_CHANGES
    } else {
        0
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so a reader never sees
/// half a plan.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan.json".to_string());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write the plan to {}", path.display()))?;
    Ok(())
}

pub async fn apply_config(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<u8> {
    let config = load_config(&args.config.config)?;
    // Refuse before observing anything: a pipeline without --auto-approve is a mistake.
    if !args.auto_approve && !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to apply without confirmation: stdin is not a terminal. Review the plan \
             (renewctl plan) and run `renewctl apply --auto-approve`, or apply a saved plan \
             (`renewctl plan --out plan.json`, then `renewctl apply plan.json`)"
        );
    }
    if !args.auto_approve && args.format == EventFormat::Json {
        anyhow::bail!("`--format json` does not prompt: add --auto-approve, or apply a saved plan");
    }
    let spend_limits = config_limits(&config, &args.config.config, &args.money)?;
    let client = client_from_env(global).await?;
    let options = PlanOptions {
        risk_window_days: args.risk.risk_window,
        ..PlanOptions::default()
    };
    let mut plan = make_plan_with(&client, &config, &options, !args.money.no_prices).await?;
    plan.limits = spend_limits;
    if args.format == EventFormat::Text {
        print!("{}", render::text::plan(&plan));
    }
    // Before the prompt and before any call.
    spend::enforce(&plan, &plan.limits)?;
    if !plan.has_changes() {
        if args.format == EventFormat::Json {
            events::print_summary(args.format, &Report::default());
        }
        return Ok(0);
    }
    if !args.auto_approve && !confirm()? {
        eprintln!("Apply cancelled: nothing was changed.");
        return Ok(1);
    }
    let report = run_apply(&client, &plan, args.format).await;
    if args.format == EventFormat::Text {
        verify_renewals(&client, &plan, &report, global).await;
    }
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

/// Applies `plan`, printing each event as it happens in `format` (with a progress bar on a
/// terminal), and the summary at the end.
pub async fn run_apply<A: EcsApi>(api: &A, plan: &Plan, format: EventFormat) -> Report {
    if format == EventFormat::Text {
        println!(
            "\nApplying {} change{} with {} call{}:",
            plan.changes.len(),
            if plan.changes.len() == 1 { "" } else { "s" },
            plan.calls.len(),
            if plan.calls.len() == 1 { "" } else { "s" }
        );
    }
    let progress = Progress::bar(plan.changes.len() as u64, "applying");
    let report = apply(api, plan, |event| {
        progress.suspend(|| events::print_event(format, plan, &event));
        if matches!(event, ApplyEvent::Finished(..)) {
            progress.inc();
        }
    })
    .await;
    progress.finish();
    events::print_summary(format, &report);
    report
}
