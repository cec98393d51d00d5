//! `renewctl check` as text, Markdown (a scheduled job's summary page: the upcoming automatic
//! charges per week as a Mermaid `xychart-beta` bar chart per currency, the expiry tiers as a
//! table), JSON (the report, versioned), the Prometheus node-exporter textfile and an iCalendar
//! file. They read the report and never decide anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;

use super::markdown::{esc, esc_code};
use super::plural;
use super::style::{ADD, BOLD, CHANGE, DIM, ERROR, WARN, paint};
use crate::money::Amount;
use crate::time::{billing_zone, format_api};
use crate::watch::{Balance, Expiry, Renews, Report};

fn renews_word(renews: Renews) -> &'static str {
    match renews {
        Renews::Automatically => "auto-renews",
        Renews::ByPolicy => "renewal planned (apply due)",
        Renews::Nothing => "WILL EXPIRE: nothing renews it",
        Renews::Unknown => "renewal unknown (unmanaged)",
    }
}

fn balance_line(report: &Report) -> String {
    match &report.balance {
        Balance::NotRead { why } => format!("balance: {why}"),
        Balance::Unreadable { error } => format!(
            "balance: could not be read ({error}); the charges above are not compared with it"
        ),
        Balance::Known {
            available,
            currency,
        } => match &report.shortfall {
            None => format!("balance: {available} {currency} available, covers the charges above"),
            Some(short) => format!(
                "balance: {available} {currency} available, {} {currency} short; the charge of {} on {} is the first that would fail",
                short.short_by,
                short.first_failing,
                format_api(short.first_failing_at)
            ),
        },
    }
}

/// `expires … (in N days)` or `expired … (N days ago)`.
fn when(e: &Expiry) -> String {
    if e.days_left < 0 {
        format!(
            "expired {} ({} ago)",
            format_api(e.expired_time),
            plural(e.days_left.unsigned_abs() as usize, "day", "days")
        )
    } else {
        format!(
            "expires {} (in {})",
            format_api(e.expired_time),
            plural(e.days_left as usize, "day", "days")
        )
    }
}

/// The report for a terminal or a log.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        paint(
            BOLD,
            format!("renewctl check at {}", format_api(report.checked_at))
        )
    );
    let _ = writeln!(out, "\nDrift (changes a plan would make now):");
    if report.drift.is_empty() {
        let _ = writeln!(out, "  {}", paint(DIM, "none"));
    }
    for d in &report.drift {
        let _ = writeln!(
            out,
            "  {} {}/{} ({}): {}",
            paint(CHANGE, "~"),
            d.region,
            d.instance_id,
            d.policy,
            d.reason
        );
    }
    let _ = writeln!(
        out,
        "\nExpiring within {} days (windows {}):",
        report.windows.first().copied().unwrap_or(0),
        report
            .windows
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    if report.expiring.is_empty() {
        let _ = writeln!(out, "  {}", paint(DIM, "none"));
    }
    for e in &report.expiring {
        let line = format!(
            "  ≤{:>3}d  {}/{}  {}  {}  {}",
            e.window,
            e.region,
            e.instance_id,
            when(e),
            e.policy.as_deref().unwrap_or("unmanaged"),
            renews_word(e.renews)
        );
        let _ = writeln!(
            out,
            "{}",
            if e.will_expire {
                paint(ERROR, line)
            } else {
                line
            }
        );
    }
    let _ = writeln!(
        out,
        "\nAutomatic renewal charges within {} days ({}):",
        report.charges_within, report.charge_rule
    );
    if report.charges.is_empty() {
        let _ = writeln!(out, "  {}", paint(DIM, "none"));
    }
    for c in &report.charges {
        let price = match (&c.price, &c.price_unknown) {
            (Some(p), _) => format!("{} {}", p.trade_price, p.currency),
            (None, Some(why)) => format!("price unknown: {why}"),
            (None, None) => "price unknown".to_string(),
        };
        let _ = writeln!(
            out,
            "  {}  {}/{}  every {} {}  {price}",
            format_api(c.at),
            c.region,
            c.instance_id,
            c.duration,
            c.period_unit
        );
    }
    for (currency, total) in &report.charge_totals {
        let _ = writeln!(out, "  total: {total} {currency}");
    }
    if report.unpriced_charges > 0 {
        let _ = writeln!(
            out,
            "  {}",
            paint(
                WARN,
                format!(
                    "{} without a known price (not in the total)",
                    plural(report.unpriced_charges as usize, "charge", "charges")
                )
            )
        );
    }
    let _ = writeln!(out, "\n{}", balance_line(report));
    for problem in &report.errors {
        let _ = writeln!(
            out,
            "{}",
            paint(
                ERROR,
                format!(
                    "error: {}{} (the check is incomplete)",
                    problem.place(),
                    problem.reason
                )
            )
        );
    }
    let _ = writeln!(out);
    if report.attention.is_empty() {
        let _ = writeln!(out, "{}", paint(ADD, "Nothing needs attention."));
    } else {
        let _ = writeln!(out, "{}", paint(BOLD, "Needs attention:"));
        for line in &report.attention {
            let _ = writeln!(out, "  - {line}");
        }
    }
    out
}

