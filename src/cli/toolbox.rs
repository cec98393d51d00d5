//! `renewctl completions SHELL`, `renewctl man [DIR]` and `renewctl version`: generated from the
//! same clap definitions as `--help` (clap_complete, clap_mangen), so they never drift from it.

use std::path::Path;

use anstream::println;
use anyhow::Context as _;
use clap::CommandFactory;

use super::args::{Cli, LONG_VERSION, VersionFormat};

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "renewctl", &mut std::io::stdout());
    Ok(0)
}

pub fn man(dir: Option<&Path>) -> anyhow::Result<u8> {
    let command = Cli::command();
    match dir {
        None => {
            clap_mangen::Man::new(command)
                .render(&mut std::io::stdout())
                .context("cannot write the man page")?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write the man pages to {}", dir.display()))?;
            eprintln!("wrote the man pages to {}", dir.display());
        }
    }
    Ok(0)
}

pub fn version(format: VersionFormat) -> anyhow::Result<u8> {
    match format {
        VersionFormat::Text => println!("renewctl {LONG_VERSION}"),
        VersionFormat::Json => println!(
            "{}",
            serde_json::json!({
                "name": "renewctl",
                "version": env!("CARGO_PKG_VERSION"),
                "commit": env!("RENEWCTL_GIT_COMMIT"),
                "target": env!("RENEWCTL_TARGET"),
                "plan_format_version": crate::plan::FORMAT_VERSION,
                "check_format_version": crate::watch::FORMAT_VERSION,
            })
        ),
    }
    Ok(0)
}
