//! The human text plan, in the manner of `terraform plan`: one block per instance with its
//! changes (`~` a setting changes, `+` a renewal is bought, with its price), the reason, the
//! changes blocked by protection (`x`, never applied), the warnings, the exact API calls, what
//! the renewals cost in all and the limits in force, and the summary line.

use std::fmt::Write as _;

use super::style::{ADD, BOLD, CHANGE, DIM, ERROR, WARN, paint};
use crate::observed::{RenewalAttribute, RenewalStatus};
use crate::plan::cost::Quote;
use crate::plan::{Call, Change, ChangeDetail, Plan};
use crate::time::format_api;

/// An observed auto-renew attribute as a plan shows it: `AutoRenewal (every 1 month)` (the unit
/// as the API answered it) or the status.
pub(crate) fn attribute_text(attribute: &RenewalAttribute) -> String {
    match attribute.status {
        RenewalStatus::AutoRenewal => format!(
            "AutoRenewal (every {} {})",
            attribute.duration, attribute.period_unit
        ),
        ref other => other.as_api().to_string(),
    }
}

/// What a change sets, in words: the setting of a status change, `renew 1 Month (expires …)`
/// of a renewal.
pub(crate) fn change_what(change: &Change) -> String {
    match &change.detail {
        ChangeDetail::ModifyAutoRenew(setting) => format!("renewal → {}", setting.after),
        ChangeDetail::Renew(renewal) => format!(
            "renew {} (expires {})",
            renewal.period,
            format_api(renewal.after)
        ),
    }
}

/// The parameters of a call other than its ids and region, and its ids (the first three, and
/// how many, for a long list).
pub(crate) fn call_parts(call: &Call) -> (String, String) {
    let params: Vec<String> = call
        .mutation
        .params()
        .iter()
        .filter(|(k, _)| k.as_str() != "InstanceId" && k.as_str() != "RegionId")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let ids = call.ids();
    let ids = if ids.len() > 3 {
        format!("{}, … ({} instances)", ids[..3].join(","), ids.len())
    } else {
        ids.join(",")
    };
    (params.join(" "), ids)
}

pub(crate) fn instance_label(change: &Change) -> String {
    if change.instance_name.is_empty() {
        format!("{}/{}", change.region, change.instance_id)
    } else {
        format!(
            "{}/{} ({})",
            change.region, change.instance_id, change.instance_name
        )
    }
}

/// `, 90.00 CNY` or `, price unknown` after a renewal.
fn price_suffix(change: &Change) -> String {
    match change.quote() {
        Some(Quote::Known(price)) => format!(", {}", paint(BOLD, price)),
        Some(Quote::Unknown(_)) => format!(", {}", paint(WARN, "price unknown")),
        None => String::new(),
    }
}

/// One change as its plan line(s); `explain` shows an instance's changes with it too.
pub fn change_lines(out: &mut String, change: &Change) {
    match &change.detail {
        ChangeDetail::ModifyAutoRenew(setting) if change.blocked_by.is_some() => {
            let _ = writeln!(
                out,
                "  {} renewal: {} → {} {}",
                paint(ERROR, "x"),
                attribute_text(&setting.before),
                setting.after,
                paint(ERROR, "blocked: never applied")
            );
        }
        ChangeDetail::ModifyAutoRenew(setting) => {
            let _ = writeln!(
                out,
                "  {} renewal: {} → {}",
                paint(CHANGE, "~"),
                attribute_text(&setting.before),
                paint(BOLD, setting.after)
            );
        }
        ChangeDetail::Renew(renewal) => {
            let _ = writeln!(
                out,
                "  {} renew {}: expires {} → {}{}",
                paint(ADD, "+"),
                renewal.period,
                format_api(renewal.before),
                paint(BOLD, format_api(renewal.after)),
                price_suffix(change)
            );
        }
    }
    let _ = writeln!(out, "    {}", paint(DIM, format!("# {}", change.reason)));
    if let Some(rule) = &change.blocked_by {
        let _ = writeln!(
            out,
            "    {}",
            paint(
                DIM,
                format!(
                    "# blocked by {rule}: renewctl never lowers the renewal of a protected instance"
                )
            )
        );
    }
    if let Some(Quote::Unknown(why)) = change.quote() {
        let _ = writeln!(out, "    {}", paint(DIM, format!("# price unknown: {why}")));
    }
    if let Some(attempt) = change
        .renewal()
        .map(|r| r.attempt)
        .filter(|a| !a.is_first())
        .map(|a| a.get())
    {
        let _ = writeln!(
            out,
            "    {}",
            paint(
                WARN,
                format!(
                    "# fresh token (attempt {attempt}, --new-token): paid even if an earlier attempt from this expiry was"
                )
            )
        );
    }
    if let Some(first) = change.setting().and_then(|s| s.first_deduction) {
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
    if s.blocked > 0 {
        let _ = write!(line, " {} blocked by protection.", s.blocked);
    }
    if s.errors > 0 {
        let _ = write!(
            line,
            " {} error{} (left untouched).",
            s.errors,
            if s.errors == 1 { "" } else { "s" }
        );
    }
    line
}

/// What the renewals cost in all, per currency, and how many prices are unknown (never counted
/// as zero); `None` without renewals.
pub fn cost_line(plan: &Plan) -> Option<String> {
    let s = &plan.summary;
    if s.to_renew == 0 {
        return None;
    }
    let totals = amounts(&s.total_price);
    let unknown = s.unknown_prices;
    let plural = if unknown == 1 { "" } else { "s" };
    Some(match (totals.is_empty(), unknown) {
        (false, 0) => format!("Cost of the renewals: {}.", totals.join(" + ")),
        (false, n) => format!(
            "Cost of the renewals: {}, plus {n} renewal{plural} whose price is unknown (see the renewals).",
            totals.join(" + ")
        ),
        (true, n) => {
            format!("Cost of the renewals: unknown ({n} price{plural} unknown; see the renewals).")
        }
    })
}

/// The spending limits in force, as one line; `None` when there are none.
pub fn limits_line(plan: &Plan) -> Option<String> {
    let limits = &plan.limits;
    let mut parts = Vec::new();
    if let Some(limit) = &limits.max_renewals {
        parts.push(format!(
            "at most {} renewal{} ({})",
            limit.value,
            if limit.value == 1 { "" } else { "s" },
            limit.set_by
        ));
    }
    if let Some(limit) = &limits.max_total_price {
        parts.push(format!("at most {} in all ({})", limit.value, limit.set_by));
    }
    (!parts.is_empty()).then(|| format!("Limits: {}.", parts.join("; ")))
}

/// The changes protection blocked, grouped by instance.
fn blocked_section(out: &mut String, plan: &Plan) {
    if plan.blocked.is_empty() {
        return;
    }
    let n = plan.blocked.len();
    let _ = writeln!(
        out,
        "{}
",
        paint(
            WARN,
            format!(
                "Blocked by protection ({n} change{}, never applied: renewctl never lowers the renewal of a protected instance):",
                if n == 1 { "" } else { "s" }
            )
        )
    );
    for change in &plan.blocked {
        let _ = writeln!(
            out,
            "  {} {}",
            paint(BOLD, format!("# {}", instance_label(change))),
            paint(DIM, format!("policy {}", change.policy))
        );
        change_lines(out, change);
    }
    out.push('\n');
}

/// The errors of the plan: instances and regions left untouched, each with its reason.
fn errors_section(out: &mut String, plan: &Plan) {
    if plan.errors.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        paint(
            ERROR,
            format!(
                "Errors: {} left untouched (everything else is planned):",
                match plan.errors.len() {
                    1 => "1 problem".to_string(),
                    n => format!("{n} problems"),
                }
            )
        )
    );
    for problem in &plan.errors {
        let place = problem.place();
        let policies = if problem.policies.is_empty() {
            String::new()
        } else {
            format!(" [{}]", problem.policies.join(", "))
        };
        let _ = writeln!(
            out,
            "  {} {place}{}{}",
            paint(ERROR, "✗"),
            problem.reason,
            paint(DIM, policies)
        );
    }
    out.push('\n');
}

