//! Text of an apply as it happens and at its end (`crate::report`): a line per finished change,
//! the wait for renewals to show, the verification of every renewal (re-read expiry), and the
//! summary. Words are chosen for money: a renewal whose fate is unknown reads "unknown: may have
//! been charged", never "failed"; one not yet visible is explained as the API's lag; a token
//! conflict says which of its two causes the re-read showed, and the way out. Pure.

use super::style::{ADD, BOLD, DIM, ERROR, WARN, paint};
use super::text::{change_what, instance_label};
use crate::plan::{Action, Plan};
use crate::report::{Checked, LagWait, Outcome, RenewalCheck, Report, Verdict, Verification};
use crate::time::format_api;

/// One line of apply progress for change `index`.
pub fn outcome_line(plan: &Plan, index: usize, outcome: &Outcome) -> String {
    let Some(change) = plan.changes.get(index) else {
        return String::new();
    };
    let what = change_what(change);
    let label = instance_label(change);
    match outcome {
        Outcome::Succeeded {
            request_id,
            order_id,
        } => {
            let order = order_id
                .as_ref()
                .map(|o| format!("OrderId {o}, "))
                .unwrap_or_default();
            format!(
                "  {} {label}: {what} {}",
                paint(ADD, "done"),
                paint(DIM, format!("({order}RequestId {request_id})"))
            )
        }
        Outcome::Failed { error, .. } => {
            format!("  {} {label}: {what}: {error}", paint(ERROR, "FAILED"))
        }
        Outcome::Unknown { error, .. } => match change.action() {
            Action::Renew => format!(
                "  {} {label}: {what}: {error}; its expiry will be read again",
                paint(WARN, "unknown, may have been charged:")
            ),
            Action::ModifyAutoRenew => format!(
                "  {} {label}: {what}: {error}; `renewctl plan` will show whether it was",
                paint(WARN, "unknown, may have been made:")
            ),
        },
        Outcome::TokenConflict { code, .. } => format!(
            "  {} {label}: {what}: its token was already used from this expiry with other \
             parameters ({code}); nothing was paid by this call; the expiry will be read again",
            paint(WARN, "not paid again:")
        ),
        Outcome::Skipped { why } => format!("  {} {label}: {what}: {why}", paint(WARN, "skipped")),
    }
}

/// The line announcing the wait for renewals to show.
pub fn waiting_line(instances: usize) -> String {
    format!(
        "  waiting for {instances} renewal{} of expired instances to show before turning \
         auto-renewal on (the API shows a renewal after a delay)",
        if instances == 1 { "" } else { "s" }
    )
}

/// The line saying how the wait ended.
pub fn waited_line(wait: &LagWait) -> String {
    format!(
        "  waited {:.1} s: {} of {} renewal{} visible ({} read{})",
        wait.waited.as_secs_f64(),
        wait.visible,
        wait.instances,
        if wait.instances == 1 { "" } else { "s" },
        wait.reads,
        if wait.reads == 1 { "" } else { "s" }
    )
}

/// The `--new-token` argument that gives `check`'s renewal its next attempt number.
pub fn new_token_hint(plan: &Plan, check: &RenewalCheck) -> String {
    let attempt = plan
        .changes
        .get(check.change)
        .and_then(|c| c.renewal())
        .map_or(1, |r| r.attempt.get());
    match attempt + 1 {
        2 => format!("--new-token {}", check.instance_id),
        next => format!("--new-token {}={next}", check.instance_id),
    }
}