/// Monday (UTC+8) of the week of `at`.
fn week_of(at: Timestamp) -> jiff::civil::Date {
    let date = at.to_zoned(billing_zone()).date();
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(jiff::Span::new().days(back))
        .unwrap_or(date)
}

/// Known charges per currency and week.
fn charges_per_week(report: &Report) -> BTreeMap<String, BTreeMap<jiff::civil::Date, Amount>> {
    let mut out: BTreeMap<String, BTreeMap<jiff::civil::Date, Amount>> = BTreeMap::new();
    for c in &report.charges {
        if let Some(p) = &c.price {
            let week = out
                .entry(p.currency.clone())
                .or_default()
                .entry(week_of(c.at))
                .or_default();
            *week = week.saturating_add(p.trade_price);
        }
    }
    out
}

fn tier_table(out: &mut String, expiring: &[Expiry]) {
    let _ = writeln!(
        out,
        "| window | instance | region | expires | days | policy | renewal |\n|---|---|---|---|---|---|---|"
    );
    for e in expiring {
        let _ = writeln!(
            out,
            "| ≤{}d | `{}` | {} | {} | {} | {} | {} |",
            e.window,
            esc_code(&e.instance_id),
            esc(&e.region),
            format_api(e.expired_time),
            e.days_left,
            esc(e.policy.as_deref().unwrap_or("unmanaged")),
            if e.will_expire {
                "**will expire**"
            } else {
                renews_word(e.renews)
            }
        );
    }
}

/// The report as Markdown: a summary page or an issue body.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## renewctl check — {}\n",
        if report.attention.is_empty() {
            "nothing needs attention"
        } else {
            "needs attention"
        }
    );
    for line in &report.attention {
        let _ = writeln!(out, "- ⚠️ {}", esc(line));
    }
    for problem in &report.errors {
        let _ = writeln!(
            out,
            "- ❌ {}{} (the check is incomplete)",
            esc(&problem.place()),
            esc(&problem.reason)
        );
    }
    let _ = writeln!(
        out,
        "\nChecked at {} · {} · {} · {}\n",
        format_api(report.checked_at),
        plural(report.drift.len(), "change to make", "changes to make"),
        plural(
            report.expiring.len(),
            "instance expiring",
            "instances expiring"
        ),
        plural(
            report.charges.len(),
            "automatic charge",
            "automatic charges"
        ),
    );
    if !report.drift.is_empty() {
        let _ = writeln!(
            out,
            "### Drift\n\n| instance | region | policy | change |\n|---|---|---|---|"
        );
        for d in &report.drift {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                esc_code(&d.instance_id),
                esc(&d.region),
                esc(&d.policy),
                esc(&d.reason)
            );
        }
        let _ = writeln!(out);
    }
    if !report.expiring.is_empty() {
        let _ = writeln!(
            out,
            "### Expiring within {} days\n",
            report.windows.first().copied().unwrap_or(0)
        );
        tier_table(&mut out, &report.expiring);
        let _ = writeln!(out);
    }
    let weeks = charges_per_week(report);
    if !report.charges.is_empty() {
        let _ = writeln!(
            out,
            "### Automatic renewal charges within {} days\n\n{}\n",
            report.charges_within,
            esc(&report.charge_rule)
        );
        for (currency, per_week) in &weeks {
            let labels: Vec<String> = per_week.keys().map(|d| format!("\"{d}\"")).collect();
            let values: Vec<String> = per_week.values().map(Amount::to_string).collect();
            let _ = writeln!(
                out,
                "```mermaid\nxychart-beta\n    title \"Automatic charges per week ({currency})\"\n    x-axis [{}]\n    y-axis \"{currency}\"\n    bar [{}]\n```\n",
                labels.join(", "),
                values.join(", ")
            );
        }
        for (currency, total) in &report.charge_totals {
            let _ = writeln!(out, "Total: **{total} {currency}**  ");
        }
        if report.unpriced_charges > 0 {
            let _ = writeln!(
                out,
                "{} without a known price.  ",
                plural(report.unpriced_charges as usize, "charge", "charges")
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "{}", esc(&balance_line(report)));
    out
}

/// The report as JSON (format_version "1").
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        serde_json::json!({"error": format!("cannot write the report: {e}")}).to_string()
    });
    text.push('\n');
    text
}

