//! The commands plan and apply (from the config). Each reads its inputs, calls the core, and
//! renders.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::Context as _;

use anstream::{eprintln, print, println};

use super::EXIT_CHANGES;
use super::args::{ApplyArgs, EventFormat, Format, GlobalArgs, MoneyArgs, PlanArgs, TokenArgs};
use super::context::{client_from_env, load_config, make_plan_with};
use super::events;
use super::progress::Progress;
use super::spend;
use crate::apply::{ApplyEvent, ApplyOptions, Report, Stop, apply_with};
use crate::cloud::EcsApi;
use crate::ecs::TokenAttempt;
use crate::observe::observe_instances;
use crate::plan::{Plan, PlanOptions, SpendLimits};
use crate::planfile::{self, Verdict};
use crate::render;
use crate::render::style::{ERROR, paint};
use crate::verify::VerifyOptions;

/// The planner's options from the flags.
fn plan_options(risk_window: u32, tokens: &TokenArgs) -> PlanOptions {
    PlanOptions {
        risk_window_days: risk_window,
        token_attempts: tokens
            .new_tokens
            .iter()
            .map(|(id, n)| (id.clone(), TokenAttempt::new(*n)))
            .collect::<BTreeMap<_, _>>(),
    }
}

pub async fn plan(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<u8> {
    let config = load_config(&args.config.config)?;
    let spend_limits = config_limits(&config, &args.config.config, &args.money)?;
    let client = client_from_env(global).await?;
    let options = plan_options(args.risk.risk_window, &args.tokens);
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
    if plan.has_errors() {
        if args.format != Format::Text {
            eprint_plan_error_list(&plan);
        }
        eprint_plan_errors(&plan);
        return Ok(1);
    }
    Ok(plan_exit(&plan, args.detailed_exitcode))
}

/// Lists the plan's errors on stderr, for logs of a run whose stdout is JSON or Markdown.
pub fn eprint_plan_error_list(plan: &Plan) {
    for problem in &plan.errors {
        let place = problem.place();
        eprintln!("  - {place}{}", problem.reason);
    }
}

/// Says on stderr that the plan has errors (listed with the plan), and why the exit status is 1.
pub fn eprint_plan_errors(plan: &Plan) {
    let n = plan.errors.len();
    eprintln!(
        "{}",
        paint(
            ERROR,
            format!(
                "error: the plan has {n} error{} (listed above): {} left untouched, everything \
                 else is planned. Fix {} and plan again.",
                if n == 1 { "" } else { "s" },
                if n == 1 { "that one is" } else { "those are" },
                if n == 1 { "it" } else { "them" }
            )
        )
    );
}

/// The limits of a plan made from `config`: its `limits:`, tightened by the flags.
fn config_limits(
    config: &crate::desired::Config,
    path: &Path,
    money: &MoneyArgs,
) -> anyhow::Result<SpendLimits> {
    let file = spend::from_config(config.desired.limits.as_ref(), &path.display().to_string());
    let (limits, notes) = file
        .tightened_by(&spend::from_flags(money, &file)?)
        .map_err(anyhow::Error::msg)?;
    for note in notes {
        eprintln!("warning: {note}");
    }
    Ok(limits)
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
    let options = plan_options(args.risk.risk_window, &args.tokens);
    let mut plan = make_plan_with(&client, &config, &options, !args.money.no_prices).await?;
    plan.limits = spend_limits;
    if args.format == EventFormat::Text {
        print!("{}", render::text::plan(&plan));
    }
    // Before the prompt and before any call.
    spend::enforce(&plan, &plan.limits)?;
    let errors = plan.errors.len();
    if !plan.has_changes() {
        if args.format == EventFormat::Json {
            events::print_summary(args.format, &Report::default(), errors);
        }
        if errors > 0 {
            eprint_plan_errors(&plan);
            return Ok(1);
        }
        return Ok(0);
    }
    let mut excluded = BTreeMap::new();
    if !args.auto_approve {
        if !confirm()? {
            eprintln!("Apply cancelled: nothing was changed.");
            return Ok(1);
        }
        // The answer may have come much later than the plan: what it shows must still hold.
        match recheck(&client, &plan, "the plan shown", "plan and confirm again").await? {
            Recheck::Proceed(unread) => excluded = unread,
            Recheck::AlreadyApplied => {
                println!(
                    "Since the plan was shown, every planned instance got to the state it leads to: nothing to do."
                );
                return Ok(if errors > 0 { 1 } else { 0 });
            }
        }
    }
    let report = run_apply(&client, &plan, args.format, global, excluded).await;
    Ok(apply_exit(&report, &plan))
}

/// What a fresh look at the planned instances allows.
pub enum Recheck {
    /// Apply, except the changes of these instances (they could not be read again), with why.
    Proceed(BTreeMap<String, String>),
    /// Every planned instance is already as the plan leads it.
    AlreadyApplied,
}

/// Re-reads the instances `plan` changes and refuses it when any moved since it was made
/// (`what` names the plan in the message, `remedy` says what to do then).
pub async fn recheck<A: EcsApi>(
    api: &A,
    plan: &Plan,
    what: &str,
    remedy: &str,
) -> anyhow::Result<Recheck> {
    let look = observe_instances(api, &planfile::planned_instances(plan)).await;
    let unread = planfile::unread_instances(plan, &look.unread);
    match planfile::verdict(plan, &look.instances, &unread) {
        Verdict::Fresh => Ok(Recheck::Proceed(unread)),
        Verdict::AlreadyApplied => Ok(Recheck::AlreadyApplied),
        Verdict::Stale(drifted) => {
            eprintln!(
                "{}",
                paint(
                    ERROR,
                    format!(
                        "{what} is stale: {} planned instance{} changed since the plan:",
                        drifted.len(),
                        if drifted.len() == 1 { "" } else { "s" }
                    )
                )
            );
            for (region, id, what) in &drifted {
                eprintln!("  - {region}/{id}: {}", what.join("; "));
            }
            anyhow::bail!("nothing was applied: {remedy}")
        }
    }
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

/// The exit status of an apply: 0 when it did everything and the plan had no errors, else 1.
pub fn apply_exit(report: &Report, plan: &Plan) -> u8 {
    if report.is_complete() && !plan.has_errors() {
        0
    } else {
        1
    }
}

/// How apply runs, from the global flags.
pub fn apply_options(global: &GlobalArgs, excluded: BTreeMap<String, String>) -> ApplyOptions {
    ApplyOptions {
        parallelism: usize::from(global.parallelism),
        lag: VerifyOptions {
            timeout: global.verify_timeout,
            ..VerifyOptions::default()
        },
        excluded,
        ..ApplyOptions::default()
    }
}

/// Applies `plan`, printing each event as it happens in `format` (with a progress bar on a
/// terminal), the verification and the summary at the end. SIGINT or SIGTERM stops it (no new
/// call; calls in flight get a short grace); a second one exits at once.
pub async fn run_apply<A: EcsApi>(
    api: &A,
    plan: &Plan,
    format: EventFormat,
    global: &GlobalArgs,
    excluded: BTreeMap<String, String>,
) -> Report {
    if format == EventFormat::Text {
        println!(
            "\nApplying {} change{} with {} call{}:",
            plan.changes.len(),
            if plan.changes.len() == 1 { "" } else { "s" },
            plan.calls.len(),
            if plan.calls.len() == 1 { "" } else { "s" }
        );
    }
    let stop = Stop::new();
    let signals = super::signals::stop_on_signals(stop.clone());
    let progress = Progress::bar(plan.changes.len() as u64, "applying");
    let options = apply_options(global, excluded);
    let report = apply_with(api, plan, &options, &stop, |event| {
        progress.suspend(|| events::print_event(format, plan, &event));
        if matches!(event, ApplyEvent::Finished(..)) {
            progress.inc();
        }
    })
    .await;
    progress.finish();
    signals.abort();
    events::print_summary(format, &report, plan.errors.len());
    if plan.has_errors() && format == EventFormat::Text {
        eprint_plan_errors(plan);
    }
    report
}
