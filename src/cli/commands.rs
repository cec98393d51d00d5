//! The commands plan and apply (from the config): read the config and the flags, call the
//! engine, show its events and result, decide the exit status.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anstream::{eprintln, print, println};

use super::EXIT_CHANGES;
use super::args::{
    ApplyArgs, EventFormat, Format, GlobalArgs, MoneyArgs, PlanArgs, ScopeArgs, TokenArgs,
};
use super::config_file::write_whole;
use super::context::{client_from_env, load_config, routing};
use super::events;
use super::progress::Display;
use super::signals::stop_on_signals;
use crate::apply::ApplyOptions;
use crate::cloud::{EcsApi, EcsClient};
use crate::desired::Config;
use crate::ecs::TokenAttempt;
use crate::engine::apply::{Applied, Guard};
use crate::engine::plan::{PlanRequest, Prices};
use crate::engine::{self, EngineError};
use crate::interrupt::Stop;
use crate::plan::spend::{self, SpendLimits};
use crate::plan::{Plan, PlanOptions, Scope};
use crate::planfile;
use crate::render;
use crate::render::style::{ERROR, paint};
use crate::report::Report;
use crate::verify::VerifyOptions;

/// The planner's options from the flags.
fn plan_options(risk_window: u32, tokens: &TokenArgs, scope: &ScopeArgs) -> PlanOptions {
    PlanOptions {
        scope: Scope {
            targets: scope.targets.clone(),
            policies: scope.policies.clone(),
        },
        group_by: scope.group_by.clone(),
        risk_window_days: risk_window,
        token_attempts: tokens
            .new_tokens
            .iter()
            .map(|(id, n)| (id.clone(), TokenAttempt::new(*n)))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// Observes, plans and prices through the engine, with read counters on a terminal.
pub async fn make_plan<A: EcsApi>(api: &A, request: &PlanRequest<'_>) -> anyhow::Result<Plan> {
    let display = Display::new(None, EventFormat::Text);
    let plan = engine::plan::plan(api, request, &|event| display.event(event)).await;
    display.finish();
    Ok(plan?)
}

/// The flags `plan` and `apply` share.
struct PlanFlags<'a> {
    risk_window: u32,
    tokens: &'a TokenArgs,
    money: &'a MoneyArgs,
    scope: &'a ScopeArgs,
}

/// The client from the environment, and the plan of `config` (read from `path`) under `flags`.
async fn plan_config(
    global: &GlobalArgs,
    config: &Config,
    path: &Path,
    flags: PlanFlags<'_>,
) -> anyhow::Result<(EcsClient, Plan)> {
    let money = flags.money;
    // A policy named in --policy must exist: an emergency plan of nothing is no plan.
    if let Some(unknown) = flags
        .scope
        .policies
        .iter()
        .find(|p| !config.desired.policies.iter().any(|q| &q.name == *p))
    {
        anyhow::bail!(
            "--policy {unknown}: {} has no such policy (it has {})",
            path.display(),
            config
                .desired
                .policies
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let request = PlanRequest {
        config,
        options: plan_options(flags.risk_window, flags.tokens, flags.scope),
        prices: if money.no_prices {
            Prices::Skip
        } else {
            Prices::Read
        },
        limits: config_limits(config, path, money)?,
        now: jiff::Timestamp::now(),
    };
    let client = client_from_env(global, routing(Some(&config.desired))).await?;
    let plan = make_plan(&client, &request).await?;
    Ok((client, plan))
}

pub async fn plan(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<u8> {
    let path = &args.config.config;
    let config = load_config(global, path)?;
    let flags = PlanFlags {
        risk_window: args.risk.risk_window,
        tokens: &args.tokens,
        money: &args.money,
        scope: &args.scope,
    };
    let (_, plan) = plan_config(global, &config, path, flags).await?;
    // A plan over its limits is shown (reviewers see why) but never saved: it cannot be applied.
    let within = spend::check(&plan, &plan.limits);
    if let (Some(out), Ok(())) = (&args.out, &within) {
        write_whole(out, planfile::to_saved_json(&plan).as_bytes(), "the plan")?;
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
fn config_limits(config: &Config, path: &Path, money: &MoneyArgs) -> anyhow::Result<SpendLimits> {
    let file = spend::from_config(config.desired.limits.as_ref(), &path.display().to_string());
    let (limits, notes) = file
        .tightened_by(&flag_limits(money, &file)?)
        .map_err(anyhow::Error::msg)?;
    for note in notes {
        eprintln!("warning: {note}");
    }
    Ok(limits)
}

/// The limits the flags set; a `--max-total-price` without a currency takes `fallback`'s.
pub fn flag_limits(money: &MoneyArgs, fallback: &SpendLimits) -> anyhow::Result<SpendLimits> {
    spend::from_flags(money.max_renewals, money.max_total_price.as_ref(), fallback)
        .map_err(anyhow::Error::msg)
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

pub async fn apply_config(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<u8> {
    let path = &args.config.config;
    let config = load_config(global, path)?;
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
    let flags = PlanFlags {
        risk_window: args.risk.risk_window,
        tokens: &args.tokens,
        money: &args.money,
        scope: &args.scope,
    };
    let (client, plan) = plan_config(global, &config, path, flags).await?;
    if args.format == EventFormat::Text {
        print!("{}", render::text::plan(&plan));
    }
    // Before the prompt and before any call.
    spend::check(&plan, &plan.limits)?;
    if !plan.has_changes() {
        return Ok(no_changes(&plan, args.format));
    }
    let guard = if args.auto_approve {
        Guard::JustMade
    } else {
        if !confirm()? {
            eprintln!("Apply cancelled: nothing was changed.");
            return Ok(1);
        }
        // The answer may have come much later than the plan: what it shows must still hold.
        Guard::Recheck {
            what: "the plan shown",
            remedy: "plan and confirm again",
        }
    };
    match run_apply(&client, &plan, guard, args.format, global).await? {
        Applied::AlreadyApplied { unread } => {
            println!(
                "Since the plan was shown, every planned instance that could be read got to the state it leads to: nothing to do."
            );
            Ok(already_applied_exit(&plan, &unread))
        }
        applied => Ok(apply_exit(&applied.report(), &plan)),
    }
}

/// The end of an apply whose plan has no change: the JSON summary, the plan's errors.
pub fn no_changes(plan: &Plan, format: EventFormat) -> u8 {
    if format == EventFormat::Json {
        events::print_summary(format, &Report::default(), plan.errors.len());
    }
    if plan.has_errors() {
        eprint_plan_errors(plan);
        return 1;
    }
    0
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

/// The exit status when the plan was already applied: 1 when planned instances could not be
/// read (each named: the plan may be only partly done) or the plan has errors, else 0.
pub fn already_applied_exit(plan: &Plan, unread: &BTreeMap<String, String>) -> u8 {
    for (id, why) in unread {
        eprintln!(
            "{}",
            paint(
                ERROR,
                format!("error: {id}: {why}; its part of the plan may not be done")
            )
        );
    }
    if unread.is_empty() && !plan.has_errors() {
        0
    } else {
        1
    }
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
pub fn apply_options(global: &GlobalArgs) -> ApplyOptions {
    ApplyOptions {
        parallelism: usize::from(global.parallelism),
        lag: VerifyOptions {
            timeout: global.verify_timeout,
            ..VerifyOptions::default()
        },
        ..ApplyOptions::default()
    }
}

/// Applies `plan` through the engine under `guard`, printing each event as it happens in
/// `format` (with a progress bar on a terminal), and, when calls were sent, the summary.
/// SIGINT or SIGTERM stops it (no new call; calls in flight get a short grace); a second one
/// exits at once. A stale plan is refused with the list of what moved.
pub async fn run_apply<A: EcsApi>(
    api: &A,
    plan: &Plan,
    guard: Guard<'_>,
    format: EventFormat,
    global: &GlobalArgs,
) -> anyhow::Result<Applied> {
    let stop = Stop::new();
    let signals = stop_on_signals(stop.clone());
    let display = Display::new(Some(plan), format);
    let applied = engine::apply::apply(api, plan, guard, apply_options(global), &stop, &|event| {
        display.event(event)
    })
    .await;
    display.finish();
    signals.abort();
    let applied = applied.map_err(explain_refusal)?;
    if let Applied::Done(report) = &applied {
        events::print_summary(format, report, plan.errors.len());
        if plan.has_errors() && format == EventFormat::Text {
            eprint_plan_errors(plan);
        }
    }
    Ok(applied)
}

/// Prints what a stale plan's instances did since it was made (the error itself says what to
/// do), and hands the error on.
pub fn explain_refusal(err: EngineError) -> anyhow::Error {
    if let EngineError::Stale { what, drifted, .. } = &err {
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
        for (region, id, what) in drifted {
            eprintln!("  - {region}/{id}: {}", what.join("; "));
        }
    }
    err.into()
}
