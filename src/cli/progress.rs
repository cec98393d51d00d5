//! Progress on a terminal (indicatif, on stderr) for observing and applying large fleets. Drawn
//! only when stderr is a terminal and logging is quiet: piped output and logs never carry a bar.
//! The decision is made once at start (`set_enabled`); everything else asks `Progress`, which is
//! a no-op when disabled.
//!
//! [`Display`] turns the engine's events into counters, bars and lines, so the engine itself
//! stays free of presentation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use std::collections::HashMap;
use std::sync::Mutex;

use super::args::EventFormat;
use super::events;
use crate::engine::{Event, Stage};
use crate::plan::Plan;
use crate::render;
use crate::report::ApplyEvent;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether a bar may be drawn: only on a terminal, and only when no log lines interleave.
pub fn should_draw(stderr_is_terminal: bool, logging_chatty: bool) -> bool {
    stderr_is_terminal && !logging_chatty
}

pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// A bar or spinner; nothing at all when progress is disabled.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(bar: impl FnOnce() -> ProgressBar) -> Progress {
        if !ENABLED.load(Ordering::Relaxed) {
            return Progress(None);
        }
        let bar = bar();
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }

    /// A spinner counting requests whose total is unknown in advance.
    pub fn counter(message: &'static str) -> Progress {
        Progress::new(|| {
            let bar = ProgressBar::no_length();
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {msg}: {pos} reads ({elapsed})")
            {
                bar.set_style(style);
            }
            bar.set_message(message);
            bar
        })
    }

    /// A bar of `total` steps.
    pub fn bar(total: u64, message: &'static str) -> Progress {
        Progress::new(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) =
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(message);
            bar
        })
    }

    pub fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    /// Runs `f` (which prints) with the bar hidden, so lines and bar do not tangle.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.0 {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Shows the engine's events: a read counter per stage while it reads, and while applying a
/// bar of the changes with each event printed in `format` above it.
pub struct Display<'a> {
    plan: Option<&'a Plan>,
    format: EventFormat,
    counters: Mutex<HashMap<Stage, Progress>>,
    bar: Mutex<Option<Progress>>,
}

impl<'a> Display<'a> {
    /// `plan` is the plan being applied, if any (events name its changes).
    pub fn new(plan: Option<&'a Plan>, format: EventFormat) -> Display<'a> {
        Display {
            plan,
            format,
            counters: Mutex::new(HashMap::new()),
            bar: Mutex::new(None),
        }
    }

    pub fn event(&self, event: Event<'_>) {
        match event {
            Event::Read(stage) => {
                let mut counters = lock(&self.counters);
                counters
                    .entry(stage)
                    .or_insert_with(|| Progress::counter(stage.name()))
                    .inc();
            }
            Event::Done(stage) => {
                if let Some(counter) = lock(&self.counters).remove(&stage) {
                    counter.finish();
                }
            }
            Event::Applying { changes, calls } => {
                if self.format == EventFormat::Text {
                    anstream::println!("{}", render::apply::applying_line(changes, calls));
                }
                *lock(&self.bar) = Some(Progress::bar(changes as u64, "applying"));
            }
            Event::Apply(event) => {
                let bar = lock(&self.bar);
                let print = || {
                    if let Some(plan) = self.plan {
                        events::print_event(self.format, plan, &event);
                    }
                };
                match bar.as_ref() {
                    Some(bar) => {
                        bar.suspend(print);
                        if matches!(event, ApplyEvent::Finished(..)) {
                            bar.inc();
                        }
                    }
                    None => print(),
                }
            }
        }
    }

    /// Removes every bar and counter.
    pub fn finish(&self) {
        for (_, counter) in lock(&self.counters).drain() {
            counter.finish();
        }
        if let Some(bar) = lock(&self.bar).take() {
            bar.finish();
        }
    }
}

/// A poisoned lock only means a print panicked; the bars are still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_only_on_a_quiet_terminal() {
        assert!(should_draw(true, false));
        assert!(!should_draw(false, false), "piped stderr");
        assert!(!should_draw(true, true), "log lines on stderr");
        // Disabled (the default in tests): nothing is drawn or even built.
        assert!(Progress::bar(10, "x").0.is_none());
    }
}
