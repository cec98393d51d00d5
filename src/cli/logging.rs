//! Logs on stderr (tracing): `-v` one line per API call, `-vv` one per HTTP request and per
//! credential step, `-vvv` everything renewctl emits. `RENEWCTL_LOG` takes a target list in
//! tracing's `Targets` syntax (`renewctl=debug`, `renewctl::cloud=trace,renewctl=info`) and wins
//! over `-v`. Without either, only warnings show.
//!
//! What is logged is decided where events are emitted: action, region, RequestId, latency,
//! attempt and outcome, never a query string, a header, a secret or a token (see
//! `cloud/client.rs`); a test runs plan and apply at `-vv` and searches every line for them.

use std::io::IsTerminal;
use std::str::FromStr;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// The variable read for a target list.
pub const ENV: &str = "RENEWCTL_LOG";

/// The filter for `-v` given `count` times.
fn filter_for(count: u8) -> Targets {
    let level = match count {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    Targets::new().with_target("renewctl", level)
}

/// The filter from `RENEWCTL_LOG` when set, else from `-v`; and whether anything below warning
/// level can show (then no progress bar is drawn, as it would tangle with the lines).
pub fn filter(env_value: Option<&str>, verbose: u8) -> Result<(Targets, bool), String> {
    match env_value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(text) => {
            let targets = Targets::from_str(text).map_err(|e| {
                format!(
                    "{ENV}={text:?} is not a target list ({e}); write e.g. renewctl=debug or \
                     renewctl::cloud=trace,renewctl=info"
                )
            })?;
            let chatty = targets.iter().any(|(_, level)| level > LevelFilter::WARN)
                || targets
                    .default_level()
                    .is_some_and(|l| l > LevelFilter::WARN);
            Ok((targets, chatty))
        }
        None => Ok((filter_for(verbose), verbose > 0)),
    }
}

/// Installs the stderr subscriber. Returns whether logging is chatty (see [`filter`]).
pub fn init(verbose: u8, no_color: bool) -> Result<bool, String> {
    let env_value = std::env::var(ENV).ok();
    let (targets, chatty) = filter(env_value.as_deref(), verbose)?;
    // Colour codes only on a terminal (deps.md §6.4): a piped log must stay plain text.
    let ansi =
        !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .with_filter(targets);
    // A second installation (tests that run the CLI in-process) keeps the first one.
    let _ = tracing_subscriber::registry().with(layer).try_init();
    Ok(chatty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_and_the_variable() {
        let (_, chatty) = filter(None, 0).expect("default");
        assert!(!chatty);
        let (targets, chatty) = filter(None, 2).expect("-vv");
        assert!(chatty);
        assert!(targets.would_enable("renewctl::cloud::client", &tracing::Level::DEBUG));
        assert!(!targets.would_enable("renewctl::cloud::client", &tracing::Level::TRACE));
        assert!(!targets.would_enable("hyper", &tracing::Level::ERROR));
        let (targets, chatty) = filter(Some("renewctl::credentials=debug"), 0).expect("env");
        assert!(chatty);
        assert!(targets.would_enable("renewctl::credentials::chain", &tracing::Level::DEBUG));
        assert!(!targets.would_enable("renewctl::cloud::client", &tracing::Level::INFO));
        let (_, chatty) = filter(Some("renewctl=warn"), 3).expect("env wins");
        assert!(!chatty);
        let err = filter(Some("renewctl=loud"), 0).expect_err("bad level");
        assert!(
            err.contains("RENEWCTL_LOG") && err.contains("renewctl=debug"),
            "{err}"
        );
    }
}
