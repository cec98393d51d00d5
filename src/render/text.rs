//! The human text plan, in the manner of `terraform plan`: one block per instance with its
//! changes (`~` a setting changes, `+` a renewal is bought), the reason, the warnings, the exact
//! API calls, and the summary line.

use std::fmt::Write as _;

use super::style::{ADD, BOLD, CHANGE, DIM, WARN, paint};
use crate::plan::{Action, Change, ChangeState, Plan};
use crate::time::format_api;

fn renewal_setting(state: &ChangeState) -> String {
    let status = state
        .renewal_status
        .as_ref()
        .map(|s| s.as_api().to_string())
        .unwrap_or_else(|| "?".to_string());
    match (&state.renewal_status, state.duration, &state.period_unit) {
        (Some(crate::observed::RenewalStatus::AutoRenewal), Some(d), Some(u)) => {
            format!("{status} (every {d} {u})")
        }
        _ => status,
    }
}

fn instance_label(change: &Change) -> String {
    if change.instance_name.is_empty() {
        format!("{}/{}", change.region, change.instance_id)
    } else {
        format!(
            "{}/{} ({})",
            change.region, change.instance_id, change.instance_name
        )
    }
}

/// One change as its plan line(s); `explain` shows an instance's changes with it too.
pub fn change_lines(out: &mut String, change: &Change) {
    match change.action {
        Action::ModifyAutoRenew => {
            let _ = writeln!(
                out,
                "  {} renewal: {} → {}",
                paint(CHANGE, "~"),
                renewal_setting(&change.before),
                paint(BOLD, renewal_setting(&change.after))
            );
        }
        Action::Renew => {
            let before = change
                .before
                .expired_time
                .map(format_api)
                .unwrap_or_default();
            let after = change
                .after
                .expired_time
                .map(format_api)
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} renew {} {}: expires {} → {}",
                paint(ADD, "+"),
                change.period.unwrap_or(0),
                change.period_unit.as_deref().unwrap_or("Month"),
                before,
                paint(BOLD, after)
            );
        }
    }
    let _ = writeln!(out, "    {}", paint(DIM, format!("# {}", change.reason)));
    if let Some(first) = change.first_deduction {
        let _ = writeln!(
            out,
            "    {}",
            paint(
                DIM,
                format!(
                    "# first automatic renewal charge: {} (08:00 UTC+8, 9 days before expiry)",
                    format_api(first)
                )
            )
        );
    }
}

/// The summary line: `Plan: N to renew, M to modify, K unchanged, U unmanaged.`
pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let mut line = format!(
        "Plan: {} to renew, {} to modify, {} unchanged, {} unmanaged.",
        s.to_renew, s.to_modify, s.unchanged, s.unmanaged
    );
    if s.skipped > 0 {
        let _ = write!(line, " {} skipped (see warnings).", s.skipped);
    }
    line
}

