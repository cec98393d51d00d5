//! The plan as a pull-request comment (GitHub / GitLab Markdown) that a reviewer takes in at a
//! glance: the summary line with what the renewals cost and the limits in force; what needs
//! attention first; tables of renewals (with their prices), of auto-renew changes and of the
//! changes protection blocked; an expiry outlook as a Mermaid chart; the calls per region in collapsible blocks.
//! It never exceeds 65,536 characters (GitHub's cap on a comment): beyond that, tables are cut
//! and the comment says what was left out. Text from the cloud is escaped so an instance name
//! cannot inject Markdown or HTML.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::plural;
use crate::ecs::AutoRenewSetting;
use crate::observed::{RenewalAttribute, RenewalStatus};
use crate::plan::cost::Quote;
use crate::plan::{Change, Plan, Renewal, RiskItem, RiskKind, SettingChange};
use crate::time::format_api;

/// GitHub's limit on a pull-request comment.
pub const MAX_CHARS: usize = 65_536;

/// Risk within this many days is called out first.
const URGENT_DAYS: i64 = 7;

/// Row limits tried in turn until the comment fits.
const ROW_LIMITS: [usize; 7] = [usize::MAX, 1000, 300, 100, 30, 10, 0];

/// Escapes text from the cloud (names, messages) for a table cell or a list item.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '|' | '\\' | '*' | '_' | '[' | ']' | '`' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

fn instance_cell(region: &str, id: &str) -> String {
    format!("`{}/{}`", esc_code(region), esc_code(id))
}

/// Text inside a code span: no backticks, no newlines.
pub(super) fn esc_code(text: &str) -> String {
    text.chars()
        .map(|c| if c == '`' || c == '\n' { '\'' } else { c })
        .collect()
}

/// The observed setting of a status change, as a cell.
fn before_cell(attribute: &RenewalAttribute) -> String {
    match &attribute.status {
        RenewalStatus::AutoRenewal => format!(
            "AutoRenewal, every {} {}",
            attribute.duration,
            esc(&attribute.period_unit)
        ),
        other => esc(other.as_api()),
    }
}

/// The setting a status change sends, as a cell.
fn after_cell(setting: &AutoRenewSetting) -> String {
    match setting.period() {
        Some(period) => format!("AutoRenewal, every {period}"),
        None => setting.status().to_string(),
    }
}

/// The status changes among `changes`, with their setting.
fn setting_changes<'a>(
    changes: impl Iterator<Item = &'a Change>,
) -> Vec<(&'a Change, &'a SettingChange)> {
    changes
        .filter_map(|c| c.setting().map(|s| (c, s)))
        .collect()
}

/// Renders `plan`, cutting tables until it fits `MAX_CHARS`.
pub fn plan(plan: &Plan) -> String {
    let mut last = String::new();
    for limit in ROW_LIMITS {
        last = render(plan, limit);
        if last.chars().count() <= MAX_CHARS {
            return last;
        }
    }
    // Even the bare summary is too long (cannot happen with row limit 0, whose size does not
    // depend on the fleet); cut at a character boundary as a last resort.
    let cut: String = last.chars().take(MAX_CHARS - 200).collect();
    format!("{cut}\n\n… (cut at {MAX_CHARS} characters)\n")
}

