//! The pull-request comment: snapshots of a small plan (a price known, one unknown, a change
//! blocked by protection) and of a 5,000-change plan, which must
//! stay within GitHub's 65,536 characters and say what it left out.

use renewctl::money::Amount;
use renewctl::plan::cost::Quote;
use renewctl::plan::{self, Action, Price};
use renewctl::render::markdown::{self, MAX_CHARS};

use crate::support::*;

const POLICIES: &str = r#"version: 1
regions: [cn-hangzhou, cn-shanghai]
policies:
  - name: prod
    match: {tags: {env: prod}}
    renewal: auto
    auto_renew_period: 1 month
    min_remaining: 30 days
  - name: batch
    match: {tags: {team: batch}}
    renewal: manual
  - name: retire
    match: {ids: [i-old]}
    renewal: never
protect:
  tags: {keep: renewal}
"#;

#[test]
fn a_small_plan_renders_as_a_reviewable_comment() {
    let config = config(POLICIES);
    let mut weird = instance("i-weird", &[("env", "prod")], 100);
    weird.instance_name = "web | <script>alert(1)</script> *bold*".to_string();
    let state = observed(vec![
        instance("i-db1", &[("env", "prod")], 10),
        with_renewal(
            instance("i-web1", &[("env", "prod")], 200),
            "AutoRenewal",
            1,
            "Month",
        ),
        weird,
        with_renewal(
            instance("i-b1", &[("team", "batch")], 4),
            "AutoRenewal",
            1,
            "Month",
        ),
        in_region(
            with_renewal(instance("i-old", &[], 12), "Normal", 0, "Month"),
            "cn-shanghai",
        ),
        instance("i-loose", &[], 2),
        instance("i-later", &[], 50),
        instance("i-db2", &[("env", "prod")], 20),
        with_renewal(
            instance("i-keep", &[("team", "batch"), ("keep", "renewal")], 90),
            "AutoRenewal",
            1,
            "Month",
        ),
    ]);
    let mut plan = plan::plan(&config.desired, &state, now(), &config.digest);
    // What the shell reads after planning: one price known, one that could not be read.
    let renewal = |id: &str| {
        plan.changes
            .iter()
            .position(|c| c.instance_id == id && c.action() == Action::Renew)
            .expect("renewal")
    };
    let quotes = vec![
        (
            renewal("i-db1"),
            Quote::Known(Price {
                trade_price: Amount::parse("240").unwrap(),
                currency: "CNY".into(),
            }),
        ),
        (
            renewal("i-db2"),
            Quote::Unknown(
                "DescribeRenewalPrice in cn-hangzhou failed: Throttling.User: Request was denied due to user flow control. (HTTP 400, RequestId R-1)".into(),
            ),
        ),
    ];
    plan::cost::set_prices(&mut plan, quotes, 2);
    let text = markdown::plan(&plan);
    assert!(!text.contains("<script>"), "cloud text is escaped");
    insta::assert_snapshot!("small_plan", text);
}

#[test]
fn a_five_thousand_change_plan_is_cut_to_fit_one_comment() {
    let config = config(POLICIES);
    // 2,500 prod instances 10 days from expiry, auto-renewal off: each is renewed and then
    // gets auto-renewal: 5,000 changes.
    let mut instances: Vec<_> = (0..2500)
        .map(|i| {
            let region = if i % 2 == 0 {
                "cn-hangzhou"
            } else {
                "cn-shanghai"
            };
            in_region(
                instance(&format!("i-p{i:05}"), &[("env", "prod")], 10),
                region,
            )
        })
        .collect();
    instances.push(with_renewal(
        instance("i-old", &[], 300),
        "NotRenewal",
        0,
        "Month",
    ));
    let plan = plan::plan(&config.desired, &observed(instances), now(), &config.digest);
    assert_eq!(plan.changes.len(), 5000);
    let text = markdown::plan(&plan);
    let chars = text.chars().count();
    assert!(chars <= MAX_CHARS, "{chars} characters");
    assert!(text.contains("This comment was shortened to fit 65536 characters"));
    assert!(text.contains("more renewals (left out to fit)"));
    assert!(text.contains("**Plan: 2500 to renew, 2500 to modify, 1 unchanged, 0 unmanaged.**"));
    insta::assert_snapshot!("five_thousand_changes", text);
}

#[test]
fn long_price_reasons_are_cut_in_the_table_and_limits_are_shown() {
    use renewctl::plan::spend::{Limit, SpendLimits};
    let config = config(POLICIES);
    let state = observed(vec![
        instance("i-db1", &[("env", "prod")], 10),
        instance("i-old", &[], 300),
    ]);
    let mut plan = plan::plan(&config.desired, &state, now(), &config.digest);
    let reason = format!("DescribeRenewalPrice failed: {}END", "x".repeat(300));
    let renewal = plan
        .changes
        .iter()
        .position(|c| c.action() == Action::Renew)
        .expect("a renewal");
    plan::cost::set_prices(&mut plan, vec![(renewal, Quote::Unknown(reason))], 1);
    plan.limits = SpendLimits {
        max_renewals: Some(Limit {
            value: 3,
            set_by: "limits.max_renewals in renewal.yaml".into(),
        }),
        max_total_price: None,
    };
    let text = markdown::plan(&plan);
    let row = text
        .lines()
        .find(|l| l.starts_with("| `cn-hangzhou/i-db1`") && l.contains("**unknown**"))
        .expect("renewal row");
    assert!(row.ends_with("x… |"), "{row}");
    assert!(
        !row.contains("END"),
        "cut, the saved plan keeps it whole: {row}"
    );
    assert!(
        text.contains("Limits: at most 3 renewals (limits.max\\_renewals in renewal.yaml)."),
        "{text}"
    );
    assert!(
        text.contains("Cost of the renewals: unknown (1 price unknown; see the renewals)."),
        "{text}"
    );
}
