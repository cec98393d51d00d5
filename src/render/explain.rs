//! The text of an explanation, in the plan's words and colours (styles are stripped off a
//! terminal by the writer). Change lines come from the plan's own renderer.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::explain::{Explanation, Governance, Outcome};
use crate::observed::{ChargeType, InstanceSnapshot};
use crate::policy::MatchReason;
use crate::render::style::{BOLD, DIM, ERROR, WARN, paint};
use crate::time::format_api;

/// Days from `now` to `then`, rounded to the nearest day as the plan's reasons are, as words.
fn from_now(now: Timestamp, then: Timestamp) -> String {
    let secs = then.duration_since(now).as_secs();
    let days = (secs + secs.signum() * 43_200) / 86_400;
    match days {
        0 => "today".to_string(),
        d if d > 0 => format!("in {d} day{}", if d == 1 { "" } else { "s" }),
        d => format!("{} day{} ago", -d, if d == -1 { "" } else { "s" }),
    }
}

fn reason_text(reason: &MatchReason, instance: &InstanceSnapshot) -> String {
    match reason {
        MatchReason::Id => "lists its id".to_string(),
        MatchReason::Tags(tags) => {
            let parts: Vec<String> = tags
                .iter()
                .map(|(k, v)| match (v.as_str(), instance.tags.get(k)) {
                    ("*", Some(have)) => format!("{k}=* ({have})"),
                    _ => format!("{k}={v}"),
                })
                .collect();
            format!("matches tags {}", parts.join(", "))
        }
    }
}

/// The explanation as text, in the plan's colours (stripped off a terminal by the writer).
pub fn render(e: &Explanation, now: Timestamp) -> String {
    let mut out = String::new();
    let i = &e.instance;
    let name = crate::render::text::name_suffix(&i.instance_name);
    let _ = writeln!(
        out,
        "{}",
        paint(BOLD, format!("{}/{}{name}", i.region, i.instance_id))
    );

    let _ = writeln!(out, "\nObserved:");
    let _ = writeln!(out, "  billing        {}, {}", i.charge_type, i.status);
    if i.charge_type == ChargeType::PrePaid {
        let _ = writeln!(
            out,
            "  expires        {} ({})",
            format_api(i.expired_time),
            from_now(now, i.expired_time)
        );
    }
    let renewal = match &i.renewal {
        Some(r) if r.status == crate::observed::RenewalStatus::AutoRenewal => {
            format!("{} every {} {}", r.status, r.duration, r.period_unit)
        }
        Some(r) => r.status.to_string(),
        None => "not read".to_string(),
    };
    let _ = writeln!(out, "  renewal        {renewal}");
    let tags: Vec<String> = i.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(
        out,
        "  tags           {}",
        if tags.is_empty() {
            "none".to_string()
        } else {
            tags.join(", ")
        }
    );
    if !i.locks.is_empty() {
        let _ = writeln!(out, "  locks          {}", i.locks.join(", "));
    }

    let _ = writeln!(out, "\nPolicies:");
    if e.policies.is_empty() {
        let _ = writeln!(out, "  (the file has none)");
    }
    let governing = match &e.governance {
        Governance::Governed { index, .. } => Some(*index),
        _ => None,
    };
    for p in &e.policies {
        let head = format!("{} (policies[{}])", p.name, p.index);
        match &p.outcome {
            Ok(reason) => {
                let mark = if governing == Some(p.index) {
                    paint(BOLD, "  governs")
                } else {
                    String::new()
                };
                let _ = writeln!(out, "  + {head}: {}{mark}", reason_text(reason, i));
            }
            Err(why) => {
                let _ = writeln!(out, "  {}", paint(DIM, format!("- {head}: {why}")));
            }
        }
    }

    let _ = writeln!(out);
    match &e.governance {
        Governance::NotSubscription => {
            let _ = writeln!(
                out,
                "Not managed: renewctl manages subscription (PrePaid) instances only; this one is {}.",
                i.charge_type
            );
        }
        Governance::Unmanaged => {
            let _ = writeln!(
                out,
                "Unmanaged: no policy matches it, so renewctl never touches it."
            );
        }
        Governance::Governed {
            name,
            also,
            settings,
            ..
        } => {
            let _ = writeln!(out, "Governed by {}: {settings}.", paint(BOLD, name));
            if !also.is_empty() {
                let _ = writeln!(
                    out,
                    "  also matched: {} (an ids policy beats tag policies; agreeing tag policies are equivalent)",
                    also.join(", ")
                );
            }
        }
        Governance::Conflict(conflict) => {
            let _ = writeln!(out, "{} {conflict}", paint(WARN, "Conflict:"));
        }
    }

    let _ = writeln!(out);
    match &e.outcome {
        Outcome::Planned {
            changes,
            calls,
            warnings,
            risk,
            errors,
        } => {
            if !errors.is_empty() {
                for problem in errors {
                    let _ = writeln!(
                        out,
                        "{} the plan leaves it untouched: {}",
                        paint(ERROR, "Error:"),
                        problem.reason
                    );
                }
            } else if changes.is_empty() {
                let _ = writeln!(out, "The plan makes no change to it.");
            } else {
                let _ = writeln!(out, "The plan:");
                for change in changes {
                    super::text::change_lines(&mut out, change);
                }
                if !calls.is_empty() {
                    let _ = writeln!(out, "\nCalls (numbered as in the plan):");
                }
                for (number, call, instances) in calls {
                    let (params, _) = super::text::call_parts(call);
                    let with = if *instances > 1 {
                        format!(" (with {} other instances)", instances - 1)
                    } else {
                        String::new()
                    };
                    let _ = writeln!(
                        out,
                        "  {number}. phase {}  {}  {}{with}  {}",
                        call.phase.number(),
                        call.region(),
                        paint(BOLD, call.action()),
                        paint(DIM, params)
                    );
                }
            }
            if !warnings.is_empty() {
                let _ = writeln!(out, "\n{}", paint(WARN, "Warnings:"));
                for w in warnings {
                    let _ = writeln!(out, "  {} {}", paint(WARN, "!"), w.message);
                }
            }
            if !risk.is_empty() {
                let _ = writeln!(out, "\n{}", paint(WARN, "At risk:"));
                for r in risk {
                    let _ = writeln!(out, "  {} {}", paint(WARN, "!"), r.message);
                }
            }
        }
    }
    out
}
