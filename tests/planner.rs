//! The pure planner, one test per rule of DESIGN.md §2 (meaning, precedence, min_remaining,
//! ordering) and §5 (fewest calls). No server: plans are computed from snapshots.

use renewctl::observed::{ChargeType, InstanceSnapshot, ObservedState};
use renewctl::plan::{
    self, Action, ApiAction, ChangeDetail, Phase, Plan, PlanOptions, ProblemKind, ReasonCode,
    RiskKind,
};
use renewctl::time::format_api;

use crate::support::*;

const HEAD: &str = "version: 1\nregions: [cn-hangzhou, cn-shanghai]\npolicies:\n";
/// The same head for an account on the China site: renewals of 24+ months and in weeks.
const HEAD_CHINA: &str =
    "version: 1\nsite: china\nregions: [cn-hangzhou, cn-shanghai]\npolicies:\n";

/// A plan of `policies` on the China site, with no errors.
fn plan_china(policies: &str, instances: Vec<InstanceSnapshot>) -> Plan {
    let config = config(&format!("{HEAD_CHINA}{policies}"));
    let plan = plan::plan(&config.desired, &observed(instances), now(), &config.digest);
    assert!(plan.errors.is_empty(), "plan errors: {:?}", plan.errors);
    plan
}

fn plan_with(policies: &str, observed: &ObservedState) -> Plan {
    let config = config(&format!("{HEAD}{policies}"));
    plan::plan(&config.desired, observed, now(), &config.digest)
}

/// A plan that must have no errors.
fn plan_of(policies: &str, instances: Vec<InstanceSnapshot>) -> Plan {
    let plan = plan_with(policies, &observed(instances));
    assert!(plan.errors.is_empty(), "plan errors: {:?}", plan.errors);
    plan
}

/// (instance, action, after status / expiry) of every change, in plan order.
fn actions(plan: &Plan) -> Vec<(String, Action, String)> {
    plan.changes
        .iter()
        .map(|c| {
            let after = match &c.detail {
                ChangeDetail::ModifyAutoRenew(s) => match s.after.period() {
                    Some(p) => format!("{} {} {}", s.after.status(), p.duration, p.unit),
                    None => s.after.status().to_string(),
                },
                ChangeDetail::Renew(r) => format!(
                    "{} {} -> {}",
                    r.period.count,
                    r.period.unit,
                    format_api(r.after)
                ),
            };
            (c.instance_id.clone(), c.action(), after)
        })
        .collect()
}

const AUTO_YEAR: &str = "  - name: prod\n    match: {tags: {env: prod}}\n    renewal: auto\n    auto_renew_period: 1 year\n";

#[test]
fn renewal_auto_sets_auto_renewal_with_its_period_and_unit() {
    let plan = plan_of(AUTO_YEAR, vec![instance("i-a", &[("env", "prod")], 100)]);
    assert_eq!(
        actions(&plan),
        vec![(
            "i-a".into(),
            Action::ModifyAutoRenew,
            "AutoRenewal 1 Year".into()
        )]
    );
    let call = &plan.calls[0];
    assert_eq!(call.action(), ApiAction::ModifyInstanceAutoRenewAttribute);
    let params = call.mutation.params();
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        params,
        vec![
            ("AutoRenew", "true"),
            ("Duration", "1"),
            ("InstanceId", "i-a"),
            ("PeriodUnit", "Year"),
            ("RegionId", "cn-hangzhou"),
            ("RenewalStatus", "AutoRenewal"),
        ]
    );
    assert_eq!(
        plan.changes[0].reason_code,
        ReasonCode::RenewalStatusDiffers
    );
}

#[test]
fn renewal_manual_and_never_map_to_normal_and_not_renewal_without_a_period() {
    let policies = "  - name: m\n    match: {tags: {team: m}}\n    renewal: manual\n  - name: n\n    match: {tags: {team: n}}\n    renewal: never\n";
    let plan = plan_of(
        policies,
        vec![
            with_renewal(
                instance("i-m", &[("team", "m")], 100),
                "AutoRenewal",
                1,
                "Month",
            ),
            instance("i-n", &[("team", "n")], 100),
        ],
    );
    assert_eq!(
        actions(&plan),
        vec![
            ("i-m".into(), Action::ModifyAutoRenew, "Normal".into()),
            ("i-n".into(), Action::ModifyAutoRenew, "NotRenewal".into()),
        ]
    );
    for call in &plan.calls {
        assert_eq!(call.mutation.params()["AutoRenew"], "false");
        assert!(!call.mutation.params().contains_key("Duration"), "{call:?}");
        assert!(
            !call.mutation.params().contains_key("PeriodUnit"),
            "{call:?}"
        );
    }
}

