//! Protected instances: renewctl never lowers their renewal (AutoRenewal > Normal > NotRenewal).
//! A table of planner cases (what is blocked, what is not: raising, a period change, a renewal,
//! an unprotected twin), how blocked changes count and what they do to the risk report, and one
//! run of the binary against the emulator: the protected instance's downgrade is shown blocked
//! and no call is sent for it.

use renewctl::plan::{self, Action, Plan, RiskKind};

use crate::support::cli::{renewctl, run, tempdir};
use crate::support::emulator::Emulator;
use crate::support::*;

const HEAD: &str = "version: 1\nregions: [cn-hangzhou, cn-shanghai]\n";

fn plan_of(yaml: &str, instances: Vec<renewctl::observed::InstanceSnapshot>) -> Plan {
    let config = config(&format!("{HEAD}{yaml}"));
    let plan = plan::plan(&config.desired, &observed(instances), now(), &config.digest);
    assert!(plan.errors.is_empty(), "plan errors: {:?}", plan.errors);
    plan
}

/// `id status→status` of each planned status change, and of each blocked one.
fn statuses(changes: &[plan::Change]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|c| {
            let s = c.setting()?;
            Some(format!(
                "{} {}→{}",
                c.instance_id,
                s.before.status,
                s.after.status()
            ))
        })
        .collect()
}

const MANUAL_PROTECTED: &str = "policies:\n  - name: batch\n    match: {tags: {team: batch}}\n    renewal: manual\n    protect: true\n";
const NEVER_BY_ID: &str =
    "policies:\n  - name: retire\n    match: {ids: [i-a]}\n    renewal: never\n";
const TAG_RULE: &str = "protect:\n  tags: {protect: renewal}\n";

/// (case, config after the header, the observed instance, planned changes, blocked changes).
type Case = (
    &'static str,
    String,
    renewctl::observed::InstanceSnapshot,
    Vec<&'static str>,
    Vec<&'static str>,
);

#[test]
fn lowering_changes_of_protected_instances_are_blocked_and_the_rest_planned() {
    let batch = [("team", "batch")];
    let cases: Vec<Case> = vec![
        (
            "auto-renewal turned off under protect: true",
            MANUAL_PROTECTED.into(),
            with_renewal(instance("i-a", &batch, 100), "AutoRenewal", 1, "Month"),
            vec![],
            vec!["i-a AutoRenewal→Normal"],
        ),
        (
            "never-renew set on an auto-renewing instance protected by tag",
            format!("{NEVER_BY_ID}{TAG_RULE}"),
            with_renewal(
                instance("i-a", &[("protect", "renewal")], 100),
                "AutoRenewal",
                1,
                "Month",
            ),
            vec![],
            vec!["i-a AutoRenewal→NotRenewal"],
        ),
        (
            "never-renew set on a manual instance protected by tag",
            format!("{NEVER_BY_ID}{TAG_RULE}"),
            instance("i-a", &[("protect", "renewal")], 100),
            vec![],
            vec!["i-a Normal→NotRenewal"],
        ),
        (
            "a status renewctl does not know counts as the highest",
            MANUAL_PROTECTED.into(),
            with_renewal(instance("i-a", &batch, 100), "RenewChange", 0, "Month"),
            vec![],
            vec!["i-a RenewChange→Normal"],
        ),
        (
            "raising is never blocked: NotRenewal to Normal",
            MANUAL_PROTECTED.into(),
            with_renewal(instance("i-a", &batch, 100), "NotRenewal", 0, "Month"),
            vec!["i-a NotRenewal→Normal"],
            vec![],
        ),
        (
            "raising is never blocked: Normal to AutoRenewal",
            "policies:\n  - name: p\n    match: {tags: {team: batch}}\n    renewal: auto\n    auto_renew_period: 1 month\n    protect: true\n".into(),
            instance("i-a", &batch, 100),
            vec!["i-a Normal→AutoRenewal"],
            vec![],
        ),
        (
            "a shorter auto-renew period is not lowering",
            "policies:\n  - name: p\n    match: {tags: {team: batch}}\n    renewal: auto\n    auto_renew_period: 1 month\n    protect: true\n".into(),
            with_renewal(instance("i-a", &batch, 100), "AutoRenewal", 1, "Year"),
            vec!["i-a AutoRenewal→AutoRenewal"],
            vec![],
        ),
        (
            "another tag value does not protect",
            format!("{NEVER_BY_ID}{TAG_RULE}"),
            with_renewal(
                instance("i-a", &[("protect", "no")], 100),
                "AutoRenewal",
                1,
                "Month",
            ),
            vec!["i-a AutoRenewal→NotRenewal"],
            vec![],
        ),
        (
            "`*` protects whatever the value",
            format!("{NEVER_BY_ID}protect:\n  tags: {{protect: '*'}}\n"),
            with_renewal(
                instance("i-a", &[("protect", "anything")], 100),
                "AutoRenewal",
                1,
                "Month",
            ),
            vec![],
            vec!["i-a AutoRenewal→NotRenewal"],
        ),
        (
            "the unprotected twin is changed",
            "policies:\n  - name: batch\n    match: {tags: {team: batch}}\n    renewal: manual\n".into(),
            with_renewal(instance("i-a", &batch, 100), "AutoRenewal", 1, "Month"),
            vec!["i-a AutoRenewal→Normal"],
            vec![],
        ),
    ];
    for (name, yaml, observed, planned, blocked) in cases {
        let plan = plan_of(&yaml, vec![observed]);
        assert_eq!(statuses(&plan.changes), planned, "{name}: planned");
        assert_eq!(statuses(&plan.blocked), blocked, "{name}: blocked");
        assert_eq!(plan.summary.blocked, blocked.len() as u64, "{name}");
        assert_eq!(
            plan.summary.to_modify,
            planned.len() as u64,
            "{name}: only planned changes are modifications"
        );
        assert!(
            plan.blocked.iter().all(|c| c.blocked_by.is_some()),
            "{name}: every blocked change names its rule"
        );
        if blocked.is_empty() {
            assert!(plan.calls.len() == planned.len(), "{name}");
        } else {
            assert!(
                plan.calls.is_empty(),
                "{name}: no call for a blocked change"
            );
            assert!(!plan.has_changes(), "{name}: nothing to apply");
            assert_eq!(
                plan.summary.unchanged, 0,
                "{name}: blocked is not unchanged"
            );
        }
    }
}

