//! The command line end to end: the real binary, the real client over HTTP, the emulator
//! in-process on a free loopback port. Exit codes and output are what users and pipelines see.

use serde_json::Value;

use crate::support::cli::{renewctl, run, tempdir};
use crate::support::emulator::Emulator;

fn plan_json(emu: &Emulator) -> Value {
    let out = run(renewctl(emu).args(["plan", "-c", "examples/renewal.yaml", "--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("plan JSON")
}

/// The changes the rules of DESIGN.md §2 give for the example fleet (see the comments in
/// examples/fleet.yaml), as (instance, action, after).
fn expected_example_changes() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "i-bp1demo0000000001",
            "modify_auto_renew",
            "AutoRenewal 1 Month",
        ),
        (
            "i-bp1demo0000000004",
            "modify_auto_renew",
            "AutoRenewal 1 Year",
        ),
        ("i-bp1demo0000000005", "renew", "1 Month"),
        (
            "i-bp1demo0000000005",
            "modify_auto_renew",
            "AutoRenewal 1 Year",
        ),
        ("i-bp1demo0000000006", "renew", "2 Month"),
        (
            "i-bp1demo0000000006",
            "modify_auto_renew",
            "AutoRenewal 1 Year",
        ),
        ("i-bp1demo0000000007", "renew", "1 Month"),
        ("i-bp1demo0000000008", "modify_auto_renew", "Normal"),
        ("i-bp1demo0000000009", "modify_auto_renew", "Normal"),
        ("i-bp1demo0000000009", "renew", "1 Month"),
        ("i-bp1demo0000000011", "modify_auto_renew", "Normal"),
        ("i-bp1demo0000000015", "modify_auto_renew", "NotRenewal"),
        ("i-bp1demo0000000017", "modify_auto_renew", "Normal"),
        ("i-bp1demo0000000017", "renew", "3 Month"),
        ("i-uf6demo0000000016", "modify_auto_renew", "NotRenewal"),
        (
            "i-uf6demo0000000020",
            "modify_auto_renew",
            "AutoRenewal 1 Month",
        ),
    ]
}

fn change_list(plan: &Value) -> Vec<(String, String, String)> {
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let after = if c["action"] == "renew" {
                format!(
                    "{} {}",
                    c["period"],
                    c["period_unit"].as_str().unwrap_or("")
                )
            } else {
                let status = c["after"]["renewal_status"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                match (
                    c["after"]["duration"].as_u64(),
                    c["after"]["period_unit"].as_str(),
                ) {
                    (Some(d), Some(u)) => format!("{status} {d} {u}"),
                    _ => status,
                }
            };
            (
                c["instance_id"].as_str().unwrap_or("").to_string(),
                c["action"].as_str().unwrap_or("").to_string(),
                after,
            )
        })
        .collect()
}

