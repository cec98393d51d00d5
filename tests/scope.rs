//! Scoped plans for emergencies (`--target`, `--policy`, as Terraform's `-target`): only the
//! named instances or policies are planned; the plan says it is partial in text, Markdown and
//! JSON; a saved scoped plan stays scoped when applied; typos are refused.

use serde_json::Value;

use crate::support::cli::{Run, renewctl, run, tempdir};
use crate::support::emulator::Emulator;

const FLEET: &str = include_str!("../examples/fleet.yaml");
const CONFIG: &str = include_str!("../examples/renewal.yaml");

fn in_dir(emu: &Emulator, dir: &std::path::Path, args: &[&str]) -> Run {
    std::fs::write(dir.join("renewal.yaml"), CONFIG).unwrap();
    run(renewctl(emu).current_dir(dir).args(args))
}

fn changed(plan: &Value) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["instance_id"].as_str().unwrap().to_string(),
                c["policy"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_target_or_a_policy_plans_only_them_and_says_so() {
    let emu = Emulator::start(FLEET);
    let dir = tempdir();
    let full = in_dir(&emu, &dir, &["plan", "--format", "json"]);
    let full: Value = serde_json::from_str(&full.stdout).unwrap();
    assert!(full.get("scope").is_none(), "a whole plan has no scope");
    assert!(changed(&full).len() > 5);

    let out = in_dir(
        &emu,
        &dir,
        &[
            "plan",
            "--format",
            "json",
            "--target",
            "i-bp1demo0000000007",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["scope"]["targets"][0], "i-bp1demo0000000007");
    let ids = changed(&plan);
    assert!(
        !ids.is_empty() && ids.iter().all(|(id, _)| id == "i-bp1demo0000000007"),
        "{ids:?}"
    );

    let out = in_dir(&emu, &dir, &["plan", "--policy", "batch-workers"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Partial plan (--policy batch-workers): only these instances were planned"),
        "{}",
        out.stdout
    );
    let out = in_dir(
        &emu,
        &dir,
        &["plan", "--format", "json", "--policy", "batch-workers"],
    );
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(changed(&plan).iter().all(|(_, p)| p == "batch-workers"));
    let out = in_dir(
        &emu,
        &dir,
        &["plan", "--format", "markdown", "--policy", "batch-workers"],
    );
    assert!(out.stdout.contains("**Partial plan**"), "{}", out.stdout);
}

#[test]
fn typos_in_a_scope_are_refused() {
    let emu = Emulator::start(FLEET);
    let dir = tempdir();
    let out = in_dir(&emu, &dir, &["plan", "--policy", "batch-worker"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("--policy batch-worker: renewal.yaml has no such policy"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.stats().requests, 0, "refused before observing");
    let out = in_dir(&emu, &dir, &["plan", "--target", "i-bp1nosuch000001"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("--target i-bp1nosuch000001 is not a subscription instance"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_saved_scoped_plan_stays_scoped() {
    let emu = Emulator::start(FLEET);
    let dir = tempdir();
    let out = in_dir(
        &emu,
        &dir,
        &[
            "plan",
            "--target",
            "i-bp1demo0000000007",
            "--out",
            "plan.json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap();
    let calls = saved["calls"].as_array().unwrap().len() as u64;
    let out = in_dir(
        &emu,
        &dir,
        &["apply", "plan.json", "--target", "i-bp1demo0000000001"],
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("--target, --policy and --group-by are for planning"),
        "{}",
        out.stderr
    );
    let out = in_dir(&emu, &dir, &["apply", "plan.json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        emu.stats().mutating_requests,
        calls,
        "only the scoped calls"
    );
    assert_eq!(
        emu.stats().renewals.keys().collect::<Vec<_>>(),
        vec!["i-bp1demo0000000007"]
    );
}

#[test]
fn cost_by_tag_adds_up_to_the_plan() {
    let emu = Emulator::start(FLEET);
    let dir = tempdir();
    let out = in_dir(
        &emu,
        &dir,
        &["plan", "--format", "json", "--group-by", "tag:env"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let groups = &plan["groups"];
    assert_eq!(groups["key"], "env");
    let rows = groups["rows"].as_array().unwrap();
    let sum = |field: &str| rows.iter().map(|r| r[field].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        sum("renewals"),
        plan["summary"]["to_renew"].as_u64().unwrap()
    );
    let cny: f64 = rows
        .iter()
        .filter_map(|r| r["total_price"]["CNY"].as_f64())
        .sum();
    assert_eq!(cny, plan["summary"]["total_price"]["CNY"].as_f64().unwrap());
    assert!(
        rows.iter().any(|r| r["value"] == "prod") && rows.iter().any(|r| r["value"] == "batch"),
        "{rows:?}"
    );
    let out = in_dir(&emu, &dir, &["plan", "--group-by", "tag:env"]);
    assert!(
        out.stdout.contains("By tag env:\n  batch: "),
        "{}",
        out.stdout
    );
    let out = in_dir(
        &emu,
        &dir,
        &["plan", "--format", "markdown", "--group-by", "tag:env"],
    );
    assert!(
        out.stdout
            .contains("| env | renewals | other changes | cost |"),
        "{}",
        out.stdout
    );
    let out = in_dir(&emu, &dir, &["plan", "--group-by", "team"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("write tag:KEY"), "{}", out.stderr);
}