fn render(plan: &Plan, limit: usize) -> String {
    let mut out = String::new();
    let s = &plan.summary;
    let _ = writeln!(out, "## renewctl plan\n");
    if let Some(scope) = &plan.scope {
        let _ = writeln!(
            out,
            "> ⚠️ **Partial plan** (`{}`): only these instances were planned; the rest of the fleet was not considered.\n",
            scope.describe()
        );
    }
    let _ = writeln!(
        out,
        "**Plan: {} to renew, {} to modify, {} unchanged, {} unmanaged.**{}{}",
        s.to_renew,
        s.to_modify,
        s.unchanged,
        s.unmanaged,
        if s.skipped > 0 {
            format!(" {} skipped (see warnings).", s.skipped)
        } else {
            String::new()
        },
        if s.blocked > 0 {
            format!(" {} blocked by protection.", s.blocked)
        } else {
            String::new()
        }
    );
    if s.errors > 0 {
        let _ = writeln!(
            out,
            "\n> [!CAUTION]\n> **{} left untouched** (listed under Errors); everything else is planned. `plan` and `apply` exit 1 until {} fixed.",
            plural(
                s.errors as usize,
                "error of the plan:",
                "errors of the plan:"
            ),
            if s.errors == 1 { "it is" } else { "they are" }
        );
    }
    let _ = writeln!(
        out,
        "\n{} observed · {} · apply sends {} · planned {} · config `{}`\n",
        plural(s.observed as usize, "instance", "instances"),
        plural(s.read_calls as usize, "read", "reads"),
        plural(s.api_calls as usize, "call", "calls"),
        plan.created_at,
        short_digest(&plan.config_digest)
    );
    for line in [super::text::cost_line(plan), super::text::limits_line(plan)]
        .into_iter()
        .flatten()
    {
        let _ = writeln!(out, "{}\n", esc(&line));
    }
    if let Some(groups) = &plan.groups {
        let _ = writeln!(
            out,
            "| {} | renewals | other changes | cost | unknown prices |\n|---|---|---|---|---|",
            esc(&groups.key)
        );
        for row in &groups.rows {
            let cost = super::text::amounts(&row.total_price);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                esc(row.value.as_deref().unwrap_or("(no tag)")),
                row.renewals,
                row.modifications,
                if cost.is_empty() {
                    "—".to_string()
                } else {
                    cost.join(" + ")
                },
                row.unknown_prices
            );
        }
        let _ = writeln!(out);
    }
    if !plan.has_changes() && s.blocked > 0 {
        let _ = writeln!(
            out,
            "No changes to apply: the only changes the configuration asks for are blocked by protection (below).\n"
        );
    } else if !plan.has_changes() {
        let _ = writeln!(out, "No changes: renewal matches the configuration.\n");
    }

    errors(&mut out, plan, limit);
    attention(&mut out, plan, limit);
    renewals(&mut out, plan, limit);
    modifications(&mut out, plan, limit);
    blocked(&mut out, plan, limit);
    outlook(&mut out, plan);
    per_region(&mut out, plan, limit);
    if limit != usize::MAX {
        let _ = writeln!(
            out,
            "\n_This comment was shortened to fit {MAX_CHARS} characters (at most {limit} rows a table); \
             the saved plan has everything: `renewctl show plan.json`._"
        );
    }
    out
}

fn short_digest(digest: &str) -> String {
    let cut: String = digest.chars().take(19).collect();
    format!("{}…", esc_code(&cut))
}

/// Warnings first: expiring within 7 days with nothing renewing them, instances that will be
/// released, then the other risk and the plan's warnings.
fn attention(out: &mut String, plan: &Plan, limit: usize) {
    let days_left =
        |item: &RiskItem| item.expired_time.duration_since(plan.created_at).as_secs() / 86_400;
    let urgent: Vec<&RiskItem> = plan
        .risk
        .iter()
        .filter(|r| r.kind == RiskKind::ExpiresSoon || r.kind == RiskKind::Unknown)
        .filter(|r| days_left(r) < URGENT_DAYS)
        .collect();
    let released: Vec<&RiskItem> = plan
        .risk
        .iter()
        .filter(|r| r.kind == RiskKind::WillBeReleased || r.kind == RiskKind::Expired)
        .collect();
    let rest: Vec<&RiskItem> = plan
        .risk
        .iter()
        .filter(|r| !urgent.iter().chain(&released).any(|u| std::ptr::eq(*u, *r)))
        .collect();
    if urgent.is_empty() && released.is_empty() && rest.is_empty() && plan.warnings.is_empty() {
        return;
    }
    let _ = writeln!(out, "### ⚠️ Needs attention\n");
    let item = |out: &mut String, r: &RiskItem| {
        let who = match &r.policy {
            Some(p) => format!("policy `{}`", esc_code(p)),
            None => "unmanaged".to_string(),
        };
        let name = if r.instance_name.is_empty() {
            String::new()
        } else {
            format!(" ({})", esc(&r.instance_name))
        };
        let _ = writeln!(
            out,
            "- {}{name}, {who}: {}",
            instance_cell(&r.region, &r.instance_id),
            esc(&r.message)
        );
    };
    let section = |out: &mut String, title: String, items: &[&RiskItem]| {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(out, "**{title}**\n");
        for r in items.iter().take(limit) {
            item(out, r);
        }
        if items.len() > limit {
            let _ = writeln!(out, "- … and {} more", items.len() - limit);
        }
        out.push('\n');
    };
    section(
        out,
        format!(
            "Expiring within {URGENT_DAYS} days with no renewal planned ({})",
            urgent.len()
        ),
        &urgent,
    );
    section(
        out,
        format!("Will be released unless renewed ({})", released.len()),
        &released,
    );
    section(
        out,
        format!(
            "Expiring within {} days with nothing renewing them ({})",
            plan.risk_window_days,
            rest.len()
        ),
        &rest,
    );
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "**Plan warnings ({})**\n", plan.warnings.len());
        for w in plan.warnings.iter().take(limit) {
            let place = match (&w.region, &w.instance_id) {
                (Some(region), Some(id)) => format!("{}: ", instance_cell(region, id)),
                _ => String::new(),
            };
            let _ = writeln!(out, "- {place}{}", esc(&w.message));
        }
        if plan.warnings.len() > limit {
            let _ = writeln!(out, "- … and {} more", plan.warnings.len() - limit);
        }
        out.push('\n');
    }
}

