//! Saved plans end to end: `plan --out`, `show`, `apply plan.json`, and every refusal path (the
//! world moved, the file changed, another format, another config) — each refused with exit 1
//! and no mutating call reaching the emulator.

use std::path::PathBuf;
use std::time::Duration;

use renewctl::cloud::{ClientConfig, EcsApi, EcsClient, Endpoint, SignatureScheme};
use renewctl::credentials::{Credentials, Secret};
use renewctl::ecs::{AutoRenewSetting, Mutation};
use renewctl::rpc::retry::RetryPolicy;
use serde_json::Value;

use crate::support::cli::{Run, renewctl, run, tempdir};
use crate::support::emulator::Emulator;
use crate::support::renew_mutation;

const FLEET: &str = include_str!("../examples/fleet.yaml");
const CONFIG: &str = include_str!("../examples/renewal.yaml");

/// A work folder with renewal.yaml, and the emulator.
struct Setup {
    emu: Emulator,
    dir: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempdir();
        std::fs::write(dir.join("renewal.yaml"), CONFIG).expect("config written");
        Setup {
            emu: Emulator::start(FLEET),
            dir,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        run(renewctl(&self.emu).current_dir(&self.dir).args(args))
    }

    fn plan_file(&self) -> PathBuf {
        self.dir.join("plan.json")
    }