#[test]
fn plan_apply_plan_converges_on_the_example_fleet_with_the_fewest_calls() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));

    let plan = plan_json(&emu);
    let expected: Vec<(String, String, String)> = expected_example_changes()
        .into_iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(change_list(&plan), expected);
    let summary = &plan["summary"];
    let counts: Vec<u64> = [
        "observed",
        "managed",
        "unmanaged",
        "skipped",
        "to_modify",
        "to_renew",
        "unchanged",
        "api_calls",
        "read_calls",
    ]
    .iter()
    .map(|k| summary[k].as_u64().unwrap_or(u64::MAX))
    .collect();
    // 20 observed (19 PrePaid + the listed PostPaid), 18 managed, 2 unmanaged, 2 skipped,
    // 11 modifications + 5 renewals in 11 calls (6 modify groups + 5 renewals), and 11 reads
    // (a page and an attribute call per region, one id lookup per region, and a price per
    // renewal).
    assert_eq!(counts, vec![20, 18, 2, 2, 11, 5, 4, 11, 11]);
    // The emulator saw exactly the reads the plan reports, and no write.
    let stats = emu.stats();
    assert_eq!(stats.requests, 11);
    assert_eq!(stats.by_action.get("DescribeRenewalPrice"), Some(&5));
    assert_eq!(stats.mutating_requests, 0);

    let out = run(renewctl(&emu).args(["apply", "-c", "examples/renewal.yaml", "--auto-approve"]));
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout.contains("Apply complete: 16 changes made."),
        "{}",
        out.stdout
    );
    let stats = emu.stats();
    // apply planned again (6 reads) and sent exactly the 11 planned calls.
    assert_eq!(stats.mutating_requests, 11);
    let renewed: Vec<(&str, u32)> = stats
        .renewals
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        renewed,
        vec![
            ("i-bp1demo0000000005", 1),
            ("i-bp1demo0000000006", 1),
            ("i-bp1demo0000000007", 1),
            ("i-bp1demo0000000009", 1),
            ("i-bp1demo0000000017", 1),
        ]
    );

    let out =
        run(renewctl(&emu).args(["plan", "-c", "examples/renewal.yaml", "--detailed-exitcode"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);

    // Applying again changes nothing and renews nothing.
    let out = run(renewctl(&emu).args(["apply", "-c", "examples/renewal.yaml", "--auto-approve"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(emu.stats().mutating_requests, 11);
}

#[test]
fn detailed_exitcode_is_2_with_changes_and_plain_plan_is_0() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let out =
        run(renewctl(&emu).args(["plan", "-c", "examples/renewal.yaml", "--detailed-exitcode"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Plan: 5 to renew, 11 to modify, 4 unchanged, 2 unmanaged."),
        "{}",
        out.stdout
    );
    let out = run(renewctl(&emu).args(["plan", "-c", "examples/renewal.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn apply_without_a_terminal_refuses_unless_auto_approved_and_calls_nothing() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let out = run(renewctl(&emu)
        .args(["apply", "-c", "examples/renewal.yaml"])
        .write_stdin("yes\n"));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("--auto-approve"), "{}", out.stderr);
    assert_eq!(emu.stats().requests, 0);
}

#[test]
fn usage_errors_exit_1_never_2() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let out = run(renewctl(&emu).args(["plan", "--detailed-exit-code"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("--detailed-exitcode"), "{}", out.stderr);
    let out = run(renewctl(&emu).args(["--help"]));
    assert_eq!(out.code, 0);
}

#[test]
fn an_invalid_config_exits_1_with_its_place_and_calls_nothing() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let dir = tempdir();
    let path = dir.join("renewal.yaml");
    std::fs::write(
        &path,
        "version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: a\n    match: {tags: {env: prod}}\n    renewal: never\n    min_remaining: 30 days\n",
    )
    .unwrap();
    let out = run(renewctl(&emu).args(["plan", "-c"]).arg(&path));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("policies[0].min_remaining"),
        "{}",
        out.stderr
    );
    let out = run(renewctl(&emu).args(["validate", "-c"]).arg(&path));
    assert_eq!(out.code, 1);
    let out = run(renewctl(&emu).args(["plan", "-c", "does-not-exist.yaml"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("cannot read does-not-exist.yaml"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.stats().requests, 0);
    let out = run(renewctl(&emu).args(["validate", "-c", "examples/renewal.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn an_id_in_no_region_fails_the_plan() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let dir = tempdir();
    let path = dir.join("renewal.yaml");
    std::fs::write(
        &path,
        "version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: typo\n    match: {ids: [i-bp1doesnotexist]}\n    renewal: manual\n",
    )
    .unwrap();
    let out = run(renewctl(&emu).args(["plan", "-c"]).arg(&path));
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("Errors:"), "{}", out.stdout);
    assert!(out.stdout.contains("i-bp1doesnotexist"), "{}", out.stdout);
    assert!(
        out.stderr.contains("the plan has 1 error"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.stats().mutating_requests, 0);
    // In JSON the error is in the document, and listed on stderr for the log.
    let out = run(renewctl(&emu)
        .args(["plan", "--format", "json", "-c"])
        .arg(&path));
    assert_eq!(out.code, 1);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(plan["errors"][0]["instance_id"], "i-bp1doesnotexist");
    assert_eq!(plan["errors"][0]["kind"], "not_found");
    assert_eq!(plan["errors"][0]["policies"][0], "typo");
    assert!(out.stderr.contains("i-bp1doesnotexist"), "{}", out.stderr);
}

#[test]
fn missing_credentials_exit_1_naming_the_variables() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let out = run(renewctl(&emu)
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .args(["plan", "-c", "examples/renewal.yaml"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_wrong_secret_is_reported_with_the_api_code_and_never_printed() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let out = run(renewctl(&emu)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret-xyz")
        .args(["plan", "-c", "examples/renewal.yaml"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("SignatureDoesNotMatch"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("RequestId"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("not-the-secret-xyz") && !out.stdout.contains("not-the-secret-xyz")
    );
}

#[test]
fn a_failing_change_is_reported_and_exits_1() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    // Every ModifyInstanceAutoRenewAttribute answers 503 for longer than the retry policy waits.
    for _ in 0..60 {
        emu.push_fault(
            Some("ModifyInstanceAutoRenewAttribute"),
            renewctl::emulator::FaultKind::ServerError,
        );
    }
    let out = run(renewctl(&emu).args(["apply", "-c", "examples/renewal.yaml", "--auto-approve"]));
    assert_eq!(out.code, 1, "{}", out.stdout);
    // A 503 past every retry may or may not have been carried out: unknown, not "failed".
    assert!(
        out.stdout.contains("unknown, may have been made"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("ServiceUnavailable"), "{}", out.stdout);
    assert!(out.stdout.contains("Apply incomplete"), "{}", out.stdout);
    // Renewals are independent of the failed phase-3 changes and went through once each.
    // (The two renewals after a failed move off NotRenewal are skipped.)
    let stats = emu.stats();
    assert!(
        stats.renewals.values().all(|&n| n == 1),
        "{:?}",
        stats.renewals
    );
    assert!(out.stdout.contains("skipped"), "{}", out.stdout);
}

#[test]
fn secrets_never_appear_in_any_output() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    for args in [
        vec!["plan", "-c", "examples/renewal.yaml", "--format", "json"],
        vec!["plan", "-c", "examples/renewal.yaml"],
        vec!["apply", "-c", "examples/renewal.yaml", "--auto-approve"],
    ] {
        let out = run(renewctl(&emu).args(&args));
        assert!(!out.stdout.contains(&emu.key_secret), "{args:?}");
        assert!(!out.stderr.contains(&emu.key_secret), "{args:?}");
    }
}

/// An error and its cause are said once: a refused signature while observing, and a fleet file
/// that cannot be read.
#[test]
fn an_error_s_cause_is_printed_once() {
    let said_once = |text: &str, context: &str, cause: &str| {
        text.contains(context) && text.matches(cause).count() == 1
    };
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let out = run(renewctl(&emu)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret")
        .args(["plan", "-c", "examples/renewal.yaml"]));
    let observed = said_once(
        &out.stderr,
        "cannot observe region",
        "SignatureDoesNotMatch",
    );
    assert!(out.code == 1 && observed, "{}", out.stderr);

    let missing = tempdir().join("no-such-fleet.yaml");
    let out = run(renewctl(&emu).args(["emulator", "--fleet"]).arg(&missing));
    let read = said_once(&out.stderr, "cannot read fleet file", "os error 2");
    assert!(out.code == 1 && read, "{}", out.stderr);
}
