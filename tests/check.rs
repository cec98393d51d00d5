//! `renewctl check` against the emulator, through the binary: what needs attention and the exit
//! codes (0 all well, 2 attention, 1 incomplete or failed), the balance short / enough /
//! unreadable, no mutating call ever, the JSON document, the Prometheus textfile parsed back
//! by a strict exposition-format parser, the iCalendar file parsed back (CRLF, 75-octet
//! folding, stable UIDs).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::cli::{Run, renewctl, run, tempdir};
use crate::support::emulator::Emulator;

/// Two auto-renewing instances whose charges fall within 30 days (expiring in 12 and 20 days:
/// first attempts 9 days before), one manual instance expiring in 12 hours that nothing
/// renews (unmanaged), one far away.
fn fleet(balance: &str) -> String {
    format!(
        "access_keys:\n  - {{id: LTAIcheck, secret: check-secret}}\n{balance}regions:\n  cn-hangzhou:\n    - {{id: i-bp1auto01, charge_type: PrePaid, expires_in: 12 days, monthly_price: 300, tags: {{env: prod}}, renewal: {{status: AutoRenewal, duration: 1, period_unit: Month}}}}\n    - {{id: i-bp1auto02, charge_type: PrePaid, expires_in: 20 days, monthly_price: 200, tags: {{env: prod}}, renewal: {{status: AutoRenewal, duration: 1, period_unit: Month}}}}\n    - {{id: i-bp1soon01, charge_type: PrePaid, expires_in: 12 hours, tags: {{team: lab}}, renewal: {{status: Normal, duration: 0, period_unit: Month}}}}\n    - {{id: i-bp1far001, charge_type: PrePaid, expires_in: 300 days, tags: {{env: prod}}, renewal: {{status: AutoRenewal, duration: 1, period_unit: Month}}}}\n"
    )
}

/// Declares the prod instances as they are: no drift.
const CONFIG: &str = "version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: prod\n    match: {tags: {env: prod}}\n    renewal: auto\n    auto_renew_period: 1 month\n";

fn check(emu: &Emulator, config: &str, args: &[&str]) -> (Run, std::path::PathBuf) {
    let dir = tempdir();
    std::fs::write(dir.join("renewal.yaml"), config).unwrap();
    let out = run(renewctl(emu).current_dir(&dir).arg("check").args(args));
    (out, dir)
}

fn json_of(out: &Run) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.stdout))
}