fn renewals(out: &mut String, plan: &Plan, limit: usize) {
    let rows: Vec<(&Change, &Renewal)> = plan
        .changes
        .iter()
        .filter_map(|c| c.renewal().map(|r| (c, r)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Renewals ({}, spend money)\n\n| Instance | Name | Policy | Expiry before → after | Period | Price |\n|---|---|---|---|---|---|",
        rows.len()
    );
    for (c, r) in rows.iter().take(limit) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} → **{}** | {} | {} |",
            instance_cell(&c.region, &c.instance_id),
            esc(&c.instance_name),
            esc(&c.policy),
            format_api(r.before),
            format_api(r.after),
            r.period,
            price_cell(c)
        );
    }
    if rows.len() > limit {
        let _ = writeln!(
            out,
            "\n… and {} more renewals (left out to fit).",
            rows.len() - limit
        );
    }
    out.push('\n');
}

/// Reasons longer than this are cut in a table cell (the saved plan has them whole).
const REASON_CHARS: usize = 160;

/// A renewal's price, or "unknown" with why (never a zero).
fn price_cell(change: &Change) -> String {
    match change.quote() {
        Some(Quote::Known(price)) => price.to_string(),
        Some(Quote::Unknown(why)) => {
            let mut cut: String = why.chars().take(REASON_CHARS).collect();
            if cut.len() < why.len() {
                cut.push('…');
            }
            format!("**unknown**: {}", esc(&cut))
        }
        None => String::new(),
    }
}

/// The errors of the plan: instances and regions left untouched, first, since a reviewer must
/// act on them.
fn errors(out: &mut String, plan: &Plan, limit: usize) {
    if plan.errors.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Errors ({}, left untouched)\n\n| Instance | Policies | Problem |\n|---|---|---|",
        plan.errors.len()
    );
    for problem in plan.errors.iter().take(limit.max(10)) {
        let place = match (&problem.region, &problem.instance_id) {
            (Some(region), Some(id)) => instance_cell(region, id),
            (None, Some(id)) => format!("`{}`", esc(id)),
            (Some(region), None) => format!("region `{}`", esc(region)),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "| {place} | {} | {} |",
            esc(&problem.policies.join(", ")),
            esc(&problem.reason)
        );
    }
    if plan.errors.len() > limit.max(10) {
        let _ = writeln!(
            out,
            "\n… and {} more errors (left out to fit).",
            plan.errors.len() - limit.max(10)
        );
    }
    out.push('\n');
}

/// The changes a protection rule blocked: shown so a reviewer knows the policy is not in
/// force for those instances.
fn blocked(out: &mut String, plan: &Plan, limit: usize) {
    if plan.blocked.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Blocked by protection ({}, never applied)\n\nrenewctl never lowers the renewal of a protected instance.\n\n| Instance | Name | Policy | Current | Policy wants | Protected by |\n|---|---|---|---|---|---|",
        plan.blocked.len()
    );
    for (c, s) in setting_changes(plan.blocked.iter()).into_iter().take(limit) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | ~~{}~~ | {} |",
            instance_cell(&c.region, &c.instance_id),
            esc(&c.instance_name),
            esc(&c.policy),
            before_cell(&s.before),
            after_cell(&s.after),
            esc(c.blocked_by.as_deref().unwrap_or_default())
        );
    }
    if plan.blocked.len() > limit {
        let _ = writeln!(
            out,
            "\n… and {} more blocked changes (left out to fit).",
            plan.blocked.len() - limit
        );
    }
    out.push('\n');
}