#[test]
fn the_warning_names_the_rule_that_blocked() {
    let by_flag = plan_of(
        MANUAL_PROTECTED,
        vec![with_renewal(
            instance("i-a", &[("team", "batch")], 100),
            "AutoRenewal",
            1,
            "Month",
        )],
    );
    let warning = &by_flag.warnings[0].message;
    assert!(
        warning.contains("`protect: true` of policy \"batch\"")
            && warning.contains("from AutoRenewal to Normal")
            && warning.contains("blocked"),
        "{warning}"
    );
    assert_eq!(
        by_flag.blocked[0].blocked_by.as_deref(),
        Some("`protect: true` of policy \"batch\"")
    );

    let by_tag = plan_of(
        &format!("{NEVER_BY_ID}{TAG_RULE}"),
        vec![instance("i-a", &[("protect", "renewal")], 100)],
    );
    assert!(
        by_tag.warnings[0]
            .message
            .contains("the top-level `protect` rule (tags protect=renewal)"),
        "{}",
        by_tag.warnings[0].message
    );
}

#[test]
fn a_renewal_goes_ahead_while_the_downgrade_beside_it_is_blocked() {
    // manual with min_remaining on an auto-renewing instance 5 days from expiry: the renewal is
    // not lowering; turning auto-renewal off is.
    let plan = plan_of(
        "policies:\n  - name: batch\n    match: {tags: {team: batch}}\n    renewal: manual\n    min_remaining: 14 days\n    protect: true\n",
        vec![with_renewal(
            instance("i-a", &[("team", "batch")], 5),
            "AutoRenewal",
            1,
            "Month",
        )],
    );
    let actions: Vec<Action> = plan.changes.iter().map(|c| c.action()).collect();
    assert_eq!(actions, vec![Action::Renew]);
    assert_eq!(statuses(&plan.blocked), vec!["i-a AutoRenewal→Normal"]);
    assert_eq!(
        (
            plan.summary.to_renew,
            plan.summary.to_modify,
            plan.summary.blocked
        ),
        (1, 0, 1)
    );
    assert_eq!(plan.calls.len(), 1, "the renewal only");
}

#[test]
fn a_blocked_never_renew_leaves_the_instance_auto_renewing_in_the_risk_report() {
    let instance = with_renewal(
        instance("i-a", &[("protect", "renewal")], 5),
        "AutoRenewal",
        1,
        "Month",
    );
    let unprotected = plan_of(NEVER_BY_ID, vec![instance.clone()]);
    assert_eq!(unprotected.risk[0].kind, RiskKind::WillBeReleased);
    let protected = plan_of(&format!("{NEVER_BY_ID}{TAG_RULE}"), vec![instance]);
    assert!(
        protected.risk.is_empty(),
        "it keeps auto-renewing: {:?}",
        protected.risk
    );
}

