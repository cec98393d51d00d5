//! Text of the verification that follows apply (`crate::verify`): one line per renewal, verified
//! or not yet visible, then a summary. "Not yet visible" is explained as the API's lag, with what
//! to do about it; it never reads as a failure. Pure.

use super::style::{ADD, BOLD, WARN, paint};
use crate::time::format_api;
use crate::verify::{Verdict, Verification};

/// The lines for `verification`, each ending in a newline; empty when nothing was renewed.
pub fn verification(verification: &Verification, timeout_secs: u64) -> String {
    if verification.checks.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nVerifying renewals (re-reading their expiry):\n");
    for check in &verification.checks {
        let label = format!("{}/{}", check.region, check.instance_id);
        let line = match &check.verdict {
            Verdict::Verified { expired_time } => format!(
                "  {} {label}: expires {}",
                paint(ADD, "verified"),
                format_api(*expired_time)
            ),
            Verdict::NotYetVisible { observed } => format!(
                "  {} {label}: {}",
                paint(WARN, "not yet visible"),
                match observed {
                    Some(at) => format!("the API still shows expiry {}", format_api(*at)),
                    None => "the API did not list the instance".to_string(),
                }
            ),
            Verdict::Unreadable { error } => {
                format!("  {} {label}: {error}", paint(WARN, "not yet visible"))
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    let (verified, pending) = (verification.verified(), verification.pending());
    let summary = if pending == 0 {
        format!(
            "Verified: {verified} renewal{} visible in the API ({} read{}).",
            if verified == 1 { "" } else { "s" },
            verification.reads,
            if verification.reads == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "Verified: {verified}; not yet visible: {pending} after {timeout_secs}s. The API can take \
             a while to show a renewal; it was paid (RequestId above). Run `renewctl plan` later to \
             confirm, or raise --verify-timeout."
        )
    };
    out.push_str(&paint(BOLD, summary));
    out.push('\n');
    out
}