#[test]
fn a_year_and_twelve_months_are_different_settings_but_units_compare_case_insensitively() {
    let plan = plan_of(
        AUTO_YEAR,
        vec![
            with_renewal(
                instance("i-12m", &[("env", "prod")], 100),
                "AutoRenewal",
                12,
                "Month",
            ),
            with_renewal(
                instance("i-1y", &[("env", "prod")], 100),
                "AutoRenewal",
                1,
                "year",
            ),
        ],
    );
    assert_eq!(
        actions(&plan),
        vec![(
            "i-12m".into(),
            Action::ModifyAutoRenew,
            "AutoRenewal 1 Year".into()
        )]
    );
    assert_eq!(
        plan.changes[0].reason_code,
        ReasonCode::AutoRenewPeriodDiffers
    );
    assert_eq!(plan.summary.unchanged, 1);
}

#[test]
fn manual_instances_ignore_the_leftover_duration() {
    let plan = plan_of(
        "  - name: m\n    match: {tags: {team: m}}\n    renewal: manual\n",
        vec![with_renewal(
            instance("i-m", &[("team", "m")], 100),
            "Normal",
            3,
            "Week",
        )],
    );
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
}

#[test]
fn min_remaining_renews_by_the_smallest_accepted_multiple_that_reaches_it() {
    let policies = "  - name: keep\n    match: {tags: {team: k}}\n    renewal: manual\n    min_remaining: 100 days\n";
    // Expiry in 10 days: 2 months reach ~71 days, 3 months ~102 days ≥ 100.
    let plan = plan_of(policies, vec![instance("i-k", &[("team", "k")], 10)]);
    let renew = &plan.changes[0];
    assert_eq!(renew.action(), Action::Renew);
    assert_eq!(
        (
            renew.renewal().map(|r| r.period.count),
            renew.renewal().map(|r| r.period.unit.as_api())
        ),
        (Some(3), Some("Month"))
    );
    let after = renew.renewal().expect("a renewal").after;
    assert!(after >= in_days(100), "{after}");
    assert_eq!(renew.reason_code, ReasonCode::ExpiryWithinMinRemaining);

    // Far enough: nothing to do.
    let plan = plan_of(policies, vec![instance("i-k", &[("team", "k")], 101)]);
    assert!(plan.changes.is_empty());
}

#[test]
fn renew_period_in_years_is_sent_as_months_and_weeks_stay_weeks() {
    let years = "  - name: y\n    match: {tags: {team: y}}\n    renewal: manual\n    min_remaining: 30 days\n    renew_period: 1 year\n";
    let plan = plan_of(years, vec![instance("i-y", &[("team", "y")], 5)]);
    let call = &plan.calls[0];
    assert_eq!(call.action(), ApiAction::RenewInstance);
    assert_eq!(call.mutation.params()["Period"], "12");
    assert_eq!(call.mutation.params()["PeriodUnit"], "Month");
    assert!(
        !call.mutation.params().contains_key("RegionId"),
        "RenewInstance has no RegionId"
    );

    let weeks = "  - name: w\n    match: {tags: {team: w}}\n    renewal: manual\n    min_remaining: 20 days\n    renew_period: 1 week\n";
    let plan = plan_china(weeks, vec![instance("i-w", &[("team", "w")], 5)]);
    assert_eq!(plan.calls[0].mutation.params()["Period"], "3");
    assert_eq!(plan.calls[0].mutation.params()["PeriodUnit"], "Week");
}

#[test]
fn a_target_beyond_the_longest_renewal_renews_by_the_longest_and_warns() {
    let policies = "  - name: far\n    match: {tags: {team: f}}\n    renewal: manual\n    min_remaining: 7 years\n";
    let plan = plan_china(policies, vec![instance("i-f", &[("team", "f")], 1)]);
    assert_eq!(plan.changes[0].renewal().map(|r| r.period.count), Some(60));
    assert_eq!(plan.warnings.len(), 1);
    assert!(
        plan.warnings[0].message.contains("longest renewal"),
        "{:?}",
        plan.warnings
    );
}