#[test]
fn a_fleet_as_declared_with_enough_balance_needs_no_attention_but_the_expiring_lab_instance() {
    let emu = Emulator::start(&fleet("balance: 10000\n"));
    // The lab instance (unmanaged, expires in 12 hours, nothing renews it) needs attention.
    let (out, _) = check(&emu, CONFIG, &["--format", "json"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let report = json_of(&out);
    assert_eq!(report["format_version"], "1");
    assert_eq!(report["drift"], serde_json::json!([]));
    let attention = report["attention"].as_array().unwrap();
    assert_eq!(attention.len(), 1, "{attention:?}");
    assert!(attention[0].as_str().unwrap().contains("i-bp1soon01"));
    let soon = &report["expiring"][0];
    assert_eq!(
        (
            soon["instance_id"].as_str(),
            soon["will_expire"].as_bool(),
            soon["window"].as_u64()
        ),
        (Some("i-bp1soon01"), Some(true), Some(1))
    );
    // Both charges priced (one month each) and covered.
    let charges = report["charges"].as_array().unwrap();
    assert_eq!(charges.len(), 2, "{charges:?}");
    assert_eq!(report["charge_totals"]["CNY"], 500.0);
    assert_eq!(report["balance"]["state"], "known");
    assert_eq!(report["shortfall"], Value::Null);
    assert_eq!(
        emu.stats().mutating_requests,
        0,
        "check never changes anything"
    );

    // With a window of its own for lab instances it is still listed, and a wider smallest
    // window than 12 hours still flags it.
    let config = format!("{CONFIG}watch:\n  windows: [10, 2]\n  charges_within: 30\n");
    let (out, _) = check(&emu, &config, &["--format", "json"]);
    assert_eq!(out.code, 2);
    assert_eq!(json_of(&out)["windows"], serde_json::json!([10, 2]));

    // Declared (renewal: manual for the lab), nothing needs attention but the drift it makes.
    let declared = format!(
        "{CONFIG}  - name: lab\n    match: {{tags: {{team: lab}}}}\n    renewal: manual\n    min_remaining: 2 days\n"
    );
    let (out, _) = check(&emu, &declared, &[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout.contains("renewal planned (apply due)")
            && out.stdout.contains("1 change would be made now"),
        "{}",
        out.stdout
    );
}

#[test]
fn nothing_to_attend_to_exits_0() {
    let quiet = "access_keys:\n  - {id: LTAIcheck, secret: check-secret}\nbalance: 10000\nregions:\n  cn-hangzhou:\n    - {id: i-bp1far001, charge_type: PrePaid, expires_in: 300 days, tags: {env: prod}, renewal: {status: AutoRenewal, duration: 1, period_unit: Month}}\n";
    let emu = Emulator::start(quiet);
    let (out, _) = check(&emu, CONFIG, &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Nothing needs attention."),
        "{}",
        out.stdout
    );
}

#[test]
fn a_short_balance_names_the_first_charge_that_would_fail() {
    // 350 CNY: the first charge (300, i-bp1auto01, due first) is covered, the second is not.
    let emu = Emulator::start(&fleet("balance: 350\n"));
    let (out, _) = check(&emu, CONFIG, &["--format", "json"]);
    assert_eq!(out.code, 2);
    let report = json_of(&out);
    let short = &report["shortfall"];
    assert_eq!(short["first_failing"], "i-bp1auto02", "{short}");
    assert_eq!(short["short_by"], 150.0);
    assert!(
        report["attention"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().contains("150.00 CNY short")),
        "{}",
        report["attention"]
    );
    let (out, _) = check(&emu, CONFIG, &["--format", "markdown"]);
    assert!(
        out.stdout.contains("```mermaid\nxychart-beta")
            && out.stdout.contains("| ≤1d | `i-bp1soon01`"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_unreadable_balance_is_a_warning_not_a_failure() {
    let quiet = "access_keys:\n  - {id: LTAIcheck, secret: check-secret}\nregions:\n  cn-hangzhou:\n    - {id: i-bp1auto01, charge_type: PrePaid, expires_in: 12 days, tags: {env: prod}, renewal: {status: AutoRenewal, duration: 1, period_unit: Month}}\n";
    let emu = Emulator::start(quiet);
    let (out, _) = check(
        &emu,
        CONFIG,
        &["--bss-endpoint", "http://127.0.0.1:9/", "--format", "json"],
    );
    assert_eq!(
        out.code, 0,
        "as with the balance unknown\n{}\n{}",
        out.stdout, out.stderr
    );
    let report = json_of(&out);
    assert_eq!(
        report["balance"]["state"], "unreadable",
        "{}",
        report["balance"]
    );
    let (out, _) = check(&emu, CONFIG, &["--no-balance"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("balance: not read (--no-balance)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_metrics_file_that_cannot_be_written_fails_the_run() {
    let emu = Emulator::start(&fleet(""));
    let (out, _) = check(&emu, CONFIG, &["--metrics-file", "no-such-dir/check.prom"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot write the metrics to no-such-dir/check.prom"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_check_that_cannot_see_a_region_is_incomplete() {
    let emu = Emulator::start(&fleet(""));
    let config = CONFIG.replace("[cn-hangzhou]", "[cn-hangzhou, cn-nowhere-1]");
    let (out, _) = check(&emu, &config, &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("the check is incomplete"),
        "{}",
        out.stdout
    );
}

/// A strict reader of the Prometheus text exposition format (0.0.4): every sample belongs to
/// a family announced by `# HELP` and `# TYPE`, names and labels are well formed, values are
/// numbers. Returns samples by `name{labels}`.
fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    let mut typed = std::collections::BTreeSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(name_ok(name), "{line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(name_ok(name) && kind == "gauge", "{line}");
            assert!(typed.insert(name.to_string()), "family twice: {line}");
        } else {
            assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
            let (series, value) = line.rsplit_once(' ').expect("a value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            let name = series.split('{').next().unwrap();
            assert!(typed.contains(name), "sample before its TYPE: {line}");
            if let Some(labels) = series.strip_prefix(name)
                && !labels.is_empty()
            {
                let inner = labels
                    .strip_prefix('{')
                    .and_then(|l| l.strip_suffix('}'))
                    .unwrap_or_else(|| panic!("{line}"));
                for pair in inner.split("\",") {
                    let (key, value) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                    assert!(name_ok(key), "{line}");
                    assert!(!value.trim_end_matches('"').contains('\n'), "{line}");
                }
            }
            assert!(
                samples.insert(series.to_string(), value).is_none(),
                "twice: {line}"
            );
        }
    }
    samples
}

#[test]
fn the_metrics_and_calendar_files_read_back() {
    let emu = Emulator::start(&fleet("balance: 350\n"));
    let (out, dir) = check(
        &emu,
        CONFIG,
        &[
            "--metrics-file",
            "check.prom",
            "--calendar-file",
            "expiries.ics",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let metrics = parse_prometheus(&std::fs::read_to_string(dir.join("check.prom")).unwrap());
    assert_eq!(metrics["renewctl_check_success"], 1.0);
    assert_eq!(metrics["renewctl_drift_changes"], 0.0);
    assert_eq!(metrics["renewctl_will_expire_instances"], 1.0);
    assert_eq!(
        metrics["renewctl_upcoming_charges{currency=\"CNY\"}"],
        500.0
    );
    assert_eq!(
        metrics["renewctl_balance_available{currency=\"CNY\"}"],
        350.0
    );
    assert_eq!(
        metrics["renewctl_instance_days_left{region=\"cn-hangzhou\",instance_id=\"i-bp1auto02\"}"],
        19.0
    );

    let calendar = std::fs::read(dir.join("expiries.ics")).unwrap();
    let text = String::from_utf8(calendar).unwrap();
    assert!(
        text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'),
        "CRLF only"
    );
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }
    let unfolded = text.replace("\r\n ", "");
    let lines: Vec<&str> = unfolded.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.first(), Some(&"BEGIN:VCALENDAR"));
    assert_eq!(lines.last(), Some(&"END:VCALENDAR"));
    let begins = lines.iter().filter(|l| **l == "BEGIN:VEVENT").count();
    assert_eq!(begins, lines.iter().filter(|l| **l == "END:VEVENT").count());
    // Expiries of the three instances in the windows, and the two first charges.
    assert_eq!(begins, 5, "{unfolded}");
    let uids = |text: &str| -> Vec<String> {
        text.replace("\r\n ", "")
            .split("\r\n")
            .filter(|l| l.starts_with("UID:"))
            .map(str::to_owned)
            .collect()
    };
    assert!(
        uids(&unfolded)
            .iter()
            .any(|u| u.starts_with("UID:charge-i-bp1auto01-")),
        "{unfolded}"
    );
    // A second run (another time, another stamp) gives the same UIDs: a subscribed calendar
    // updates in place.
    let (again, dir2) = check(&emu, CONFIG, &["--calendar-file", "expiries.ics"]);
    assert_eq!(again.code, 2);
    let second = std::fs::read_to_string(dir2.join("expiries.ics")).unwrap();
    assert_eq!(uids(&unfolded), uids(&second));
    assert_eq!(emu.stats().mutating_requests, 0);
}