/// The whole text plan.
pub fn plan(plan: &Plan) -> String {
    let mut out = String::new();
    let s = &plan.summary;

    if plan.changes.is_empty() {
        let _ = writeln!(
            out,
            "{} Renewal matches the configuration: {} managed instance{} as declared, {} unmanaged.",
            paint(BOLD, "No changes."),
            s.unchanged,
            if s.unchanged == 1 { "" } else { "s" },
            s.unmanaged
        );
    } else {
        let _ = writeln!(
            out,
            "renewctl will make these changes ({} {} money):\n",
            s.to_renew,
            if s.to_renew == 1 {
                "renewal spends"
            } else {
                "renewals spend"
            }
        );
        let mut current: Option<(&str, &str)> = None;
        for change in &plan.changes {
            let key = (change.region.as_str(), change.instance_id.as_str());
            if current != Some(key) {
                if current.is_some() {
                    out.push('\n');
                }
                let _ = writeln!(
                    out,
                    "  {} {}",
                    paint(BOLD, format!("# {}", instance_label(change))),
                    paint(DIM, format!("policy {}", change.policy))
                );
                current = Some(key);
            }
            change_lines(&mut out, change);
        }
        out.push('\n');
    }

    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "{}", paint(WARN, "Warnings:"));
        for warning in &plan.warnings {
            let place = match (&warning.region, &warning.instance_id) {
                (Some(region), Some(id)) => format!("{region}/{id}: "),
                (None, Some(id)) => format!("{id}: "),
                _ => String::new(),
            };
            let _ = writeln!(out, "  {} {place}{}", paint(WARN, "!"), warning.message);
        }
        out.push('\n');
    }

    if !plan.risk.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(
                WARN,
                format!(
                    "At risk: {} instance{} expire within {} days (or have expired) and nothing renews {}:",
                    plan.risk.len(),
                    if plan.risk.len() == 1 { "" } else { "s" },
                    plan.risk_window_days,
                    if plan.risk.len() == 1 { "it" } else { "them" }
                )
            )
        );
        for item in &plan.risk {
            let name = if item.instance_name.is_empty() {
                String::new()
            } else {
                format!(" ({})", item.instance_name)
            };
            let _ = writeln!(
                out,
                "  {} {}/{}{name}: {}",
                paint(WARN, "!"),
                item.region,
                item.instance_id,
                item.message
            );
        }
        out.push('\n');
    }

    if !plan.calls.is_empty() {
        let _ = writeln!(
            out,
            "API calls apply will make, phase by phase ({}; {} read{} made to plan):",
            plan.calls.len(),
            s.read_calls,
            if s.read_calls == 1 { "" } else { "s" }
        );
        for call in &plan.calls {
            let params: Vec<String> = call
                .params
                .iter()
                .filter(|(k, _)| k.as_str() != "InstanceId" && k.as_str() != "RegionId")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let ids = call
                .params
                .get("InstanceId")
                .map(String::as_str)
                .unwrap_or("");
            let count = ids.split(',').count();
            let ids = if count > 3 {
                let first: Vec<&str> = ids.split(',').take(3).collect();
                format!("{}, … ({count} instances)", first.join(","))
            } else {
                ids.to_string()
            };
            let _ = writeln!(
                out,
                "  phase {}  {}  {}  {}  {}",
                call.phase,
                call.region,
                paint(BOLD, call.action),
                ids,
                paint(DIM, params.join(" "))
            );
        }
        out.push('\n');
    }

    let _ = writeln!(out, "{}", paint(BOLD, summary_line(plan)));
    out
}

/// One line of apply progress for change `index`.
pub fn outcome_line(plan: &Plan, index: usize, outcome: &crate::apply::Outcome) -> String {
    use crate::apply::Outcome;
    let Some(change) = plan.changes.get(index) else {
        return String::new();
    };
    let what = match change.action {
        Action::ModifyAutoRenew => format!("renewal → {}", renewal_setting(&change.after)),
        Action::Renew => format!(
            "renew {} {} (expires {})",
            change.period.unwrap_or(0),
            change.period_unit.as_deref().unwrap_or("Month"),
            change
                .after
                .expired_time
                .map(format_api)
                .unwrap_or_default()
        ),
    };
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
        Outcome::Failed { error, .. } => format!(
            "  {} {label}: {what}: {error}",
            paint(super::style::ERROR, "FAILED")
        ),
        Outcome::Skipped { why } => format!("  {} {label}: {what}: {why}", paint(WARN, "skipped")),
    }
}

/// The last line of an apply.
pub fn apply_summary(report: &crate::apply::Report) -> String {
    let (done, failed, skipped) = (report.succeeded(), report.failed(), report.skipped());
    if failed == 0 && skipped == 0 {
        paint(
            BOLD,
            format!(
                "Apply complete: {done} change{} made.",
                if done == 1 { "" } else { "s" }
            ),
        )
    } else {
        paint(
            super::style::ERROR,
            format!(
                "Apply incomplete: {done} succeeded, {failed} failed, {skipped} skipped. \
                 Run plan again to see what remains; renewals already made are not repeated."
            ),
        )
    }
}
