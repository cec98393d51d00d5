//! Money safety under the real API's semantics (DESIGN.md §8), against the emulator with its
//! renewal lag on, through the real binary: two applies of different configs from one observed
//! expiry pay once; a token held by an attempt that did not renew is named with its way out;
//! an expired instance is renewed and set to auto-renew in one apply; a locked instance, a
//! hidden refusal and a policy conflict among 100 instances stop nothing else; a region that
//! cannot be read stops no other; SIGTERM mid-apply, then apply again, pays nothing twice; an
//! interactive apply re-checks the plan after "yes"; saved plans are refused when a protect tag
//! was added, when they are too old, or when a call reaches an instance no change names.

use std::process::Stdio;
use std::time::{Duration, Instant};

use renewctl::emulator::EmulatorOptions;
use serde_json::Value;

use crate::support::cli::{Run, process, renewctl, run, tempdir};
use crate::support::emulator::Emulator;

const PAY: &str = "i-bp1pay000000000001";

/// One instance 10 days from expiry, 100 CNY a month; `extra` goes at the top of the fleet.
fn pay_fleet(extra: &str) -> String {
    format!(
        "{extra}access_keys: [{{id: LTAIdemo, secret: demo-secret}}]\nregions:\n  cn-hangzhou:\n    - {{id: {PAY}, name: pay-1, expires_in: 10 days, tags: {{team: pay}},\n       renewal: {{status: Normal}}, monthly_price: 100}}\n"
    )
}

/// Manual renewal of team pay, keeping expiry `min_remaining` away.
fn pay_config(min_remaining: &str) -> String {
    format!(
        "version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: pay\n    match: {{tags: {{team: pay}}}}\n    renewal: manual\n    min_remaining: {min_remaining}\n"
    )
}

fn lagging(fleet: &str, lag_ms: u64, latency_ms: u64) -> Emulator {
    Emulator::start_with(
        fleet,
        EmulatorOptions {
            renewal_lag: Duration::from_millis(lag_ms),
            latency: Duration::from_millis(latency_ms),
            ..EmulatorOptions::default()
        },
    )
}

/// A directory holding `config` as renewal.yaml.
fn workdir(config: &str) -> std::path::PathBuf {
    let dir = tempdir();
    std::fs::write(dir.join("renewal.yaml"), config).expect("config written");
    dir
}

fn in_dir(emu: &Emulator, dir: &std::path::Path, args: &[&str]) -> Run {
    run(renewctl(emu).current_dir(dir).args(args))
}

/// Renewals paid per (instance, expiry shown when paid): never more than one.
fn assert_paid_once_per_expiry(emu: &Emulator) {
    let twice = emu.stats().double_payments();
    assert!(twice.is_empty(), "paid twice from one expiry: {twice:?}");
}