/// Escapes a Prometheus label value.
fn label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus node-exporter textfile: expiry and days left per instance, drift, charges
/// and balance per currency, success and duration of the check.
pub fn metrics(report: &Report, duration_seconds: f64) -> String {
    let mut out = String::new();
    let family = |out: &mut String, name: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    };
    family(
        &mut out,
        "renewctl_instance_expiry_timestamp_seconds",
        "Expiry of a subscription instance within the watch windows, in Unix seconds.",
    );
    for e in &report.expiring {
        let _ = writeln!(
            out,
            "renewctl_instance_expiry_timestamp_seconds{{region=\"{}\",instance_id=\"{}\",policy=\"{}\",renews=\"{}\"}} {}",
            label(&e.region),
            label(&e.instance_id),
            label(e.policy.as_deref().unwrap_or("")),
            serde_json::to_value(e.renews)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            e.expired_time.as_second()
        );
    }
    family(
        &mut out,
        "renewctl_instance_days_left",
        "Whole days until an instance within the watch windows expires.",
    );
    for e in &report.expiring {
        let _ = writeln!(
            out,
            "renewctl_instance_days_left{{region=\"{}\",instance_id=\"{}\"}} {}",
            label(&e.region),
            label(&e.instance_id),
            e.days_left
        );
    }
    family(
        &mut out,
        "renewctl_drift_changes",
        "Changes a plan would make now.",
    );
    let _ = writeln!(out, "renewctl_drift_changes {}", report.drift.len());
    family(
        &mut out,
        "renewctl_will_expire_instances",
        "Instances within the watch windows that nothing renews.",
    );
    let _ = writeln!(
        out,
        "renewctl_will_expire_instances {}",
        report.expiring.iter().filter(|e| e.will_expire).count()
    );
    family(
        &mut out,
        "renewctl_upcoming_charges",
        "Known automatic renewal charges within the horizon, per currency.",
    );
    for (currency, total) in &report.charge_totals {
        let _ = writeln!(
            out,
            "renewctl_upcoming_charges{{currency=\"{}\"}} {}",
            label(currency),
            total
        );
    }
    family(
        &mut out,
        "renewctl_balance_available",
        "The account's available balance, per currency (absent when not read).",
    );
    if let Balance::Known {
        available,
        currency,
    } = &report.balance
    {
        let _ = writeln!(
            out,
            "renewctl_balance_available{{currency=\"{}\"}} {}",
            label(currency),
            available
        );
    }
    family(
        &mut out,
        "renewctl_check_success",
        "1 when the check saw everything, 0 when it is incomplete.",
    );
    let _ = writeln!(
        out,
        "renewctl_check_success {}",
        u8::from(report.errors.is_empty())
    );
    family(
        &mut out,
        "renewctl_check_duration_seconds",
        "How long the check took.",
    );
    let _ = writeln!(out, "renewctl_check_duration_seconds {duration_seconds:.3}");
    family(
        &mut out,
        "renewctl_check_timestamp_seconds",
        "When the check ran, in Unix seconds.",
    );
    let _ = writeln!(
        out,
        "renewctl_check_timestamp_seconds {}",
        report.checked_at.as_second()
    );
    out
}

/// Escapes an iCalendar TEXT value (RFC 5545 §3.3.11).
fn ical_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Folds a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character, with
/// CRLF line ends.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for ch in line.chars() {
        let len = ch.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += len;
    }
    out.push_str("\r\n");
}

fn ical_date(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// An iCalendar file: one event per expiry in the windows and per first automatic deduction,
/// with UIDs from the instance, the kind of event and its date only, so a subscribed calendar
/// updates in place.
pub fn calendar(report: &Report) -> String {
    let mut out = String::new();
    let stamp = ical_date(report.checked_at);
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//renewctl//check//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
    ];
    let mut event = |kind: &str, id: &str, at: Timestamp, summary: String, description: String| {
        let day = at.to_zoned(billing_zone()).date();
        lines.push("BEGIN:VEVENT".to_string());
        lines.push(format!(
            "UID:{kind}-{}-{}@renewctl",
            ical_text(id),
            day.strftime("%Y%m%d")
        ));
        lines.push(format!("DTSTAMP:{stamp}"));
        lines.push(format!("DTSTART:{}", ical_date(at)));
        lines.push(format!("SUMMARY:{}", ical_text(&summary)));
        lines.push(format!("DESCRIPTION:{}", ical_text(&description)));
        lines.push("END:VEVENT".to_string());
    };
    for e in &report.expiring {
        event(
            "expiry",
            &e.instance_id,
            e.expired_time,
            format!(
                "{} expires{}",
                e.instance_id,
                if e.will_expire {
                    " (nothing renews it)"
                } else {
                    ""
                }
            ),
            format!(
                "{}/{} ({}), policy {}: {}",
                e.region,
                e.instance_id,
                e.instance_name,
                e.policy.as_deref().unwrap_or("none"),
                renews_word(e.renews)
            ),
        );
    }
    for c in &report.charges {
        event(
            "charge",
            &c.instance_id,
            c.at,
            format!("{} auto-renewal charge", c.instance_id),
            format!(
                "{}/{} renews every {} {}{}",
                c.region,
                c.instance_id,
                c.duration,
                c.period_unit,
                c.price
                    .as_ref()
                    .map(|p| format!(", {} {}", p.trade_price, p.currency))
                    .unwrap_or_default()
            ),
        );
    }
    lines.push("END:VCALENDAR".to_string());
    for line in lines {
        fold(&line, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fold_at_75_octets_without_splitting_a_character() {
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "实例".repeat(40));
        fold(&long, &mut out);
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let unfolded: String = out.replace("\r\n ", "");
        assert_eq!(unfolded.trim_end(), long);
    }

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(ical_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
