//! Progress on a terminal (indicatif, on stderr) for observing and applying large fleets. Drawn
//! only when stderr is a terminal and logging is quiet: piped output and logs never carry a bar.
//! The decision is made once at start (`set_enabled`); everything else asks `Progress`, which is
//! a no-op when disabled.
//!
//! Observing is shown through [`Tracked`], an `EcsApi` that counts the reads it passes on, so
//! `observe` itself stays free of presentation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cloud::{ApiError, CallOutcome, EcsApi, InstancePage, InstanceQuery};
use crate::ecs::{Mutation, Price, PriceQuery};
use crate::observed::RenewalAttribute;

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

/// An `EcsApi` that ticks `progress` after each request it passes on.
pub struct Tracked<'a, A> {
    pub api: &'a A,
    pub progress: &'a Progress,
}

impl<A: EcsApi> EcsApi for Tracked<'_, A> {
    async fn describe_instances(&self, query: &InstanceQuery) -> Result<InstancePage, ApiError> {
        let result = self.api.describe_instances(query).await;
        self.progress.inc();
        result
    }

    async fn describe_auto_renew(
        &self,
        region: &str,
        instance_ids: &[String],
    ) -> Result<Vec<(String, RenewalAttribute)>, ApiError> {
        let result = self.api.describe_auto_renew(region, instance_ids).await;
        self.progress.inc();
        result
    }

    async fn execute(&self, mutation: &Mutation) -> Result<CallOutcome, ApiError> {
        let result = self.api.execute(mutation).await;
        self.progress.inc();
        result
    }

    async fn describe_renewal_price(
        &self,
        region: &str,
        instance_id: &str,
        query: PriceQuery,
    ) -> Result<Price, ApiError> {
        let result = self
            .api
            .describe_renewal_price(region, instance_id, query)
            .await;
        self.progress.inc();
        result
    }
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
