//! `renewctl check`: the fleet between merges, read-only (`engine::check`), printed in the
//! chosen format, and written as a Prometheus textfile and an iCalendar file when asked. Exit 0
//! nothing needs attention, 2 something does, 1 the check failed or is incomplete.

use std::time::Instant;

use anstream::{eprintln, print};

use super::args::{CheckArgs, EventFormat, Format, GlobalArgs};
use super::config_file::write_whole;
use super::context::{client_from_env, load_config, routing};
use super::progress::Display;
use crate::engine;
use crate::engine::check::BalanceRead;
use crate::engine::notify::Delivery;
use crate::post::Poster;
use crate::render;

pub async fn check(global: &GlobalArgs, args: &CheckArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let config = load_config(global, &args.config.config)?;
    let client = client_from_env(global, routing(Some(&config.desired))).await?;
    let display = Display::new(None, EventFormat::Text);
    let report = engine::check::check(
        &client,
        &config,
        if args.no_balance {
            BalanceRead::Skip
        } else {
            BalanceRead::Read
        },
        jiff::Timestamp::now(),
        &|event| display.event(event),
    )
    .await;
    display.finish();
    let report = report?;
    match args.format {
        Format::Text => print!("{}", render::check::text(&report)),
        Format::Json => print!("{}", render::check::json(&report)),
        Format::Markdown => print!("{}", render::check::markdown(&report)),
    }
    if let Some(path) = &args.metrics_file {
        let text = render::check::metrics(&report, started.elapsed().as_secs_f64());
        write_whole(path, text.as_bytes(), "the metrics")?;
    }
    if let Some(path) = &args.calendar_file {
        write_whole(
            path,
            render::check::calendar(&report).as_bytes(),
            "the calendar",
        )?;
    }
    if args.notify && send(&config, &args.config.config, &report).await? > 0 {
        return Ok(1);
    }
    Ok(report.exit_code())
}

/// Sends the report to the config's sinks; how many failed (each named on stderr).
async fn send(
    config: &crate::desired::Config,
    path: &std::path::Path,
    report: &crate::watch::Report,
) -> anyhow::Result<usize> {
    let Some(notify) = &config.desired.notify else {
        anyhow::bail!(
            "--notify: {} has no `notify:` section; add one with its sinks (see README, Watching between merges)",
            path.display()
        );
    };
    let poster = Poster::new(std::time::Duration::from_secs(10)).map_err(anyhow::Error::msg)?;
    let settings = crate::watch::Settings::of(&config.desired);
    let env = |name: &str| std::env::var(name).ok();
    let deliveries = engine::notify::notify(
        &poster,
        notify,
        report,
        &settings,
        &env,
        jiff::Timestamp::now().as_millisecond(),
    )
    .await;
    let mut failed = 0;
    for (name, delivery) in deliveries {
        match delivery {
            Delivery::Sent { attempts } => eprintln!(
                "notified {name}{}",
                if attempts > 1 {
                    format!(" (after {attempts} attempts)")
                } else {
                    String::new()
                }
            ),
            Delivery::Silent => eprintln!("{name}: nothing needs its attention; not notified"),
            Delivery::Failed { error } => {
                failed += 1;
                eprintln!("error: sink {name}: {error}");
            }
        }
    }
    Ok(failed)
}
