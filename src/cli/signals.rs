//! Interruption of an apply (a cancelled CI job sends SIGINT, then SIGTERM a few seconds later;
//! a person presses Ctrl-C): the first signal asks apply to stop (no new call, calls in flight
//! get a short grace, then the report is printed); a second signal exits at once, as the user
//! asked twice.

use anstream::eprintln;

use crate::interrupt::Stop;

/// Exit status when a second signal ends the process at once (128 + SIGINT, as shells report).
const EXIT_AT_ONCE: i32 = 130;

/// Listens for SIGINT and SIGTERM until the returned task is aborted.
pub fn stop_on_signals(stop: Stop) -> tokio::task::JoinHandle<()> {
    let listener = Listener::new();
    tokio::spawn(async move {
        let Ok(mut listener) = listener else {
            return;
        };
        let mut seen = 0;
        while listener.next().await {
            seen += 1;
            if seen == 1 {
                eprintln!(
                    "\nrenewctl: interrupted: sending no new call; waiting a few seconds for the \
                     calls in flight, then reporting (interrupt again to exit at once)"
                );
                stop.request();
            } else {
                eprintln!(
                    "\nrenewctl: interrupted twice: exiting now; run `renewctl plan` to see what \
                     was done"
                );
                std::process::exit(EXIT_AT_ONCE);
            }
        }
    })
}

/// The signals that interrupt, registered once (from then on they no longer kill the process).
#[cfg(unix)]
struct Listener {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Listener {
    fn new() -> std::io::Result<Listener> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Listener {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The next signal; false when no more can come.
    async fn next(&mut self) -> bool {
        tokio::select! {
            got = self.interrupt.recv() => got.is_some(),
            got = self.terminate.recv() => got.is_some(),
        }
    }
}

#[cfg(not(unix))]
struct Listener;

#[cfg(not(unix))]
impl Listener {
    fn new() -> std::io::Result<Listener> {
        Ok(Listener)
    }

    async fn next(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}