/// What one renewal's check means, in one sentence (without the instance).
pub fn check_text(plan: &Plan, check: &RenewalCheck, timeout_secs: u64) -> (String, String) {
    let shows = |observed: &Option<jiff::Timestamp>| match observed {
        Some(at) => format!("the API still shows expiry {}", format_api(*at)),
        None => "the API did not list the instance".to_string(),
    };
    match (&check.checked, &check.verdict) {
        (Checked::Paid, Verdict::Visible { expired_time }) => (
            paint(ADD, "verified"),
            format!("expires {}", format_api(*expired_time)),
        ),
        (Checked::Paid, Verdict::NotYetVisible { observed }) => (
            paint(WARN, "not yet visible"),
            format!("{}; it was paid (RequestId above)", shows(observed)),
        ),
        (Checked::Paid, Verdict::Unreadable { error }) => (
            paint(WARN, "not yet visible"),
            format!("the expiry could not be read: {error}"),
        ),
        (Checked::Ambiguous, Verdict::Visible { expired_time }) => (
            paint(ADD, "renewed"),
            format!(
                "the expiry moved to {}: the renewal whose answer was lost was carried out",
                format_api(*expired_time)
            ),
        ),
        (Checked::Ambiguous, Verdict::NotYetVisible { observed }) => (
            paint(WARN, "not renewed"),
            format!(
                "{} after {timeout_secs} s: as far as the API shows it was not carried out. Plan \
                 again: the same token keeps a late renewal from being paid twice",
                shows(observed)
            ),
        ),
        (Checked::Ambiguous, Verdict::Unreadable { error }) => (
            paint(WARN, "still unknown"),
            format!(
                "the expiry could not be read ({error}); it may have been charged. Plan again \
                 later: the same token keeps it from being paid twice"
            ),
        ),
        (Checked::TokenConflict, Verdict::Visible { expired_time }) => (
            paint(WARN, "already renewed"),
            format!(
                "another apply renewed it from the same expiry (it now expires {}); nothing was \
                 paid twice. Plan again to converge",
                format_api(*expired_time)
            ),
        ),
        (Checked::TokenConflict, Verdict::NotYetVisible { observed }) => (
            paint(ERROR, "token held"),
            format!(
                "{} after {timeout_secs} s, so its token is held by an earlier attempt that did \
                 not renew (refused for its balance, status or period). Check the order history \
                 (Billing → Orders) for a renewal of {} from expiry {}; if there is none, plan \
                 again with {} to give this renewal a fresh token",
                shows(observed),
                check.instance_id,
                format_api(check.before),
                new_token_hint(plan, check)
            ),
        ),
        (Checked::TokenConflict, Verdict::Unreadable { error }) => (
            paint(WARN, "token conflict"),
            format!(
                "the expiry could not be read again ({error}): it was renewed from this expiry \
                 by another apply, or an attempt that did not renew holds the token. Plan again \
                 later"
            ),
        ),
    }
}

/// The verification block, each line ending in a newline; empty when nothing was checked.
pub fn verification(plan: &Plan, verification: &Verification) -> String {
    if verification.checks.is_empty() {
        return String::new();
    }
    let timeout = verification.timeout.as_secs();
    let mut out = String::from("\nVerifying renewals (re-reading their expiry):\n");
    for check in &verification.checks {
        let (word, text) = check_text(plan, check, timeout);
        out.push_str(&format!(
            "  {word} {}/{}: {text}\n",
            check.region, check.instance_id
        ));
    }
    let (verified, pending) = (verification.verified(), verification.pending());
    let attention = verification
        .checks
        .iter()
        .filter(|c| c.needs_attention())
        .count();
    let summary = if pending == 0 {
        format!(
            "Verified: {verified} renewal{} visible in the API ({} read{}).",
            if verified == 1 { "" } else { "s" },
            verification.reads,
            if verification.reads == 1 { "" } else { "s" }
        )
    } else if attention == 0 {
        format!(
            "Verified: {verified}; not yet visible: {pending} after {timeout}s. The API can take \
             a while to show a renewal; it was paid (RequestId above). Run `renewctl plan` later to \
             confirm, or raise --verify-timeout."
        )
    } else {
        format!(
            "Verified: {verified}; {attention} renewal{} need{} attention (above).",
            if attention == 1 { "" } else { "s" },
            if attention == 1 { "s" } else { "" }
        )
    };
    out.push_str(&paint(BOLD, summary));
    out.push('\n');
    out
}

/// The last line of an apply; `plan_errors` are the plan's own errors (left untouched).
pub fn apply_summary(report: &Report, plan_errors: usize) -> String {
    let done = report.succeeded();
    let extra = if report.extra_calls > 0 {
        format!(
            " {} call{} beyond the plan (splitting refused batches, retrying after the renewal lag).",
            report.extra_calls,
            if report.extra_calls == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    if report.is_complete() && plan_errors == 0 {
        return paint(
            BOLD,
            format!(
                "Apply complete: {done} change{} made.{extra}",
                if done == 1 { "" } else { "s" }
            ),
        );
    }
    let mut parts = vec![format!("{done} succeeded")];
    for (n, word) in [
        (report.failed(), "failed"),
        (report.unknown(), "unknown (verified above)"),
        (report.conflicts(), "not paid again (token already used)"),
        (report.skipped(), "skipped"),
        (plan_errors, "errors of the plan left untouched"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    let head = if report.interrupted {
        "Apply interrupted"
    } else {
        "Apply incomplete"
    };
    paint(
        ERROR,
        format!(
            "{head}: {}.{extra} Run plan again to see what remains; renewals already made are not \
             repeated.",
            parts.join(", ")
        ),
    )
}

/// The line printed when a stop is requested.
pub fn interrupted_line() -> String {
    format!(
        "  {}",
        paint(
            ERROR,
            "interrupted: no new call is sent; calls in flight get a few seconds to finish"
        )
    )
}

/// The line before the first call.
pub fn applying_line(changes: usize, calls: usize) -> String {
    format!(
        "\nApplying {changes} change{} with {calls} call{}:",
        if changes == 1 { "" } else { "s" },
        if calls == 1 { "" } else { "s" }
    )
}