fn modifications(out: &mut String, plan: &Plan, limit: usize) {
    let rows = setting_changes(plan.changes.iter());
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Auto-renew changes ({})\n\n| Instance | Name | Policy | Before | After | First automatic charge |\n|---|---|---|---|---|---|",
        rows.len()
    );
    for (c, s) in rows.iter().take(limit) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | **{}** | {} |",
            instance_cell(&c.region, &c.instance_id),
            esc(&c.instance_name),
            esc(&c.policy),
            before_cell(&s.before),
            after_cell(&s.after),
            s.first_deduction.map(format_api).unwrap_or_default()
        );
    }
    if rows.len() > limit {
        let _ = writeln!(
            out,
            "\n… and {} more auto-renew changes (left out to fit).",
            rows.len() - limit
        );
    }
    out.push('\n');
}

/// Instances expiring per week, covered or not, as a Mermaid bar chart and a table.
fn outlook(out: &mut String, plan: &Plan) {
    if plan.outlook.is_empty() {
        return;
    }
    let labels: Vec<String> = plan
        .outlook
        .iter()
        .map(|w| format!("\"{}\"", w.week_start.strftime("%m-%d")))
        .collect();
    let series = |f: &dyn Fn(&crate::plan::OutlookWeek) -> u64| {
        plan.outlook
            .iter()
            .map(|w| f(w).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let max = plan
        .outlook
        .iter()
        .map(|w| w.expiring)
        .max()
        .unwrap_or(0)
        .max(1);
    let _ = writeln!(
        out,
        "### Expiry outlook, next {} weeks\n\n\
         Bars: instances expiring each week (wide) and, drawn over them, those covered by \
         auto-renewal or a planned renewal; the line: not covered.\n",
        plan.outlook.len()
    );
    let _ = writeln!(
        out,
        "```mermaid\nxychart-beta\n    title \"Instances expiring per week (from {})\"\n    x-axis [{}]\n    y-axis \"Instances\" 0 --> {}\n    bar [{}]\n    bar [{}]\n    line [{}]\n```\n",
        plan.outlook[0].week_start,
        labels.join(", "),
        max,
        series(&|w| w.expiring),
        series(&|w| w.covered),
        series(&|w| w.not_covered)
    );
    let _ = writeln!(
        out,
        "| Week of | Expiring | Covered | Not covered | Unknown (unmanaged, not read) |\n|---|---|---|---|---|"
    );
    for w in &plan.outlook {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            w.week_start, w.expiring, w.covered, w.not_covered, w.unknown
        );
    }
    out.push('\n');
}

/// The calls per region, collapsed.
fn per_region(out: &mut String, plan: &Plan, limit: usize) {
    let mut regions: BTreeMap<&str, (usize, Vec<&crate::plan::Call>)> = BTreeMap::new();
    for c in &plan.changes {
        regions.entry(c.region.as_str()).or_default().0 += 1;
    }
    for call in &plan.calls {
        regions.entry(call.region()).or_default().1.push(call);
    }
    for (region, (changes, calls)) in regions {
        let _ = writeln!(
            out,
            "<details><summary><b>{}</b>: {}, {}</summary>\n",
            esc(region),
            plural(changes, "change", "changes"),
            plural(calls.len(), "call", "calls")
        );
        let _ = writeln!(
            out,
            "| Phase | Action | Instances | Parameters |\n|---|---|---|---|"
        );
        for call in calls.iter().take(limit) {
            let ids = call.ids();
            let shown = if ids.len() > 3 {
                let first: Vec<String> = ids[..3].iter().map(|id| esc_code(id)).collect();
                format!("`{}`, … ({})", first.join("`, `"), ids.len())
            } else {
                let all: Vec<String> = ids.iter().map(|id| esc_code(id)).collect();
                format!("`{}`", all.join("`, `"))
            };
            let params: Vec<String> = call
                .mutation
                .params()
                .iter()
                .filter(|(k, _)| k.as_str() != "InstanceId" && k.as_str() != "RegionId")
                .map(|(k, v)| format!("`{}={}`", esc_code(k), esc_code(v)))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                call.phase.number(),
                call.action(),
                shown,
                params.join(" ")
            );
        }
        if calls.len() > limit {
            let _ = writeln!(out, "\n… and {} more calls.", calls.len() - limit);
        }
        let _ = writeln!(out, "\n</details>\n");
    }
}