/// The whole text plan.
pub fn plan(plan: &Plan) -> String {
    let mut out = String::new();
    let s = &plan.summary;
    if let Some(scope) = &plan.scope {
        let _ = writeln!(
            out,
            "{}\n",
            paint(
                WARN,
                format!(
                    "Partial plan ({}): only these instances were planned; the rest of the fleet was not considered.",
                    scope.describe()
                )
            )
        );
    }

    if plan.changes.is_empty() && s.blocked > 0 {
        let _ = writeln!(
            out,
            "{} Nothing to apply: {} managed instance{} as declared, {} change{} blocked by protection (below), {} unmanaged.\n",
            paint(BOLD, "No changes."),
            s.unchanged,
            if s.unchanged == 1 { "" } else { "s" },
            s.blocked,
            if s.blocked == 1 { "" } else { "s" },
            s.unmanaged
        );
    } else if plan.changes.is_empty() {
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

    blocked_section(&mut out, plan);
    errors_section(&mut out, plan);

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
            let name = name_suffix(&item.instance_name);
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
            let (params, ids) = call_parts(call);
            let _ = writeln!(
                out,
                "  phase {}  {}  {}  {}  {}",
                call.phase.number(),
                call.region(),
                paint(BOLD, call.action()),
                ids,
                paint(DIM, params)
            );
        }
        out.push('\n');
    }

    for line in [cost_line(plan), limits_line(plan)].into_iter().flatten() {
        let _ = writeln!(out, "{}", paint(BOLD, line));
    }
    for line in group_lines(plan) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{}", paint(BOLD, summary_line(plan)));
    out
}

/// `1920.00 CNY`, one per currency.
pub fn amounts(totals: &std::collections::BTreeMap<String, crate::money::Amount>) -> Vec<String> {
    totals
        .iter()
        .map(|(currency, amount)| format!("{amount} {currency}"))
        .collect()
}

/// One line per tag value of `--group-by`: its renewals, other changes and cost.
pub fn group_lines(plan: &Plan) -> Vec<String> {
    let Some(groups) = &plan.groups else {
        return Vec::new();
    };
    let mut out = vec![format!("By tag {}:", groups.key)];
    for row in &groups.rows {
        let cost = amounts(&row.total_price);
        out.push(format!(
            "  {}: {} renewal{}, {} other change{}{}{}",
            row.value.as_deref().unwrap_or("(no tag)"),
            row.renewals,
            if row.renewals == 1 { "" } else { "s" },
            row.modifications,
            if row.modifications == 1 { "" } else { "s" },
            if cost.is_empty() {
                String::new()
            } else {
                format!(", {}", cost.join(" + "))
            },
            if row.unknown_prices > 0 {
                format!(" ({} price unknown)", row.unknown_prices)
            } else {
                String::new()
            }
        ));
    }
    out
}

/// ` (name)` after an instance id, or nothing for an unnamed instance.
pub(crate) fn name_suffix(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(" ({name})")
    }
}