/// A min_remaining past the last date there is (validation refuses it; the planner must still
/// never drop the renewal of an instance about to expire).
#[test]
fn a_target_past_any_date_still_renews_by_the_longest() {
    let text = format!(
        "{HEAD_CHINA}  - name: far\n    match: {{tags: {{team: f}}}}\n    renewal: manual\n    min_remaining: 99999 years\n"
    );
    let desired: renewctl::desired::DesiredState =
        serde_yaml::from_str(&text).expect("the model reads it without validating");
    let observed = observed(vec![instance("i-f", &[("team", "f")], -2)]);
    let plan = plan::plan(&desired, &observed, now(), "sha256:test");
    let renew = plan
        .changes
        .iter()
        .find(|c| c.action() == Action::Renew)
        .expect("a renewal");
    assert_eq!(renew.renewal().map(|r| r.period.count), Some(60));
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.message.contains("longest renewal")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn renewal_tokens_are_deterministic_ascii_and_at_most_64_characters() {
    let policies = "  - name: keep\n    match: {tags: {team: k}}\n    renewal: manual\n    min_remaining: 30 days\n";
    let a = plan_of(policies, vec![instance("i-k", &[("team", "k")], 3)]);
    let b = plan_of(policies, vec![instance("i-k", &[("team", "k")], 3)]);
    let token_of = |plan: &Plan| plan.changes[0].renewal().map(|r| r.token.to_string());
    let token = token_of(&a).unwrap();
    assert_eq!(Some(&token), token_of(&b).as_ref());
    assert!(token.len() <= 64 && token.is_ascii(), "{token}");
    assert_eq!(a.calls[0].mutation.params()["ClientToken"], token);
    // Another observed expiry (e.g. renewed meanwhile) gives another token.
    let c = plan_of(policies, vec![instance("i-k", &[("team", "k")], 4)]);
    assert_ne!(token_of(&c).as_ref(), Some(&token));
}

#[test]
fn an_ids_policy_beats_tag_policies() {
    let policies =
        format!("{AUTO_YEAR}  - name: retire\n    match: {{ids: [i-old]}}\n    renewal: never\n");
    let plan = plan_of(&policies, vec![instance("i-old", &[("env", "prod")], 100)]);
    assert_eq!(plan.changes[0].policy, "retire");
    assert_eq!(
        actions(&plan),
        vec![("i-old".into(), Action::ModifyAutoRenew, "NotRenewal".into())]
    );
}

#[test]
fn tag_policies_that_disagree_on_one_instance_are_a_plan_error_naming_both() {
    let policies = format!(
        "{AUTO_YEAR}  - name: db\n    match: {{tags: {{tier: db}}}}\n    renewal: manual\n"
    );
    // Blast radius: the conflict is an error of that instance alone; the other is planned.
    let plan = plan_with(
        &policies,
        &observed(vec![
            instance("i-both", &[("env", "prod"), ("tier", "db")], 100),
            instance("i-prod", &[("env", "prod")], 100),
        ]),
    );
    assert_eq!(plan.errors.len(), 1, "{:?}", plan.errors);
    let error = &plan.errors[0];
    assert_eq!(error.kind, ProblemKind::PolicyConflict);
    assert_eq!(error.instance_id.as_deref(), Some("i-both"));
    assert_eq!(error.policies, ["prod", "db"]);
    let text = &error.reason;
    assert!(
        text.contains("i-both") && text.contains("\"prod\"") && text.contains("\"db\""),
        "{text}"
    );
    assert!(text.contains("renewal"), "{text}");
    assert!(
        plan.changes.iter().all(|c| c.instance_id == "i-prod") && !plan.changes.is_empty(),
        "{:?}",
        plan.changes
    );
    assert_eq!(plan.summary.errors, 1);
}

#[test]
fn tag_policies_that_agree_on_one_instance_are_fine_and_the_first_governs() {
    let policies = format!(
        "{AUTO_YEAR}  - name: also\n    match: {{tags: {{tier: db}}}}\n    renewal: auto\n    auto_renew_period: 1 year\n"
    );
    let plan = plan_of(
        &policies,
        vec![instance("i-both", &[("env", "prod"), ("tier", "db")], 100)],
    );
    assert_eq!(plan.changes[0].policy, "prod");
}

#[test]
fn a_star_matches_any_value_but_requires_the_key() {
    let policies = "  - name: any\n    match: {tags: {team: \"*\"}}\n    renewal: manual\n";
    let plan = plan_of(
        policies,
        vec![
            with_renewal(
                instance("i-t", &[("team", "x")], 100),
                "AutoRenewal",
                1,
                "Month",
            ),
            with_renewal(
                instance("i-u", &[("env", "x")], 100),
                "AutoRenewal",
                1,
                "Month",
            ),
        ],
    );
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].instance_id, "i-t");
    assert_eq!(plan.summary.unmanaged, 1);
}