#[test]
fn two_pipelines_applying_different_configs_from_one_expiry_pay_once() {
    // The second pipeline raised min_remaining (two months instead of one). Both planned from
    // the expiry before either renewal; the API shows the first renewal only seconds later.
    let emu = lagging(&pay_fleet(""), 6_000, 0);
    let first = workdir(&pay_config("30 days"));
    let second = workdir(&pay_config("60 days"));
    for dir in [&first, &second] {
        let out = in_dir(&emu, dir, &["plan", "--out", "plan.json"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    // The first pipeline pays, and stops looking before the renewal shows (it was paid).
    let out = in_dir(
        &emu,
        &first,
        &["--verify-timeout", "1s", "apply", "plan.json"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("not yet visible"), "{}", out.stdout);
    // The second plan still looks fresh (the renewal does not show yet) and asks for another
    // period with the same token: ECS refuses it, nothing is paid, and the re-read shows why.
    let out = in_dir(&emu, &second, &["apply", "plan.json"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("not paid again:") && out.stdout.contains("IdempotenceParamNotMatch"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains(&format!(
            "already renewed cn-hangzhou/{PAY}: another apply renewed it from the same expiry"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(emu.stats().ledger.len(), 1, "one renewal");
    // The renewal shows now (the second apply waited for it): the second pipeline's plan
    // renews from the new expiry, a new payment for a new expiry, as its policy asks.
    let out = in_dir(&emu, &second, &["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let ledger = emu.stats().ledger;
    assert_eq!(ledger.len(), 2, "{ledger:?}");
    assert_ne!(ledger[0].shown_from, ledger[1].shown_from);
    assert_paid_once_per_expiry(&emu);
    let out = in_dir(&emu, &second, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "converged:\n{}", out.stdout);
}

#[test]
fn two_pipelines_applying_at_once_pay_once() {
    let emu = lagging(&pay_fleet(""), 2_000, 150);
    let first = workdir(&pay_config("30 days"));
    let second = workdir(&pay_config("60 days"));
    let spawn = |dir: &std::path::Path| {
        process(&emu)
            .current_dir(dir)
            .args(["apply", "--auto-approve", "--format", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("apply starts")
    };
    let (a, b) = (spawn(&first), spawn(&second));
    let a = a.wait_with_output().expect("first ends");
    let b = b.wait_with_output().expect("second ends");
    assert_eq!(emu.stats().ledger.len(), 1, "{:?}", emu.stats().ledger);
    assert_paid_once_per_expiry(&emu);
    let codes = [a.status.code(), b.status.code()];
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(1)),
        "{codes:?}"
    );
    // The one that lost says so in its events.
    let loser = if a.status.code() == Some(1) { &a } else { &b };
    let events: Vec<Value> = String::from_utf8_lossy(&loser.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        events.iter().any(|e| e["type"] == "change_conflict"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "renewal_verified"
                && e["conclusion"] == "renewed_by_another_apply"),
        "{events:?}"
    );
}

#[test]
fn a_token_held_by_an_attempt_that_did_not_renew_is_named_with_its_way_out() {
    // The balance cannot pay the first attempt (one month, 100 CNY): ECS refuses it, and (the
    // emulator assumes the harsher case) keeps its token.
    let emu = lagging(&pay_fleet("balance: 50\n"), 500, 0);
    let first = workdir(&pay_config("30 days"));
    let second = workdir(&pay_config("60 days"));
    let out = in_dir(&emu, &first, &["apply", "--auto-approve"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("InvalidAccountStatus.NotEnoughBalance"),
        "{}",
        out.stdout
    );
    emu.handle().set_balance(Some(1000.0));
    // Another attempt from the same expiry, with other parameters, is refused forever: the
    // re-read shows the expiry has not moved, so the token is held, not used by a renewal.
    let out = in_dir(
        &emu,
        &second,
        &["--verify-timeout", "2s", "apply", "--auto-approve"],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("token held cn-hangzhou/{PAY}"))
            && out.stdout.contains("Check the order history")
            && out
                .stdout
                .contains(&format!("plan again with --new-token {PAY}")),
        "{}",
        out.stdout
    );
    assert!(emu.stats().ledger.is_empty(), "nothing paid");
    // The explicit way out, for this instance only: a fresh token (attempt 2), paid once.
    let out = in_dir(&emu, &second, &["plan", "--new-token", PAY]);
    assert!(
        out.stdout.contains("fresh token (attempt 2, --new-token)"),
        "{}",
        out.stdout
    );
    let out = in_dir(
        &emu,
        &second,
        &["apply", "--auto-approve", "--new-token", PAY],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let ledger = emu.stats().ledger;
    assert_eq!(ledger.len(), 1);
    assert!(
        ledger[0]
            .token
            .as_deref()
            .is_some_and(|t| t.starts_with("renewctl-a2-")),
        "{ledger:?}"
    );
    // A saved plan carries the tokens it was reviewed with: --new-token is refused there.
    let out = in_dir(&emu, &second, &["plan", "--out", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = in_dir(&emu, &second, &["apply", "plan.json", "--new-token", PAY]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("--new-token is for planning"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_expired_instance_is_renewed_and_set_to_auto_renew_in_one_apply() {
    let emu = lagging(include_str!("../examples/fleet.yaml"), 1_500, 0);
    let out = run(renewctl(&emu).args(["apply", "-c", "examples/renewal.yaml", "--auto-approve"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("waiting for 1 renewal of expired instances to show"),
        "{}",
        out.stdout
    );
    assert_eq!(
        emu.instance("i-bp1demo0000000006").renewal_status,
        "AutoRenewal"
    );
    // It waited instead of being refused: ECS never answered IncorrectInstanceStatus.
    let refused = emu
        .handle()
        .requests()
        .into_iter()
        .filter(|r| r.outcome == "IncorrectInstanceStatus")
        .count();
    assert_eq!(refused, 0);
    let out =
        run(renewctl(&emu).args(["plan", "-c", "examples/renewal.yaml", "--detailed-exitcode"]));
    assert_eq!(out.code, 0, "converged in one apply:\n{}", out.stdout);
}

/// 101 instances of team web to set to auto-renewal: one locked for security (visible), one
/// that ECS refuses although nothing shows it, and one matched by two disagreeing policies.
fn batch_fleet() -> String {
    let mut fleet = String::from(
        "access_keys: [{id: LTAIdemo, secret: demo-secret}]\nregions:\n  cn-hangzhou:\n",
    );
    for n in 0..101 {
        let lock = if n == 7 { ", locks: [security]" } else { "" };
        fleet.push_str(&format!(
            "    - {{id: i-bp1web0000000{n:03}, expires_in: 100 days, tags: {{team: web}}, renewal: {{status: Normal}}{lock}}}\n"
        ));
    }
    fleet.push_str("    - {id: i-bp1both000000001, expires_in: 100 days, tags: {team: web, tier: db}, renewal: {status: Normal}}\n");
    fleet
}

const BATCH_CONFIG: &str = "version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: web\n    match: {tags: {team: web}}\n    renewal: auto\n    auto_renew_period: 1 month\n  - name: db\n    match: {tags: {tier: db}}\n    renewal: manual\n";

#[test]
fn one_troubled_instance_stops_nothing_else() {
    let emu = Emulator::start(&batch_fleet());
    assert!(
        emu.handle()
            .refuse_changes("i-bp1web0000000050", 403, "IncorrectInstanceStatus")
    );
    let dir = workdir(BATCH_CONFIG);
    let out = in_dir(&emu, &dir, &["apply", "--auto-approve"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    // Both errors of the plan are named; neither instance was called.
    assert!(
        out.stdout
            .contains("✗ cn-hangzhou/i-bp1web0000000007: it is locked for security"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "✗ cn-hangzhou/i-bp1both000000001: instance i-bp1both000000001 is matched by tag policies \"web\" and \"db\""
        ),
        "{}",
        out.stdout
    );
    // The refusal nobody could foresee is reported with the API's code; the batch of 100 it was
    // in is split and the other 99 get their change.
    assert!(
        out.stdout.contains("FAILED cn-hangzhou/i-bp1web0000000050")
            && out.stdout.contains("IncorrectInstanceStatus"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("call"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("beyond the plan (splitting refused batches"),
        "{}",
        out.stdout
    );
    for n in (0..101).filter(|n| ![7, 50].contains(n)) {
        let id = format!("i-bp1web0000000{n:03}");
        assert_eq!(emu.instance(&id).renewal_status, "AutoRenewal", "{id}");
    }
    assert_eq!(emu.instance("i-bp1web0000000007").renewal_status, "Normal");
    assert_eq!(emu.instance("i-bp1both000000001").renewal_status, "Normal");
    let locked_called = emu.handle().requests().iter().any(|r| {
        r.action == "ModifyInstanceAutoRenewAttribute"
            && r.instance_id.contains("i-bp1web0000000007")
    });
    assert!(!locked_called, "the locked instance is never sent");
    // The next plan: the two errors again, and only the refused change left.
    let out = in_dir(&emu, &dir, &["plan", "--format", "json"]);
    assert_eq!(out.code, 1);
    let plan: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(plan["errors"].as_array().map(Vec::len), Some(2));
    let kinds: Vec<&str> = plan["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"security_lock") && kinds.contains(&"policy_conflict"),
        "{kinds:?}"
    );
    let changes: Vec<&str> = plan["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["instance_id"].as_str())
        .collect();
    assert_eq!(changes, ["i-bp1web0000000050"]);
}

#[test]
fn a_region_that_cannot_be_read_stops_no_other() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    // cn-nowhere is not a region of this account: every read of it is refused.
    let config = include_str!("../examples/renewal.yaml").replace(
        "regions: [cn-hangzhou, cn-shanghai]",
        "regions: [cn-hangzhou, cn-nowhere]",
    );
    let dir = workdir(&config);
    let out = in_dir(&emu, &dir, &["apply", "--auto-approve"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("✗ region cn-nowhere: region cn-nowhere could not be observed"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("InvalidRegionId.NotFound"),
        "{}",
        out.stdout
    );
    // cn-hangzhou was planned and applied all the same.
    assert_eq!(emu.stats().renewals.len(), 5, "{:?}", emu.stats().renewals);
    assert_eq!(
        emu.instance("i-bp1demo0000000001").renewal_status,
        "AutoRenewal"
    );
    assert!(out.stderr.contains("the plan has"), "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn sigterm_mid_apply_reports_and_a_second_apply_pays_nothing_twice() {
    // Slow answers, so that the signal lands with calls in flight and others not sent yet.
    let emu = lagging(include_str!("../examples/fleet.yaml"), 0, 400);
    let child = process(&emu)
        .args([
            "apply",
            "-c",
            "examples/renewal.yaml",
            "--auto-approve",
            "--parallelism",
            "1",
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("apply starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while emu.stats().total_renewals() == 0 {
        assert!(Instant::now() < deadline, "no renewal within 60 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let output = child.wait_with_output().expect("apply ends");
    assert_eq!(output.status.code(), Some(1), "a non-zero exit");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        events.iter().any(|e| e["type"] == "interrupted"),
        "{stdout}"
    );
    let summary = events.last().expect("events");
    assert_eq!(summary["type"], "summary", "{stdout}");
    assert_eq!(summary["interrupted"], true);
    assert!(summary["skipped"].as_u64() > Some(0), "{summary}");
    let paid = emu.stats().total_renewals();
    assert!(paid < 5, "the signal landed half-way ({paid} renewed)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("interrupted: sending no new call"),
        "{stderr}"
    );

    let out = run(renewctl(&emu).args(["apply", "-c", "examples/renewal.yaml", "--auto-approve"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let stats = emu.stats();
    assert_eq!(stats.renewals.len(), 5);
    assert!(
        stats.renewals.values().all(|n| *n == 1),
        "{:?}",
        stats.renewals
    );
    assert_paid_once_per_expiry(&emu);
}

/// Runs `renewctl apply` under `script`, which gives it a terminal, answers "yes" once the
/// prompt shows (after `before_yes` ran), and returns what the terminal showed and the exit
/// status. `None` when `script` is not installed.
#[cfg(unix)]
fn apply_on_a_terminal(
    emu: &Emulator,
    dir: &std::path::Path,
    before_yes: impl FnOnce(),
) -> Option<(String, i32)> {
    use std::io::{Read, Write};
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("note: `script` (util-linux) is not installed: the terminal test is skipped");
        return None;
    }
    let binary = env!("CARGO_BIN_EXE_renewctl");
    let mut child = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &format!("{binary} apply"), "/dev/null"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", &emu.key_id)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", &emu.key_secret)
        .env("RENEWCTL_ENDPOINT", emu.endpoint())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        let mut told = false;
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if !told && String::from_utf8_lossy(&seen).contains("Enter a value:") {
                told = true;
                let _ = tx.send(());
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    rx.recv_timeout(Duration::from_secs(60)).ok()?;
    before_yes();
    let mut stdin = child.stdin.take()?;
    stdin.write_all(b"yes\n").ok()?;
    drop(stdin);
    let status = child.wait().ok()?;
    let shown = reader.join().ok()?;
    Some((shown, status.code().unwrap_or(-1)))
}

#[cfg(unix)]
#[test]
fn an_interactive_apply_checks_the_plan_again_after_yes() {
    let emu = Emulator::start(&pay_fleet(""));
    let dir = workdir(&pay_config("30 days"));
    // Between the plan shown and the answer, someone renews the instance for two months.
    let elsewhere = workdir(&pay_config("60 days"));
    let Some((shown, code)) = apply_on_a_terminal(&emu, &dir, || {
        let renewed = run(renewctl(&emu)
            .current_dir(&elsewhere)
            .args(["apply", "--auto-approve"]));
        assert_eq!(renewed.code, 0, "{}", renewed.stdout);
    }) else {
        return;
    };
    assert_eq!(code, 1, "{shown}");
    assert!(shown.contains("the plan shown is stale"), "{shown}");
    assert!(shown.contains("expiry moved from"), "{shown}");
    assert_eq!(emu.stats().ledger.len(), 1, "only the console renewal");
}

#[test]
fn a_saved_plan_is_stale_when_a_protect_tag_was_added_after_review() {
    let fleet = include_str!("../examples/fleet.yaml");
    let emu = Emulator::start(fleet);
    let config = format!(
        "{}\nprotect:\n  tags: {{keep: \"yes\"}}\n",
        include_str!("../examples/renewal.yaml")
    );
    let dir = workdir(&config);
    let out = in_dir(&emu, &dir, &["plan", "--out", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // After review, someone tags batch-2 (whose auto-renewal the plan turns off) as protected.
    assert!(emu.handle().set_tag("i-bp1demo0000000008", "keep", "yes"));
    let out = in_dir(&emu, &dir, &["apply", "plan.json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("i-bp1demo0000000008: its tags or operation locks changed"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.stats().mutating_requests, 0);
}

#[test]
fn a_saved_plan_older_than_max_plan_age_is_refused() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let dir = workdir(include_str!("../examples/renewal.yaml"));
    let out = in_dir(&emu, &dir, &["plan", "--out", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let planned = emu.stats().requests;
    // Rewrite its time a day and a half back, with the checksum renewctl would compute.
    let path = dir.join("plan.json");
    let mut value: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("plan")).expect("json");
    let old = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(36 * 60 + 30);
    value["created_at"] = Value::String(old.round(jiff::Unit::Second).expect("round").to_string());
    std::fs::write(&path, resigned(value)).expect("written");
    let out = in_dir(&emu, &dir, &["apply", "plan.json"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("36 hours ago, more than --max-plan-age (24 hours)"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.stats().requests, planned, "refused before any call");
    // Dated in the future (a skewed clock, an edited file): it would never age; refused too.
    let mut future: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("plan")).expect("json");
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2);
    future["created_at"] =
        Value::String(later.round(jiff::Unit::Second).expect("round").to_string());
    std::fs::write(&path, resigned(future)).expect("written");
    let out = in_dir(&emu, &dir, &["apply", "plan.json"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("in the future"), "{}", out.stderr);
    // Back to a day and a half: a longer --max-plan-age accepts it.
    let mut value: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("plan")).expect("json");
    value["created_at"] = Value::String(old.round(jiff::Unit::Second).expect("round").to_string());
    std::fs::write(&path, resigned(value)).expect("written");
    let out = in_dir(&emu, &dir, &["apply", "plan.json", "--max-plan-age", "2d"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// `value` with the checksum renewctl writes (SHA-256 of the compact JSON, keys sorted).
fn resigned(mut value: Value) -> String {
    use sha2::Digest;
    if let Some(object) = value.as_object_mut() {
        object.remove("plan_checksum");
    }
    let sum = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(
            serde_json::to_string(&value).expect("json").as_bytes()
        ))
    );
    value["plan_checksum"] = Value::String(sum);
    serde_json::to_string_pretty(&value).expect("json")
}

#[test]
fn a_saved_plan_whose_call_reaches_an_instance_no_change_names_is_refused() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let dir = workdir(include_str!("../examples/renewal.yaml"));
    let out = in_dir(&emu, &dir, &["plan", "--out", "plan.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let planned = emu.stats().requests;
    let path = dir.join("plan.json");
    let original: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("plan")).expect("json");
    let crafted = |edit: &dyn Fn(&mut Value)| {
        let mut value = original.clone();
        edit(&mut value);
        std::fs::write(&path, resigned(value)).expect("written");
        in_dir(&emu, &dir, &["apply", "plan.json"])
    };
    // A status change that also names an unmanaged instance.
    let out = crafted(&|plan| {
        let calls = plan["calls"].as_array_mut().expect("calls");
        let call = calls
            .iter_mut()
            .find(|c| c["action"] == "ModifyInstanceAutoRenewAttribute")
            .expect("a status change");
        let ids = call["params"]["InstanceId"]
            .as_str()
            .unwrap_or("")
            .to_string();
        call["params"]["InstanceId"] = Value::String(format!("{ids},i-bp1demo0000000012"));
    });
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("names instances")
            && out.stderr.contains("other than those of its changes"),
        "{}",
        out.stderr
    );
    // A renewal with a token of its own, in the call and its change (it could pay again).
    let out = crafted(&|plan| {
        let index = renewal_change(plan);
        for call in plan["calls"].as_array_mut().expect("calls") {
            if call["action"] == "RenewInstance"
                && call["changes"][0].as_u64() == Some(index as u64)
            {
                call["params"]["ClientToken"] = Value::String("renewctl-forged".to_string());
            }
        }
        plan["changes"][index]["client_token"] = Value::String("renewctl-forged".to_string());
    });
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("does not match its change"),
        "{}",
        out.stderr
    );
    // A second renewal of one instance from the same expiry, with a correctly derived fresh
    // token of its own: two tokens would pay twice.
    let out = crafted(&|plan| {
        let index = renewal_change(plan);
        let call = plan["calls"]
            .as_array()
            .and_then(|calls| {
                calls.iter().find(|c| {
                    c["action"] == "RenewInstance" && c["changes"][0].as_u64() == Some(index as u64)
                })
            })
            .cloned()
            .expect("its call");
        let mut change = plan["changes"][index].clone();
        let (id, expiry) = id_and_expiry(&change);
        let token = renewctl::ecs::ClientToken::for_renewal(
            &id,
            expiry,
            renewctl::ecs::TokenAttempt::new(2),
        )
        .into_string();
        change["client_token"] = Value::String(token.clone());
        change["token_attempt"] = Value::from(2);
        let changes = plan["changes"].as_array_mut().expect("changes");
        changes.push(change);
        let new_index = changes.len() - 1;
        let mut second = call;
        second["params"]["ClientToken"] = Value::String(token);
        second["changes"] = Value::from(vec![new_index]);
        plan["calls"].as_array_mut().expect("calls").push(second);
    });
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("a second time"), "{}", out.stderr);
    assert_eq!(emu.stats().requests, planned, "refused before any call");
    // The observed expiry rewritten (with the token derived from it) but the fingerprint kept:
    // the fresh read disagrees with the recorded facts, so the plan is stale.
    let out = crafted(&|plan| {
        let index = renewal_change(plan);
        let (id, real) = id_and_expiry(&plan["changes"][index]);
        let fake = real - jiff::SignedDuration::from_mins(1);
        let fake_text = renewctl::time::format_api(fake);
        let token =
            renewctl::ecs::ClientToken::for_renewal(&id, fake, renewctl::ecs::TokenAttempt::FIRST)
                .into_string();
        plan["changes"][index]["before"]["expired_time"] = Value::String(fake_text.clone());
        plan["changes"][index]["client_token"] = Value::String(token.clone());
        for call in plan["calls"].as_array_mut().expect("calls") {
            if call["action"] == "RenewInstance"
                && call["changes"][0].as_u64() == Some(index as u64)
            {
                call["params"]["ClientToken"] = Value::String(token.clone());
            }
        }
        for observed in plan["observed"].as_array_mut().expect("observed") {
            if observed["instance_id"] == id.as_str() {
                observed["expired_time"] = Value::String(fake_text.clone());
            }
        }
    });
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("is stale") && out.stderr.contains("expiry moved"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.stats().mutating_requests, 0, "nothing was sent");
}

/// The index of the first renewal change of a plan JSON.
fn renewal_change(plan: &Value) -> usize {
    plan["changes"]
        .as_array()
        .and_then(|changes| changes.iter().position(|c| c["action"] == "renew"))
        .expect("a renewal")
}

/// A change's instance and the expiry it was planned from.
fn id_and_expiry(change: &Value) -> (String, jiff::Timestamp) {
    let id = change["instance_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let expiry = renewctl::time::parse_api(
        change["before"]["expired_time"]
            .as_str()
            .unwrap_or_default(),
    )
    .expect("an expiry");
    (id, expiry)
}