    fn save_plan(&self) {
        let out = self.run(&["plan", "--out", "plan.json"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stderr.contains("Saved the plan to plan.json"),
            "{}",
            out.stderr
        );
    }

    /// A change made outside renewctl (the console, another tool), through the real client.
    fn outside_call(&self, call: Mutation) {
        let api = EcsClient::new(ClientConfig {
            endpoint: Endpoint::Fixed(self.emu.endpoint()),
            credentials: Credentials {
                access_key_id: self.emu.key_id.clone(),
                access_key_secret: Secret::new(&self.emu.key_secret),
                security_token: None,
                source: "test",
            }
            .into(),
            max_rps: None,
            scheme: SignatureScheme::Acs3HmacSha256,
            max_in_flight: 1,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        })
        .expect("client");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(api.execute(&call)).expect("outside change");
    }

    fn mutating(&self) -> u64 {
        self.emu.stats().mutating_requests
    }
}

/// A renewal made outside renewctl (the console), with a token of its own.
fn console_renewal(id: &str, months: u32) -> Mutation {
    renew_mutation(id, months, &format!("console-{id}-{months}"))
}

fn assert_refused(setup: &Setup, out: &Run, expected: &[&str]) {
    assert_eq!(
        out.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    for text in expected {
        assert!(
            out.stderr.contains(text),
            "missing {text:?} in:\n{}",
            out.stderr
        );
    }
    assert_eq!(setup.mutating(), 0, "a refused plan must call nothing");
}

#[test]
fn a_saved_plan_applies_exactly_and_a_second_apply_renews_nothing() {
    let setup = Setup::new();
    setup.save_plan();
    let saved: Value =
        serde_json::from_slice(&std::fs::read(setup.plan_file()).unwrap()).expect("JSON");
    assert!(
        saved["plan_checksum"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // Every managed subscription instance is fingerprinted (the PostPaid one is skipped).
    assert_eq!(saved["observed"].as_array().unwrap().len(), 17);
    assert_eq!(saved["observed"][0]["renewal_status"], "Normal");

    let out = setup.run(&["apply", "plan.json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("Apply complete: 16 changes made."),
        "{}",
        out.stdout
    );
    assert_eq!(setup.mutating(), 11);
    let renewed_once = setup.emu.stats().renewals.values().all(|&n| n == 1);
    assert!(renewed_once);

    let again = setup.run(&["apply", "plan.json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("already applied"), "{}", again.stdout);
    assert_eq!(setup.mutating(), 11, "the second apply sent nothing");
    assert_eq!(setup.emu.stats().total_renewals(), 5);
}

#[test]
fn a_plan_whose_expiry_moved_is_refused() {
    let setup = Setup::new();
    setup.save_plan();
    // Someone renews batch-1 in the console after the review.
    setup.outside_call(console_renewal("i-bp1demo0000000007", 1));
    let before = setup.mutating();
    let out = setup.run(&["apply", "plan.json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("plan.json is stale"), "{}", out.stderr);
    // The console renewal happens to be the planned one (1 month from the same expiry): the
    // instance is in the planned state while the rest is not: stale all the same.
    assert!(
        out.stderr.contains(
            "cn-hangzhou/i-bp1demo0000000007: it is already in the state the plan leads to"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was applied"), "{}", out.stderr);
    assert_eq!(setup.mutating(), before, "nothing called after the refusal");
    assert_eq!(
        setup.emu.stats().renewals.get("i-bp1demo0000000007"),
        Some(&1)
    );
}

#[test]
fn a_plan_whose_expiry_moved_elsewhere_is_refused_naming_both_dates() {
    let setup = Setup::new();
    setup.save_plan();
    setup.outside_call(console_renewal("i-bp1demo0000000005", 3));
    let before = setup.mutating();
    let out = setup.run(&["apply", "plan.json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cn-hangzhou/i-bp1demo0000000005: expiry moved from"),
        "{}",
        out.stderr
    );
    assert_eq!(setup.mutating(), before);
    assert_eq!(
        setup.emu.stats().renewals.get("i-bp1demo0000000005"),
        Some(&1)
    );
}

#[test]
fn a_plan_whose_renewal_status_changed_is_refused() {
    let setup = Setup::new();
    setup.save_plan();
    setup.outside_call(Mutation::ModifyAutoRenew {
        region: "cn-hangzhou".into(),
        ids: vec!["i-bp1demo0000000001".into()],
        setting: AutoRenewSetting::Never,
    });
    let before = setup.mutating();
    let out = setup.run(&["apply", "plan.json"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("i-bp1demo0000000001: renewal status changed from Normal to NotRenewal"),
        "{}",
        out.stderr
    );
    assert_eq!(setup.mutating(), before);
}

#[test]
fn a_plan_whose_instance_was_released_is_refused() {
    let setup = Setup::new();
    setup.save_plan();
    assert!(setup.emu.handle().release("i-bp1demo0000000005"));
    let out = setup.run(&["apply", "plan.json"]);
    assert_refused(
        &setup,
        &out,
        &["i-bp1demo0000000005: it is gone", "plan.json is stale"],
    );
}

#[test]
fn an_edited_plan_is_refused() {
    let setup = Setup::new();
    setup.save_plan();
    let text = std::fs::read_to_string(setup.plan_file()).unwrap();
    let edited = text.replacen("\"Period\": \"1\"", "\"Period\": \"2\"", 1);
    assert_ne!(edited, text);
    std::fs::write(setup.plan_file(), edited).unwrap();
    let out = setup.run(&["apply", "plan.json"]);
    assert_refused(
        &setup,
        &out,
        &["plan.json was changed after renewctl wrote it"],
    );
    let out = setup.run(&["show", "plan.json"]);
    assert_eq!(out.code, 1);
}

#[test]
fn a_truncated_plan_is_refused() {
    let setup = Setup::new();
    setup.save_plan();
    let text = std::fs::read(setup.plan_file()).unwrap();
    std::fs::write(setup.plan_file(), &text[..text.len() / 2]).unwrap();
    let out = setup.run(&["apply", "plan.json"]);
    assert_refused(&setup, &out, &["not a complete JSON document", "truncated"]);
}

#[test]
fn a_plan_of_another_format_version_is_refused() {
    let setup = Setup::new();
    setup.save_plan();
    let text = std::fs::read_to_string(setup.plan_file()).unwrap();
    std::fs::write(
        setup.plan_file(),
        text.replacen("\"format_version\": \"1\"", "\"format_version\": \"2\"", 1),
    )
    .unwrap();
    let out = setup.run(&["apply", "plan.json"]);
    assert_refused(
        &setup,
        &out,
        &["format_version \"2\"", "reads format_version \"1\""],
    );
}

#[test]
fn a_plan_made_for_another_config_is_refused() {
    let setup = Setup::new();
    setup.save_plan();
    std::fs::write(
        setup.dir.join("renewal.yaml"),
        format!("{CONFIG}\n# edited after the review\n"),
    )
    .unwrap();
    let out = setup.run(&["apply", "plan.json"]);
    assert_refused(
        &setup,
        &out,
        &["was made for another version of renewal.yaml"],
    );
}

#[test]
fn something_that_is_not_a_plan_is_refused() {
    let setup = Setup::new();
    for (content, expected) in [
        ("[1, 2]", "not a renewctl plan"),
        ("{\"a\": 1}", "has no format_version"),
        ("{\"format_version\": \"1\"}", "has no plan_checksum"),
    ] {
        std::fs::write(setup.plan_file(), content).unwrap();
        let out = setup.run(&["apply", "plan.json"]);
        assert_refused(&setup, &out, &[expected]);
    }
    let out = setup.run(&["apply", "missing.json"]);
    assert_refused(&setup, &out, &["cannot read the plan missing.json"]);
}

#[test]
fn exit_codes_of_plan_and_show_follow_the_contract() {
    let setup = Setup::new();
    let code = |args: &[&str]| setup.run(args).code;
    assert_eq!(code(&["plan"]), 0);
    assert_eq!(code(&["plan", "--detailed-exitcode"]), 2);
    setup.save_plan();
    assert_eq!(code(&["show", "plan.json"]), 0);
    assert_eq!(code(&["show", "plan.json", "--detailed-exitcode"]), 2);
    assert_eq!(code(&["show", "plan.json", "--format", "markdown"]), 0);
    assert_eq!(code(&["show", "nothing.json"]), 1);
    assert_eq!(code(&["show"]), 1, "a usage error is 1, never 2");

    assert_eq!(code(&["apply", "plan.json"]), 0);
    assert_eq!(
        code(&["plan", "--detailed-exitcode", "--out", "plan.json"]),
        0
    );
    assert_eq!(code(&["show", "plan.json", "--detailed-exitcode"]), 0);
    let out = setup.run(&["apply", "plan.json"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("No changes in plan.json"),
        "{}",
        out.stdout
    );
}

#[test]
fn show_renders_the_saved_plan_in_every_format() {
    let setup = Setup::new();
    setup.save_plan();
    let json = setup.run(&["show", "plan.json", "--format", "json"]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(plan["summary"]["to_renew"], 5);
    assert!(
        plan.get("plan_checksum").is_none(),
        "show prints the plan contract"
    );
    let text = setup.run(&["show", "plan.json"]);
    assert!(
        text.stdout.contains("Plan: 5 to renew, 11 to modify"),
        "{}",
        text.stdout
    );
    let markdown = setup.run(&["show", "plan.json", "--format", "markdown"]);
    assert!(
        markdown.stdout.starts_with("## renewctl plan"),
        "{}",
        markdown.stdout
    );
    assert!(markdown.stdout.contains("```mermaid"));
}

#[test]
fn apply_json_prints_one_event_per_line() {
    let setup = Setup::new();
    setup.save_plan();
    let out = setup.run(&["apply", "plan.json", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON event"))
        .collect();
    let count = |kind: &str| events.iter().filter(|e| e["type"] == kind).count();
    assert_eq!(count("change_start"), 16);
    assert_eq!(count("change_complete"), 16);
    assert_eq!(count("change_errored"), 0);
    let last = events.last().expect("events");
    assert_eq!(last["type"], "summary");
    assert_eq!(last["succeeded"], 16);
    let renew = events
        .iter()
        .find(|e| e["type"] == "change_complete" && e["action"] == "renew")
        .expect("a renewal event");
    assert!(renew["order_id"].is_string() && renew["request_id"].is_string());
}

#[test]
fn a_failing_change_in_json_is_a_change_errored_event() {
    let setup = Setup::new();
    setup.save_plan();
    // A refusal (4xx) is a failure; a 503 past every retry is unknown, not a failure.
    for _ in 0..60 {
        setup.emu.push_fault(
            Some("ModifyInstanceAutoRenewAttribute"),
            renewctl::emulator::FaultKind::Refuse {
                status: 403,
                code: "Forbidden.RAM",
            },
        );
    }
    let out = setup.run(&["apply", "plan.json", "--format", "json"]);
    assert_eq!(out.code, 1);
    let events: Vec<Value> = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    let errored: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "change_errored")
        .collect();
    assert!(!errored.is_empty());
    assert_eq!(errored[0]["code"], "Forbidden.RAM");
    assert!(errored[0]["request_id"].is_string(), "{}", errored[0]);
    let summary = events.last().expect("a summary");
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["complete"], false);
    assert!(summary["failed"].as_u64() > Some(0), "{summary}");
}

/// A plan applied before, retried while one of its regions cannot be read: nothing is sent
/// (what could be read is done), but the run does not say "done": it names the instances it
/// could not see and exits 1.
#[test]
fn an_already_applied_plan_with_unread_instances_is_not_reported_done() {
    let emu = Emulator::start(FLEET);
    let dir = crate::support::cli::saved_plan(&emu, CONFIG);
    let out = run(renewctl(&emu)
        .current_dir(&dir)
        .args(["apply", "plan.json"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let sent = emu.stats().mutating_requests;
    // The retry's first region read is refused (not retried): its instances are unread.
    emu.push_fault(
        Some("DescribeInstances"),
        renewctl::emulator::FaultKind::Refuse {
            status: 403,
            code: "Forbidden.RAM",
        },
    );
    let out = run(renewctl(&emu)
        .current_dir(&dir)
        .args(["apply", "plan.json"]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("was already applied")
            && out.stderr.contains("its part of the plan may not be done"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(emu.stats().mutating_requests, sent, "nothing sent again");
}
