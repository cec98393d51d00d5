//! `renewctl explain`: one instance's observed state, the policies that match it and why, the
//! one that governs, and its part of the plan, which must be exactly what `plan` shows for it.
//! Read-only: it never changes the emulator's state.

use serde_json::Value;

use crate::support::cmd::{renewctl_at, run, tempdir};
use crate::support::emulator::Emulator;

fn explain(emu: &Emulator, id: &str, config: &str) -> String {
    let out = run(renewctl_at(emu).args(["explain", id, "-c", config]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

fn plan_changes_of(emu: &Emulator, id: &str) -> Vec<Value> {
    let out =
        run(renewctl_at(emu).args(["plan", "-c", "examples/renewal.yaml", "--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: Value = serde_json::from_str(&out.stdout).expect("plan JSON");
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["instance_id"] == id)
        .cloned()
        .collect()
}

#[test]
fn explain_shows_the_matching_policies_the_governing_one_and_its_part_of_the_plan() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let text = explain(&emu, "i-bp1demo0000000005", "examples/renewal.yaml");
    for needle in [
        "cn-hangzhou/i-bp1demo0000000005 (db-2)",
        "  renewal        Normal\n",
        "  tags           env=prod, tier=db\n",
        "  + prod-databases (policies[0]): matches tags env=prod, tier=db  governs\n",
        "  - prod-web (policies[1]): tag tier is \"db\", the policy wants \"web\"\n",
        "  - batch-workers (policies[2]): tag env is \"prod\", the policy wants \"batch\"\n",
        "  - retire-2027 (policies[4]): does not list this id\n",
        "Governed by prod-databases: renewal auto, auto_renew_period 1 year, min_remaining 30 days.",
        "  ~ renewal: Normal → AutoRenewal (every 1 Year)\n",
        // The plan's price of its renewal.
        "  + renew 1 Month: expires ",
        ", 240.00 CNY\n",
        "RenewInstance",
        "ModifyInstanceAutoRenewAttribute (with 2 other instances)",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // Its changes are the plan's, reason for reason.
    let changes = plan_changes_of(&emu, "i-bp1demo0000000005");
    assert_eq!(changes.len(), 2);
    for change in changes {
        let reason = change["reason"].as_str().expect("reason");
        assert!(text.contains(reason), "{reason} missing from:\n{text}");
    }
    assert_eq!(emu.stats().mutating_requests, 0);
    // Explain read one price, its own renewal's; the plan above read its five.
    assert_eq!(emu.stats().by_action.get("DescribeRenewalPrice"), Some(&6));
}

#[test]
fn explain_shows_a_blocked_downgrade_and_its_rule() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let dir = tempdir();
    let config = dir.join("renewal.yaml");
    // batch-2 auto-renews; batch-workers wants it manual, but the policy protects it.
    let text = include_str!("../examples/renewal.yaml").replace(
        "    renew_period: 1 month\n",
        "    renew_period: 1 month\n    protect: true\n",
    );
    std::fs::write(&config, text).unwrap();
    let text = explain(&emu, "i-bp1demo0000000008", &config.display().to_string());
    for needle in [
        "min_remaining 14 days, renew_period 1 month, protect true.",
        "  x renewal: AutoRenewal (every 1 Month) → Normal blocked: never applied\n",
        "# blocked by `protect: true` of policy \"batch-workers\"",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(
        !text.contains("Calls (numbered"),
        "no call carries it:\n{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn explain_shows_an_id_policy_beating_tags_and_the_plan_warnings() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let text = explain(&emu, "i-uf6demo0000000016", "examples/renewal.yaml");
    assert!(
        text.contains("  + batch-workers (policies[2]): matches tags env=batch\n"),
        "{text}"
    );
    assert!(
        text.contains("  + retire-2027 (policies[4]): lists its id  governs\n"),
        "{text}"
    );
    assert!(text.contains("also matched: batch-workers"), "{text}");
    assert!(text.contains("  ~ renewal: Normal → NotRenewal"), "{text}");
    assert!(
        text.contains("is set to NotRenewal: ECS releases it on"),
        "{text}"
    );
}

#[test]
fn explain_shows_unmanaged_and_pay_as_you_go_instances_with_their_state() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let text = explain(&emu, "i-bp1demo0000000012", "examples/renewal.yaml");
    assert!(text.contains("Unmanaged: no policy matches it"), "{text}");
    // Its auto-renew attribute is read for the explanation, though the plan does not need it.
    assert!(text.contains("  renewal        Normal\n"), "{text}");
    assert!(text.contains("The plan makes no change to it."), "{text}");

    let text = explain(&emu, "i-bp1demo0000000013", "examples/renewal.yaml");
    assert!(
        text.contains("  billing        PostPaid, Running\n"),
        "{text}"
    );
    assert!(
        text.contains("  + prod-web (policies[1]): matches tags env=prod, tier=web\n"),
        "{text}"
    );
    assert!(
        text.contains("Not managed: renewctl manages subscription (PrePaid) instances only"),
        "{text}"
    );

    let text = explain(&emu, "i-bp1demo0000000018", "examples/renewal.yaml");
    assert!(
        text.contains("pay-as-you-go (PostPaid), not a subscription"),
        "{text}"
    );
    assert_eq!(emu.stats().mutating_requests, 0);
}

#[test]
fn explain_shows_a_conflict_that_is_an_error_of_the_plan() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let dir = tempdir();
    let path = dir.join("renewal.yaml");
    std::fs::write(
        &path,
        "version: 1\nregions: [cn-hangzhou]\npolicies:\n\
         - name: prod\n  match: {tags: {env: prod}}\n  renewal: manual\n\
         - name: web\n  match: {tags: {tier: web}}\n  renewal: never\n",
    )
    .unwrap();
    let config = path.display().to_string();
    let text = explain(&emu, "i-bp1demo0000000001", &config);
    assert!(
        text.contains("Conflict: instance i-bp1demo0000000001 is matched by tag policies \"prod\" and \"web\", which disagree on renewal"),
        "{text}"
    );
    assert!(
        text.contains("Error: the plan leaves it untouched: instance i-bp1demo0000000001 is matched by tag policies"),
        "{text}"
    );
    // `plan` names it as an error of the plan, plans the rest, and exits 1.
    let out = run(renewctl_at(&emu).args(["plan", "-c", &config]));
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("✗ cn-hangzhou/i-bp1demo0000000001: instance i-bp1demo0000000001 is matched by tag policies"),
        "{}",
        out.stdout
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn explain_of_an_unknown_instance_exits_1_naming_the_regions() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let out =
        run(renewctl_at(&emu).args(["explain", "i-bp1nosuchthing", "-c", "examples/renewal.yaml"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("instance i-bp1nosuchthing exists in none of the regions of examples/renewal.yaml (cn-hangzhou, cn-shanghai)"),
        "{}",
        out.stderr
    );
}