#[test]
fn blocked_changes_render_in_text_json_and_markdown() {
    let plan = plan_of(
        MANUAL_PROTECTED,
        vec![with_renewal(
            instance("i-a", &[("team", "batch")], 100),
            "AutoRenewal",
            1,
            "Month",
        )],
    );
    let text = plain(&renewctl::render::text::plan(&plan));
    assert!(
        text.contains("Blocked by protection (1 change, never applied"),
        "{text}"
    );
    assert!(
        text.contains("  x renewal: AutoRenewal (every 1 Month) → Normal blocked: never applied"),
        "{text}"
    );
    assert!(text.contains("1 blocked by protection."), "{text}");

    let json: serde_json::Value =
        serde_json::from_str(&renewctl::render::json::plan(&plan)).unwrap();
    assert_eq!(json["summary"]["blocked"], 1);
    assert_eq!(json["blocked"][0]["instance_id"], "i-a");
    assert_eq!(json["blocked"][0]["action"], "modify_auto_renew");
    assert_eq!(
        json["blocked"][0]["blocked_by"],
        "`protect: true` of policy \"batch\""
    );
    assert_eq!(json["changes"], serde_json::json!([]));

    let markdown = renewctl::render::markdown::plan(&plan);
    assert!(
        markdown.contains("### Blocked by protection (1, never applied)"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `cn-hangzhou/i-a` | name-i-a | batch | AutoRenewal, every 1 Month | ~~Normal~~ | \\`protect: true\\` of policy \"batch\" |"),
        "{markdown}"
    );
}

const FLEET: &str = r#"
access_keys: [{id: LTAIprotect, secret: protect-secret}]
regions:
  cn-hangzhou:
    - {id: i-bp1protected00001, charge_type: PrePaid, expires_in: 100 days,
       tags: {team: batch, protect: renewal}, renewal: {status: AutoRenewal, duration: 1, period_unit: Month}}
    - {id: i-bp1plain000000002, charge_type: PrePaid, expires_in: 100 days,
       tags: {team: batch}, renewal: {status: AutoRenewal, duration: 1, period_unit: Month}}
"#;

const CONFIG: &str = r#"version: 1
regions: [cn-hangzhou]
policies:
  - name: batch
    match: {tags: {team: batch}}
    renewal: manual
protect:
  tags: {protect: renewal}
"#;

#[test]
fn the_emulator_never_hears_of_a_blocked_downgrade() {
    let emu = Emulator::start(FLEET);
    let dir = tempdir();
    std::fs::write(dir.join("renewal.yaml"), CONFIG).unwrap();

    let out = run(renewctl(&emu).current_dir(&dir).args(["plan"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("# cn-hangzhou/i-bp1protected00001")
            && out
                .stdout
                .contains("x renewal: AutoRenewal (every 1 Month) → Normal"),
        "{}",
        out.stdout
    );

    let out = run(renewctl(&emu)
        .current_dir(&dir)
        .args(["apply", "--auto-approve"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let modified: Vec<String> = emu
        .handle()
        .requests()
        .into_iter()
        .filter(|r| r.action == "ModifyInstanceAutoRenewAttribute")
        .map(|r| r.instance_id)
        .collect();
    assert_eq!(modified, vec!["i-bp1plain000000002".to_string()]);
    let status = |id: &str| emu.handle().instance(id).expect("exists").renewal_status;
    assert_eq!(status("i-bp1protected00001"), "AutoRenewal");
    assert_eq!(status("i-bp1plain000000002"), "Normal");

    // The protected instance stays blocked, never "changed": plan again finds nothing to do.
    let out = run(renewctl(&emu)
        .current_dir(&dir)
        .args(["plan", "--detailed-exitcode"]));
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("1 blocked by protection."),
        "{}",
        out.stdout
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn two_tag_policies_that_disagree_on_protect_conflict_like_any_other_setting() {
    // Whether an instance is protected must not depend on which of two matching policies wins.
    let yaml = "policies:\n  - name: prod\n    match: {tags: {env: prod}}\n    renewal: manual\n    protect: true\n  - name: db\n    match: {tags: {tier: db}}\n    renewal: manual\n";
    let config = config(&format!("{HEAD}{yaml}"));
    assert!(
        config
            .warnings
            .iter()
            .any(|w| w.message.contains("disagree on protect")),
        "{:?}",
        config.warnings
    );
    let both = instance("i-a", &[("env", "prod"), ("tier", "db")], 100);
    let plan = plan::plan(
        &config.desired,
        &observed(vec![both]),
        now(),
        &config.digest,
    );
    assert!(
        plan.errors[0].reason.contains("which disagree on protect"),
        "{:?}",
        plan.errors
    );
}
