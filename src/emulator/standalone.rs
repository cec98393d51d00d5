//! `renewctl emulator`: reads the flags and the fleet file, starts the emulator, prints where it
//! listens and what to export (never the secret), and serves until Ctrl-C or SIGTERM.
//!
//! The first stdout line is a contract (`renewctl emulator listening on http://ADDR`): tests and
//! scripts parse it to find the port. Everything else a human might want goes to stderr.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use super::{EmulatorOptions, Faults, Fleet, RateLimit, start};

/// The flags of `renewctl emulator`: the emulator owns them, the CLI only mounts them.
#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// The fleet file (instances per region, access keys, optional generated fleet).
    #[arg(long, value_name = "FILE")]
    pub fleet: PathBuf,
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Latency of every answer, e.g. `20ms`: no answer leaves sooner after its request arrived
    /// (the emulator's own work is counted in it, as a real service's is in its round trip).
    #[arg(long, value_name = "DURATION")]
    pub latency: Option<String>,
    /// How long after a renewal reads keep showing the old expiry, e.g. `10s` (the real API
    /// shows a renewal only after a delay; the seed walkthrough says about 10 s). Until then
    /// the instance is still expired in every respect: auto-renewal is refused.
    #[arg(long, value_name = "DURATION")]
    pub renewal_lag: Option<String>,
    /// Inject faults: KIND=RATE with KIND one of throttle, error5xx, timeout, drop-after-commit
    /// and RATE between 0 and 1. May be repeated.
    #[arg(long = "fault", value_name = "KIND=RATE")]
    pub faults: Vec<String>,
    /// Throttle by rate like ECS: ACTION[@REGION]=N/s or N/min (ACTION `*` for every action),
    /// counted per action and region; excess requests get Throttling.User. May be repeated.
    #[arg(long = "rate-limit", value_name = "SPEC")]
    pub rate_limits: Vec<String>,
}

pub async fn run_standalone(args: &EmulatorArgs) -> anyhow::Result<()> {
    let latency = match &args.latency {
        None => Duration::ZERO,
        Some(text) => parse_latency(text).with_context(|| {
            format!("--latency {text:?}: write a duration such as 20ms, 1s, 1.5s or 250us")
        })?,
    };
    let renewal_lag = match &args.renewal_lag {
        None => Duration::ZERO,
        Some(text) => parse_latency(text).with_context(|| {
            format!("--renewal-lag {text:?}: write a duration such as 10s, 500ms or 1.5s")
        })?,
    };
    let faults = Faults::from_flags(&args.faults).map_err(anyhow::Error::msg)?;
    let rate_limits = args
        .rate_limits
        .iter()
        .map(|spec| RateLimit::parse(spec))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let fleet = Fleet::load(&args.fleet)?;
    // Listen for the stop signals before announcing the port, so a supervisor that sends
    // SIGTERM as soon as it has read the first line never kills us mid-way.
    let stop = StopSignal::install()?;
    let key_id = fleet.first_access_key_id().unwrap_or_default().to_owned();
    let has_token = fleet
        .access_keys
        .first()
        .is_some_and(|k| k.security_token.is_some());
    let (count, regions) = (fleet.instance_count(), fleet.regions().len());
    let site = fleet.site;

    let options = EmulatorOptions {
        latency,
        faults,
        rate_limits,
        renewal_lag,
        ..EmulatorOptions::default()
    };
    let handle = start(fleet, args.listen, options).await.with_context(|| {
        format!(
            "cannot listen on {} (--listen); is the port taken?",
            args.listen
        )
    })?;
    let endpoint = handle.endpoint();
    let fleet_file = args.fleet.display();
    // Best effort: whoever started us may read the first line and close the pipe (a test, a
    // benchmark, `| head -1`); the emulator keeps serving all the same.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "renewctl emulator listening on {endpoint}");
    let _ = out.flush();
    let _ = writeln!(out, "export ALIBABA_CLOUD_ACCESS_KEY_ID={key_id}");
    let _ = writeln!(
        out,
        "# export ALIBABA_CLOUD_ACCESS_KEY_SECRET=<the secret of {key_id} in {fleet_file}, access_keys[0].secret>"
    );
    if has_token {
        let _ = writeln!(
            out,
            "# export ALIBABA_CLOUD_SECURITY_TOKEN=<the security_token of {key_id} in {fleet_file}>"
        );
    }
    let _ = writeln!(out, "export RENEWCTL_ENDPOINT={endpoint}");
    let _ = out.flush();
    drop(out);
    if !handle.addr().ip().is_loopback() {
        eprintln!(
            "warning: listening on {} which is not loopback; anyone who can reach it can use the fleet's keys",
            handle.addr()
        );
    }
    let released = handle.released_instance_ids();
    if !released.is_empty() {
        let shown: Vec<&str> = released.iter().take(5).map(String::as_str).collect();
        eprintln!(
            "note: {} instance(s) expired more than 15 days ago and are released, so never shown: {}{}",
            released.len(),
            shown.join(", "),
            if released.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        );
    }
    eprintln!(
        "serving {} instances in {regions} regions of an account on the {} site (prices in {}); Ctrl-C to stop",
        count.saturating_sub(released.len()),
        site.name(),
        site.currency()
    );

    stop.wait().await;
    handle.shutdown().await;
    Ok(())
}

/// Ctrl-C, and SIGTERM on Unix, registered before the port is announced.
struct StopSignal {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignal {
    #[cfg(unix)]
    fn install() -> anyhow::Result<StopSignal> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignal {
            term: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> anyhow::Result<StopSignal> {
        Ok(StopSignal {})
    }

    #[cfg(unix)]
    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }

    #[cfg(not(unix))]
    async fn wait(self) {
        // Without a handler the default (exit) applies, which is also a stop.
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `20ms`, `1s`, `1.5s`, `250us` (or `250µs`), `0`.
fn parse_latency(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .context("the number is missing or malformed")?;
    let seconds = match unit.trim() {
        "us" | "µs" => value / 1_000_000.0,
        "ms" => value / 1_000.0,
        "s" => value,
        "" => bail!("the unit is missing"),
        other => bail!("unknown unit {other:?}"),
    };
    if !(0.0..=600.0).contains(&seconds) {
        bail!("the latency must be between 0 and 10 minutes");
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies() {
        assert_eq!(parse_latency("20ms").ok(), Some(Duration::from_millis(20)));
        assert_eq!(parse_latency("1s").ok(), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_latency("1.5s").ok(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_latency("250us").ok(),
            Some(Duration::from_micros(250))
        );
        assert_eq!(parse_latency("0").ok(), Some(Duration::ZERO));
        for bad in ["20", "ms", "20 parsecs", "-1s", "1h", "99999s", ""] {
            assert!(parse_latency(bad).is_err(), "{bad}");
        }
    }
}
