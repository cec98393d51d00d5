//! The command-line shell: parses arguments, dispatches commands, decides the exit status.
//! Everything a command decides is computed by the pure core; this module only wires I/O.

pub mod args;
mod check;
mod commands;
mod config_file;
mod context;
mod demo;
mod events;
mod explain;
mod export;
mod logging;
mod progress;
mod saved;
mod schema;
mod signals;
mod toolbox;
mod validate;
mod whoami;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// Exit status when the plan has changes under `--detailed-exitcode`.
pub const EXIT_CHANGES: u8 = 2;

/// Runs the command line and returns the process exit status: 0 success, 1 any error (usage
/// errors too, so a misspelt flag never reads as "changes"), 2 only for
/// `plan --detailed-exitcode` with changes.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 1 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let chatty = match logging::init(cli.global.verbose, cli.global.no_color) {
        Ok(chatty) => chatty,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(1);
        }
    };
    progress::set_enabled(progress::should_draw(
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        chatty,
    ));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    if cli.global.no_color {
        anstream::ColorChoice::Never.write_global();
    }
    let global = &cli.global;
    match &cli.command {
        Command::Validate(args) => validate::validate(global, args),
        Command::Plan(args) => commands::plan(global, args).await,
        Command::Apply(args) => match &args.plan {
            Some(path) => saved::apply_saved(global, args, path).await,
            None => commands::apply_config(global, args).await,
        },
        Command::Show(args) => saved::show(args),
        Command::Emulator(args) => crate::emulator::run_standalone(args).await.map(|()| 0),
        Command::Demo => demo::demo(global).await,
        Command::Whoami(args) => whoami::whoami(global, args).await,
        Command::Schema => schema::schema(),
        Command::Explain(args) => explain::explain(global, args).await,
        Command::Export(args) => export::export(global, args).await,
        Command::Check(args) => check::check(global, args).await,
        Command::Completions { shell } => toolbox::completions(*shell),
        Command::Man { dir } => toolbox::man(dir.as_deref()),
        Command::Version { format } => toolbox::version(*format),
    }
}
