//! Apply as JSON events, one per line, for pipeline logs: `change_start`, `change_complete`,
//! `change_errored`, `change_unknown`, `change_conflict`, `change_skipped`, `lag_wait`,
//! `interrupted`, `renewal_verified` (one per renewal re-read after apply), and `summary`.

use serde_json::json;

use crate::plan::{Action, Plan};
use crate::report::{ApplyEvent, Checked, Outcome, RenewalCheck, Report, Verdict, Verification};

fn action_name(action: Action) -> &'static str {
    match action {
        Action::ModifyAutoRenew => "modify_auto_renew",
        Action::Renew => "renew",
    }
}

/// The JSON event of a change starting or ending.
fn change_json(
    plan: &Plan,
    index: usize,
    kind: &str,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut value = json!({"type": kind, "index": index});
    if let Some(change) = plan.changes.get(index) {
        value["region"] = json!(change.region);
        value["instance_id"] = json!(change.instance_id);
        value["policy"] = json!(change.policy);
        value["action"] = json!(action_name(change.action()));
    }
    if let (Some(object), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            object.insert(k.clone(), v.clone());
        }
    }
    value
}

/// The `renewal_verified` event of one renewal's re-read.
fn check_json(plan: &Plan, check: &RenewalCheck, timeout_secs: u64) -> serde_json::Value {
    let checked = match check.checked {
        Checked::Paid => "paid",
        Checked::Ambiguous => "unknown",
        Checked::TokenConflict => "token_conflict",
    };
    let (verdict, expired_time) = match &check.verdict {
        Verdict::Visible { expired_time } => ("visible", Some(*expired_time)),
        Verdict::NotYetVisible { observed } => ("not_visible", *observed),
        Verdict::Unreadable { .. } => ("unreadable", None),
    };
    // The conclusion a script acts on, the same as the text's word.
    let conclusion = match (check.checked, &check.verdict) {
        (Checked::Paid, Verdict::Visible { .. }) => "verified",
        (Checked::Paid, _) => "paid_not_yet_visible",
        (Checked::Ambiguous, Verdict::Visible { .. }) => "renewed",
        (Checked::Ambiguous, Verdict::NotYetVisible { .. }) => "not_renewed",
        (Checked::Ambiguous, Verdict::Unreadable { .. }) => "still_unknown",
        (Checked::TokenConflict, Verdict::Visible { .. }) => "renewed_by_another_apply",
        (Checked::TokenConflict, Verdict::NotYetVisible { .. }) => "token_held",
        (Checked::TokenConflict, Verdict::Unreadable { .. }) => "token_conflict_unresolved",
    };
    let (_, message) = super::apply::check_text(plan, check, timeout_secs);
    change_json(
        plan,
        check.change,
        "renewal_verified",
        json!({
            "checked": checked,
            "verdict": verdict,
            "conclusion": conclusion,
            "needs_attention": check.needs_attention(),
            "expired_time_before": crate::time::format_api(check.before),
            "expired_time_seen": expired_time.map(crate::time::format_api),
            "message": anstream::adapter::strip_str(&message).to_string(),
        }),
    )
}

/// The JSON events for `event` (a verification is one event per renewal).
pub fn event_json(plan: &Plan, event: &ApplyEvent<'_>) -> Vec<serde_json::Value> {
    let one = |index, kind, extra| vec![change_json(plan, index, kind, extra)];
    match event {
        ApplyEvent::Started(index) => one(*index, "change_start", json!({})),
        ApplyEvent::Finished(index, outcome) => match outcome {
            Outcome::Succeeded {
                request_id,
                order_id,
            } => one(
                *index,
                "change_complete",
                json!({"request_id": request_id, "order_id": order_id}),
            ),
            Outcome::Failed {
                error,
                code,
                request_id,
            } => one(
                *index,
                "change_errored",
                json!({"error": error, "code": code, "request_id": request_id}),
            ),
            Outcome::Unknown { error, code } => one(
                *index,
                "change_unknown",
                json!({"error": error, "code": code, "may_have_been_charged": plan.changes.get(*index).is_some_and(|c| c.renewal().is_some())}),
            ),
            Outcome::TokenConflict {
                error,
                code,
                request_id,
            } => one(
                *index,
                "change_conflict",
                json!({"error": error, "code": code, "request_id": request_id}),
            ),
            Outcome::Skipped { why } => one(*index, "change_skipped", json!({"reason": why})),
        },
        ApplyEvent::WaitingForRenewals { .. } => Vec::new(),
        ApplyEvent::WaitedForRenewals(wait) => vec![json!({
            "type": "lag_wait",
            "instances": wait.instances,
            "visible": wait.visible,
            "waited_ms": wait.waited.as_millis() as u64,
            "reads": wait.reads,
        })],
        ApplyEvent::Interrupted => vec![json!({"type": "interrupted"})],
        ApplyEvent::Verified(verification) => verification
            .checks
            .iter()
            .map(|check| check_json(plan, check, verification.timeout.as_secs()))
            .collect(),
    }
}

/// The `summary` event's numbers.
pub fn summary_json(report: &Report, plan_errors: usize) -> serde_json::Value {
    let verification: Option<&Verification> = report.verification.as_ref();
    json!({
        "type": "summary",
        "succeeded": report.succeeded(),
        "failed": report.failed(),
        "unknown": report.unknown(),
        "token_conflicts": report.conflicts(),
        "skipped": report.skipped(),
        "extra_calls": report.extra_calls,
        "lag_wait_ms": report.lag_wait.as_ref().map(|w| w.waited.as_millis() as u64),
        "interrupted": report.interrupted,
        "plan_errors": plan_errors,
        "verified": verification.map(Verification::verified),
        "not_verified": verification.map(Verification::pending),
        "needs_attention": verification.map(|v| v.checks.iter().filter(|c| c.needs_attention()).count()),
        "complete": report.is_complete() && plan_errors == 0,
    })
}