#[test]
fn an_id_in_no_region_is_a_plan_error() {
    let mut state = observed(vec![]);
    state.not_found = vec!["i-typo".to_string()];
    let plan = plan_with(
        "  - name: x\n    match: {ids: [i-typo]}\n    renewal: manual\n",
        &state,
    );
    assert_eq!(plan.errors.len(), 1);
    let error = &plan.errors[0];
    assert_eq!(error.kind, ProblemKind::NotFound);
    assert_eq!(error.instance_id.as_deref(), Some("i-typo"));
    assert_eq!(error.policies, ["x"]);
    assert!(
        error.reason.contains("none of the regions"),
        "{}",
        error.reason
    );
}

#[test]
fn a_pay_as_you_go_id_is_skipped_with_a_warning() {
    let mut state = observed(vec![]);
    let mut postpaid = instance("i-pp", &[], 100);
    postpaid.charge_type = ChargeType::PostPaid;
    postpaid.renewal = None;
    state.looked_up = vec![postpaid];
    let plan = plan_with(
        "  - name: x\n    match: {ids: [i-pp]}\n    renewal: manual\n",
        &state,
    );
    assert!(plan.changes.is_empty());
    assert_eq!(plan.summary.skipped, 1);
    assert!(
        plan.warnings[0].message.contains("PostPaid"),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn an_expired_instance_is_renewed_before_auto_renewal_is_turned_on() {
    let policies = "  - name: prod\n    match: {tags: {env: prod}}\n    renewal: auto\n    auto_renew_period: 1 month\n    min_remaining: 30 days\n";
    let plan = plan_of(policies, vec![instance("i-x", &[("env", "prod")], -3)]);
    let got: Vec<Action> = plan.changes.iter().map(|c| c.action()).collect();
    assert_eq!(got, vec![Action::Renew, Action::ModifyAutoRenew]);
    let phases: Vec<(ApiAction, u8)> = plan
        .calls
        .iter()
        .map(|c| (c.action(), c.phase.number()))
        .collect();
    assert_eq!(
        phases,
        vec![
            (ApiAction::RenewInstance, 2),
            (ApiAction::ModifyInstanceAutoRenewAttribute, 3)
        ]
    );
    assert_eq!(
        plan.changes[1].reason_code,
        ReasonCode::EnableAutoRenewAfterRenewal
    );
}

#[test]
fn a_not_renewal_instance_leaves_that_status_before_its_renewal() {
    let policies = "  - name: keep\n    match: {tags: {team: k}}\n    renewal: manual\n    min_remaining: 30 days\n";
    let plan = plan_of(
        policies,
        vec![with_renewal(
            instance("i-n", &[("team", "k")], 5),
            "NotRenewal",
            0,
            "Month",
        )],
    );
    assert_eq!(
        actions(&plan).iter().map(|a| a.1).collect::<Vec<_>>(),
        vec![Action::ModifyAutoRenew, Action::Renew]
    );
    assert_eq!(
        plan.changes[0].reason_code,
        ReasonCode::LeaveNotRenewalToRenew
    );
    assert_eq!(plan.calls[0].phase, Phase::BeforeRenewal);
    assert_eq!(plan.calls[1].phase, Phase::Renewal);
}

#[test]
fn an_expired_not_renewal_instance_wanting_auto_goes_normal_then_renewed_then_auto() {
    let policies = "  - name: prod\n    match: {tags: {env: prod}}\n    renewal: auto\n    auto_renew_period: 1 month\n    min_remaining: 30 days\n";
    let plan = plan_of(
        policies,
        vec![with_renewal(
            instance("i-z", &[("env", "prod")], -2),
            "NotRenewal",
            0,
            "Month",
        )],
    );
    let got: Vec<(Action, String)> = actions(&plan).into_iter().map(|a| (a.1, a.2)).collect();
    assert_eq!(got[0], (Action::ModifyAutoRenew, "Normal".to_string()));
    assert_eq!(got[1].0, Action::Renew);
    assert_eq!(
        got[2],
        (Action::ModifyAutoRenew, "AutoRenewal 1 Month".to_string())
    );
    assert_eq!(
        plan.calls
            .iter()
            .map(|c| c.phase.number())
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

#[test]
fn an_expired_instance_without_min_remaining_cannot_get_auto_renewal_and_is_skipped() {
    let plan = plan_of(AUTO_YEAR, vec![instance("i-x", &[("env", "prod")], -1)]);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.summary.skipped, 1);
    assert!(
        plan.warnings[0].message.contains("cannot be turned on"),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn instances_that_nothing_renews_are_reported_as_risk_managed_or_not() {
    let policies = "  - name: m\n    match: {tags: {team: m}}\n    renewal: manual\n  - name: n\n    match: {tags: {team: n}}\n    renewal: never\n  - name: a\n    match: {tags: {team: a}}\n    renewal: auto\n    auto_renew_period: 1 month\n";
    let mut unmanaged_unread = instance("i-unread", &[], 3);
    unmanaged_unread.renewal = None;
    let plan = plan_of(
        policies,
        vec![
            instance("i-soon", &[("team", "m")], 5),
            instance("i-later", &[("team", "m")], 60),
            with_renewal(
                instance("i-gone", &[("team", "n")], -2),
                "NotRenewal",
                0,
                "Month",
            ),
            with_renewal(
                instance("i-bye", &[("team", "n")], 9),
                "NotRenewal",
                0,
                "Month",
            ),
            // Turned to AutoRenewal by the plan: covered.
            instance("i-auto", &[("team", "a")], 4),
            // Unmanaged: auto-renewing is covered, off is at risk, unread is unknown.
            with_renewal(instance("i-um-auto", &[], 6), "AutoRenewal", 1, "Month"),
            instance("i-um-off", &[], 6),
            unmanaged_unread,
        ],
    );
    let risk: Vec<(&str, RiskKind, Option<&str>)> = plan
        .risk
        .iter()
        .map(|r| (r.instance_id.as_str(), r.kind, r.policy.as_deref()))
        .collect();
    assert_eq!(
        risk,
        vec![
            ("i-gone", RiskKind::Expired, Some("n")),
            ("i-unread", RiskKind::Unknown, None),
            ("i-soon", RiskKind::ExpiresSoon, Some("m")),
            ("i-um-off", RiskKind::ExpiresSoon, None),
            ("i-bye", RiskKind::WillBeReleased, Some("n")),
        ]
    );
    assert_eq!(plan.summary.at_risk, 5);
    assert!(
        plan.risk[0].message.contains("releases it on"),
        "{:?}",
        plan.risk[0]
    );

    // A narrower window reports fewer.
    let narrow = plan::plan_with(
        &config(&format!("{HEAD}{policies}")).desired,
        &observed(vec![instance("i-soon", &[("team", "m")], 5)]),
        now(),
        "sha256:x",
        &PlanOptions {
            risk_window_days: 3,
            ..PlanOptions::default()
        },
    );
    assert!(narrow.risk.is_empty());
}

#[test]
fn the_outlook_counts_expiries_per_week_by_coverage() {
    let policies = "  - name: keep\n    match: {tags: {team: k}}\n    renewal: manual\n    min_remaining: 10 days\n";
    let mut unread = instance("i-unread", &[], 20);
    unread.renewal = None;
    let plan = plan_of(
        policies,
        vec![
            instance("i-renewed", &[("team", "k")], 2),
            instance("i-manual", &[("team", "k")], 12),
            with_renewal(instance("i-auto", &[], 13), "AutoRenewal", 1, "Month"),
            unread,
            instance("i-far", &[], 200),
            instance("i-past", &[], -1),
        ],
    );
    assert_eq!(plan.outlook.len(), 12);
    let weeks: Vec<(u64, u64, u64, u64)> = plan.outlook[..3]
        .iter()
        .map(|w| (w.expiring, w.covered, w.not_covered, w.unknown))
        .collect();
    assert_eq!(weeks, vec![(1, 1, 0, 0), (2, 1, 1, 0), (1, 0, 0, 1)]);
    assert_eq!(plan.outlook.iter().map(|w| w.expiring).sum::<u64>(), 4);
    assert_eq!(
        plan.outlook[1].week_start,
        plan.outlook[0]
            .week_start
            .checked_add(jiff::ToSpan::days(7))
            .unwrap()
    );
}

#[test]
fn unmanaged_instances_are_never_touched() {
    let plan = plan_of(AUTO_YEAR, vec![instance("i-other", &[("env", "dev")], 1)]);
    assert!(plan.changes.is_empty() && plan.calls.is_empty());
    assert_eq!((plan.summary.managed, plan.summary.unmanaged), (0, 1));
    assert!(
        plan.observed.is_empty(),
        "only managed instances are fingerprinted"
    );
}

#[test]
fn modifications_are_batched_per_region_and_setting_by_one_hundred() {
    let mut instances: Vec<InstanceSnapshot> = (0..250)
        .map(|i| instance(&format!("i-a{i:04}"), &[("env", "prod")], 100))
        .collect();
    instances.extend((0..3).map(|i| {
        in_region(
            instance(&format!("i-s{i}"), &[("env", "prod")], 100),
            "cn-shanghai",
        )
    }));
    instances.push(with_renewal(
        instance("i-b", &[("env", "prod")], 100),
        "AutoRenewal",
        3,
        "Month",
    ));
    let plan = plan_of(AUTO_YEAR, instances);
    let sizes: Vec<(String, usize)> = plan
        .calls
        .iter()
        .map(|c| (c.region().to_string(), c.ids().len()))
        .collect();
    // 251 in cn-hangzhou (one of them only differs in period: same target setting) → 3 calls.
    assert_eq!(
        sizes,
        vec![
            ("cn-hangzhou".to_string(), 100),
            ("cn-hangzhou".to_string(), 100),
            ("cn-hangzhou".to_string(), 51),
            ("cn-shanghai".to_string(), 3),
        ]
    );
    assert_eq!(plan.summary.api_calls, 4);
    assert_eq!(plan.summary.to_modify, 254);
    // Changes are sorted by region, then instance id; every change is in exactly one call.
    let keys: Vec<(&str, &str)> = plan
        .changes
        .iter()
        .map(|c| (c.region.as_str(), c.instance_id.as_str()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let mut covered: Vec<usize> = plan.calls.iter().flat_map(|c| c.changes.clone()).collect();
    covered.sort();
    assert_eq!(covered, (0..plan.changes.len()).collect::<Vec<_>>());
}

#[test]
fn free_modifications_fill_the_batches_that_ordering_forces() {
    // One NotRenewal instance must go Normal before its renewal (phase 1); 150 other
    // instances need the same setting without ordering: 99 join the phase-1 call, 51 follow.
    let policies = "  - name: keep\n    match: {tags: {team: k}}\n    renewal: manual\n    min_remaining: 30 days\n";
    let mut instances: Vec<InstanceSnapshot> = (0..150)
        .map(|i| {
            with_renewal(
                instance(&format!("i-f{i:03}"), &[("team", "k")], 200),
                "AutoRenewal",
                1,
                "Month",
            )
        })
        .collect();
    instances.push(with_renewal(
        instance("i-n", &[("team", "k")], 5),
        "NotRenewal",
        0,
        "Month",
    ));
    let plan = plan_of(policies, instances);
    let shape: Vec<(u8, ApiAction, usize)> = plan
        .calls
        .iter()
        .map(|c| (c.phase.number(), c.action(), c.changes.len()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (1, ApiAction::ModifyInstanceAutoRenewAttribute, 100),
            (2, ApiAction::RenewInstance, 1),
            (3, ApiAction::ModifyInstanceAutoRenewAttribute, 51),
        ]
    );
    assert!(plan.calls[0].mutation.params()["InstanceId"].contains("i-n"));
}

#[test]
fn the_summary_adds_up() {
    let policies = format!(
        "{AUTO_YEAR}  - name: keep\n    match: {{tags: {{team: k}}}}\n    renewal: manual\n    min_remaining: 30 days\n"
    );
    let plan = plan_of(
        &policies,
        vec![
            instance("i-1", &[("env", "prod")], 100),
            with_renewal(
                instance("i-2", &[("env", "prod")], 100),
                "AutoRenewal",
                1,
                "Year",
            ),
            instance("i-3", &[("team", "k")], 3),
            instance("i-4", &[("team", "k")], 300),
            instance("i-5", &[], 300),
        ],
    );
    let s = plan.summary;
    assert_eq!(
        (
            s.observed,
            s.managed,
            s.unmanaged,
            s.to_modify,
            s.to_renew,
            s.unchanged,
            s.api_calls,
            s.read_calls
        ),
        (5, 4, 1, 1, 1, 2, 2, 2)
    );
    assert_eq!(plan.observed.len(), 4);
}

#[test]
fn the_plan_json_has_the_contract_keys() {
    let plan = plan_of(AUTO_YEAR, vec![instance("i-a", &[("env", "prod")], 100)]);
    let json = serde_json::to_value(&plan).unwrap();
    for key in [
        "format_version",
        "renewctl_version",
        "created_at",
        "config_digest",
        "summary",
        "changes",
        "calls",
        "warnings",
        "observed",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["format_version"], "1");
    assert_eq!(json["created_at"], "2026-11-23T12:00:00Z");
    assert_eq!(json["changes"][0]["action"], "modify_auto_renew");
    assert_eq!(json["changes"][0]["before"]["renewal_status"], "Normal");
    assert_eq!(
        json["calls"][0]["action"],
        "ModifyInstanceAutoRenewAttribute"
    );
    let back: Plan = serde_json::from_value(json).unwrap();
    assert_eq!(back, plan);
}

#[test]
fn turning_auto_renewal_on_shows_the_first_charge_and_warns_when_too_late() {
    let plan = plan_of(
        AUTO_YEAR,
        vec![
            instance("i-far", &[("env", "prod")], 100),
            instance("i-late", &[("env", "prod")], 1),
        ],
    );
    let far = plan
        .changes
        .iter()
        .find(|c| c.instance_id == "i-far")
        .unwrap();
    let first = far
        .setting()
        .and_then(|s| s.first_deduction)
        .expect("a first charge");
    // 9 days before the expiry date (day 100), at 08:00 UTC+8.
    assert_eq!(
        renewctl::time::format_api(first),
        "2027-02-22T00:00Z",
        "expiry 2027-03-03T12:00Z is 2027-03-03 20:00 in Beijing: charged 2027-02-22 08:00 Beijing"
    );
    let late: Vec<&str> = plan
        .warnings
        .iter()
        .filter(|w| w.instance_id.as_deref() == Some("i-late"))
        .map(|w| w.message.as_str())
        .collect();
    assert_eq!(late.len(), 1, "{:?}", plan.warnings);
    assert!(late[0].contains("renew it now instead"), "{}", late[0]);
    assert!(
        plan.warnings
            .iter()
            .all(|w| w.instance_id.as_deref() != Some("i-far"))
    );
}

#[test]
fn auto_renewal_after_a_renewal_counts_its_first_charge_from_the_new_expiry() {
    let policies = "  - name: prod\n    match: {tags: {env: prod}}\n    renewal: auto\n    auto_renew_period: 1 month\n    min_remaining: 30 days\n";
    let plan = plan_of(policies, vec![instance("i-x", &[("env", "prod")], 1)]);
    let renew = &plan.changes[0];
    let modify = &plan.changes[1];
    let new_expiry = renew.renewal().expect("a renewal").after;
    let first = modify
        .setting()
        .and_then(|s| s.first_deduction)
        .expect("first charge");
    assert!(
        first < new_expiry && first > now(),
        "{first} vs {new_expiry}"
    );
    assert!(plan.warnings.is_empty(), "renewed first: not too late");
}

#[test]
fn a_managed_instance_locked_for_security_is_an_error_and_the_rest_is_planned() {
    let mut locked = instance("i-locked", &[("env", "prod")], 100);
    locked.locks = vec!["security".to_string()];
    // A financial lock is what an expired instance shows: renewing lifts it; not an error.
    let mut arrears = instance("i-arrears", &[("team", "k")], -2);
    arrears.locks = vec!["financial".to_string()];
    let policies = format!(
        "{AUTO_YEAR}  - name: keep\n    match: {{tags: {{team: k}}}}\n    renewal: manual\n    min_remaining: 30 days\n"
    );
    let plan = plan_with(
        &policies,
        &observed(vec![
            locked,
            arrears,
            instance("i-free", &[("env", "prod")], 100),
        ]),
    );
    assert_eq!(plan.errors.len(), 1, "{:?}", plan.errors);
    assert_eq!(plan.errors[0].kind, ProblemKind::SecurityLock);
    assert_eq!(plan.errors[0].instance_id.as_deref(), Some("i-locked"));
    assert!(plan.errors[0].reason.contains("locked for security"));
    let changed: Vec<&str> = plan
        .changes
        .iter()
        .map(|c| c.instance_id.as_str())
        .collect();
    assert!(
        changed.contains(&"i-free") && changed.contains(&"i-arrears"),
        "{changed:?}"
    );
    assert!(!changed.contains(&"i-locked"));
    assert!(
        plan.calls
            .iter()
            .all(|c| !c.mutation.params()["InstanceId"].contains("i-locked"))
    );
    assert!(plan.observed.iter().all(|o| o.instance_id != "i-locked"));
}

#[test]
fn an_instance_whose_answer_cannot_be_read_is_an_error_when_managed_and_a_warning_otherwise() {
    let mut state = observed(vec![instance("i-ok", &[("env", "prod")], 100)]);
    for (id, tags) in [
        ("i-bad", vec![("env", "prod")]),
        ("i-other", vec![("env", "dev")]),
    ] {
        state
            .unreadable
            .push(renewctl::observed::UnreadableInstance {
                region: "cn-hangzhou".into(),
                instance_id: id.into(),
                instance_name: String::new(),
                tags: tags
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                reason: format!(
                    "subscription instance {id} has an unreadable ExpiredTime \"soon\""
                ),
            });
    }
    let plan = plan_with(AUTO_YEAR, &state);
    assert_eq!(plan.errors.len(), 1, "{:?}", plan.errors);
    assert_eq!(plan.errors[0].kind, ProblemKind::Unreadable);
    assert_eq!(plan.errors[0].instance_id.as_deref(), Some("i-bad"));
    assert_eq!(plan.errors[0].policies, ["prod"]);
    assert!(plan.errors[0].reason.contains("unreadable ExpiredTime"));
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.instance_id.as_deref() == Some("i-other")),
        "{:?}",
        plan.warnings
    );
    assert_eq!(plan.changes[0].instance_id, "i-ok");
    assert_eq!(plan.summary.managed, 2);
    assert_eq!(plan.summary.unchanged, 0);
}

#[test]
fn an_instance_whose_auto_renew_attribute_could_not_be_read_is_an_error_naming_why() {
    let mut unknown = instance("i-unknown", &[("env", "prod")], 100);
    unknown.renewal = None;
    let mut state = observed(vec![unknown, instance("i-ok", &[("env", "prod")], 100)]);
    state.attribute_errors.insert(
        "i-unknown".to_string(),
        "DescribeInstanceAutoRenewAttribute in cn-hangzhou failed: InternalError".to_string(),
    );
    let plan = plan_with(AUTO_YEAR, &state);
    assert_eq!(plan.errors.len(), 1);
    assert!(
        plan.errors[0]
            .reason
            .contains("reading it failed: DescribeInstanceAutoRenewAttribute"),
        "{}",
        plan.errors[0].reason
    );
    assert_eq!(plan.changes.len(), 1);
}

#[test]
fn a_region_that_could_not_be_observed_is_an_error_and_ids_there_are_not_called_typos() {
    let mut state = observed(vec![instance("i-ok", &[("env", "prod")], 100)]);
    state
        .failed_regions
        .push(renewctl::observed::RegionFailure {
            region: "cn-shanghai".to_string(),
            reason: "DescribeInstances in cn-shanghai failed: ServiceUnavailable".to_string(),
        });
    let policies =
        format!("{AUTO_YEAR}  - name: pinned\n    match: {{ids: [i-sh]}}\n    renewal: manual\n");
    let plan = plan_with(&policies, &state);
    let kinds: Vec<ProblemKind> = plan.errors.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [ProblemKind::NotFound, ProblemKind::RegionUnreadable]
    );
    assert!(
        plan.errors[0]
            .reason
            .contains("cn-shanghai could not be read"),
        "{}",
        plan.errors[0].reason
    );
    assert_eq!(plan.changes.len(), 1);
}

#[test]
fn a_fresh_token_is_for_the_named_instance_only_and_an_unused_one_is_a_warning() {
    let policies = "  - name: keep\n    match: {tags: {team: k}}\n    renewal: manual\n    min_remaining: 30 days\n";
    let config = config(&format!("{HEAD}{policies}"));
    let options = PlanOptions {
        token_attempts: [
            ("i-a".to_string(), renewctl::ecs::TokenAttempt::new(2)),
            ("i-nothing".to_string(), renewctl::ecs::TokenAttempt::new(3)),
        ]
        .into(),
        ..PlanOptions::default()
    };
    let state = observed(vec![
        instance("i-a", &[("team", "k")], 3),
        instance("i-b", &[("team", "k")], 3),
    ]);
    let plan = plan::plan_with(&config.desired, &state, now(), &config.digest, &options);
    let token = |id: &str| {
        plan.changes
            .iter()
            .find(|c| c.instance_id == id)
            .and_then(|c| c.renewal().map(|r| r.token.to_string()))
            .expect("a renewal")
    };
    assert!(token("i-a").starts_with("renewctl-a2-"), "{}", token("i-a"));
    assert!(!token("i-b").contains("-a"), "{}", token("i-b"));
    let a = plan
        .changes
        .iter()
        .find(|c| c.instance_id == "i-a")
        .expect("i-a");
    assert_eq!(a.renewal().map(|r| r.attempt.get()), Some(2));
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.message.contains("--new-token i-nothing=3")),
        "{:?}",
        plan.warnings
    );
    // The default plan's tokens are the first attempt's.
    let plain = plan::plan(&config.desired, &state, now(), &config.digest);
    assert_ne!(
        plain.changes[0].renewal().map(|r| r.token.to_string()),
        Some(token("i-a"))
    );
}

#[test]
fn the_token_does_not_depend_on_the_period_or_the_policy() {
    // Two configs that renew one observed expiry by different periods send the same token:
    // ECS renews once (the second is refused as a mismatch).
    let short = "  - name: a\n    match: {tags: {team: k}}\n    renewal: manual\n    min_remaining: 30 days\n";
    let long = "  - name: b\n    match: {tags: {team: k}}\n    renewal: manual\n    min_remaining: 90 days\n    renew_period: 1 month\n";
    let a = plan_of(short, vec![instance("i-k", &[("team", "k")], 3)]);
    let b = plan_of(long, vec![instance("i-k", &[("team", "k")], 3)]);
    let (ra, rb) = (
        a.changes[0].renewal().unwrap(),
        b.changes[0].renewal().unwrap(),
    );
    assert_ne!(ra.period, rb.period);
    assert_eq!(ra.token, rb.token);
}
