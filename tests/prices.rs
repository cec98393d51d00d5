//! The price of each renewal. Pure: which DescribeRenewalPrice query prices which renewal
//! (`PriceUnit` Month 1–9, Year 1–3; 48 and 60 months and weeks cannot be priced), totals per
//! currency with unknown prices counted apart and never as zero, and the JSON keys. Against the
//! emulator through the binary: every renewal priced with one read each, counted in
//! `read_calls`; an unpriceable period and a failing read shown unknown with the reason;
//! `--no-prices` reading nothing; the Markdown comment's price column and total.

use renewctl::ecs::{PriceQuery, PriceUnit};
use renewctl::emulator::FaultKind;
use renewctl::money::Amount;
use renewctl::plan::cost::Quote;
use renewctl::plan::cost::set_prices;
use renewctl::plan::{self, Action, Plan, Price};
use serde_json::Value;

use crate::support::cli::{renewctl, run, tempdir};
use crate::support::emulator::Emulator;
use crate::support::*;

const RENEW_MONTHLY: &str = "version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: p\n    match: {tags: {env: prod}}\n    renewal: manual\n    min_remaining: 30 days\n";

/// A plan renewing one instance per entry of `steps` (renew_period of its policy).
fn plan_renewing(steps: &[&str]) -> Plan {
    // The China site: it accepts every length priced here (24+ months, weeks).
    let mut yaml =
        "version: 1\nsite: china\nregions: [cn-hangzhou, cn-shanghai]\npolicies:\n".to_string();
    let mut instances = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        yaml.push_str(&format!(
            "  - name: p{i}\n    match: {{ids: [i-{i}]}}\n    renewal: manual\n    min_remaining: 1 day\n    renew_period: {step}\n"
        ));
        instances.push(instance(&format!("i-{i}"), &[], -1));
    }
    let config = config(&yaml);
    plan::plan(&config.desired, &observed(instances), now(), &config.digest)
}

#[test]
fn each_renewal_length_is_priced_by_the_query_of_the_same_length() {
    let plan = plan_renewing(&[
        "1 month",
        "9 months",
        "12 months",
        "2 years",
        "36 months",
        "4 years",
        "60 months",
        "1 week",
    ]);
    let got: Vec<Result<PriceQuery, String>> = plan
        .changes
        .iter()
        .map(|c| PriceQuery::for_renewal(c.renewal().expect("a renewal").period))
        .collect();
    let month = |period| {
        Ok(PriceQuery {
            period,
            unit: PriceUnit::Month,
        })
    };
    let year = |period| {
        Ok(PriceQuery {
            period,
            unit: PriceUnit::Year,
        })
    };
    assert_eq!(got[..5], [month(1), month(9), year(1), year(2), year(3)]);
    assert_eq!(
        got[5],
        Err("DescribeRenewalPrice prices 1 to 9 months or 1 to 3 years, not 48 months".into())
    );
    assert!(got[6].as_ref().is_err_and(|e| e.contains("not 60 months")));
    assert_eq!(
        got[7],
        Err("DescribeRenewalPrice prices months and years, not a renewal in Weeks".into())
    );
}

#[test]
fn totals_are_per_currency_and_unknown_prices_are_counted_never_added() {
    let mut plan = plan_renewing(&["1 month", "1 month", "1 month", "1 month"]);
    assert_eq!(plan.summary.unknown_prices, 4, "unread prices are unknown");
    assert!(plan.summary.total_price.is_empty());
    let price = |amount: &str, currency: &str| {
        Quote::Known(Price {
            trade_price: Amount::parse(amount).unwrap(),
            currency: currency.into(),
        })
    };
    set_prices(
        &mut plan,
        vec![
            (0, price("100.10", "CNY")),
            (1, price("0.20", "CNY")),
            (2, price("15", "USD")),
            (
                3,
                Quote::Unknown("DescribeRenewalPrice in cn-hangzhou failed: boom".into()),
            ),
        ],
        3,
    );
    let totals: Vec<(String, String)> = plan
        .summary
        .total_price
        .iter()
        .map(|(c, a)| (c.clone(), a.to_string()))
        .collect();
    assert_eq!(
        totals,
        vec![
            ("CNY".into(), "100.30".into()),
            ("USD".into(), "15.00".into())
        ]
    );
    assert_eq!(plan.summary.unknown_prices, 1);
    assert_eq!(plan.summary.read_calls, 2 + 3);

    let json: Value = serde_json::from_str(&renewctl::render::json::plan(&plan)).unwrap();
    assert_eq!(
        json["summary"]["total_price"],
        serde_json::json!({"CNY": 100.3, "USD": 15.0})
    );
    assert_eq!(json["summary"]["unknown_prices"], 1);
    assert_eq!(
        json["changes"][0]["price"],
        serde_json::json!({"trade_price": 100.1, "currency": "CNY"})
    );
    assert_eq!(json["changes"][3]["price"], Value::Null);
    assert_eq!(
        json["changes"][3]["price_unknown"],
        "DescribeRenewalPrice in cn-hangzhou failed: boom"
    );

    let text = plain(&renewctl::render::text::plan(&plan));
    assert!(
        text.contains(
            "Cost of the renewals: 100.30 CNY + 15.00 USD, plus 1 renewal whose price is unknown"
        ),
        "{text}"
    );
    assert!(
        text.contains("→ 2026-12-22T12:00Z, price unknown\n"),
        "{text}"
    );
    assert!(
        text.contains("# price unknown: DescribeRenewalPrice in cn-hangzhou failed: boom"),
        "{text}"
    );
}

#[test]
fn a_saved_plan_keeps_its_prices_and_an_older_one_without_them_reads_unknown() {
    let mut plan = plan_renewing(&["1 month"]);
    set_prices(
        &mut plan,
        vec![(
            0,
            Quote::Known(Price {
                trade_price: Amount::parse("99.99").unwrap(),
                currency: "CNY".into(),
            }),
        )],
        1,
    );
    let saved = renewctl::planfile::to_saved_json(&plan);
    let read = renewctl::planfile::read(saved.as_bytes(), "plan.json").expect("reads");
    assert_eq!(read, plan, "prices survive the round trip exactly");

    // A plan written before prices existed has no `price` key: unknown, not zero.
    let mut old: Value = serde_json::from_str(&renewctl::render::json::plan(&plan)).unwrap();
    old["changes"][0].as_object_mut().unwrap().remove("price");
    let old: Plan = serde_json::from_value(old).unwrap();
    assert!(matches!(old.changes[0].quote(), Some(Quote::Unknown(_))));
    assert_eq!(old.changes[0].action(), Action::Renew);
}

// Against the emulator.

const FLEET: &str = include_str!("../examples/fleet.yaml");
const CONFIG: &str = include_str!("../examples/renewal.yaml");

/// The five renewals of the example plan and what the emulator charges for them (its monthly
/// price of the default instance type, 240 CNY, times the months).
const EXAMPLE_PRICES: [(&str, f64); 5] = [
    ("i-bp1demo0000000005", 240.0),
    ("i-bp1demo0000000006", 480.0),
    ("i-bp1demo0000000007", 240.0),
    ("i-bp1demo0000000009", 240.0),
    ("i-bp1demo0000000017", 720.0),
];

fn plan_json(emu: &Emulator, config: &str, extra: &[&str]) -> (Value, String) {
    let dir = tempdir();
    std::fs::write(dir.join("renewal.yaml"), config).unwrap();
    let out = run(renewctl(emu)
        .current_dir(&dir)
        .args(["plan", "--format", "json"])
        .args(extra));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let _ = std::fs::remove_dir_all(dir);
    (
        serde_json::from_str(&out.stdout).expect("plan JSON"),
        out.stderr,
    )
}

fn renewals(plan: &Value) -> Vec<&Value> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "renew")
        .collect()
}

#[test]
fn every_renewal_is_priced_with_one_read_and_totalled() {
    let emu = Emulator::start(FLEET);
    let (unpriced, _) = plan_json(&emu, CONFIG, &["--no-prices"]);
    emu.handle().clear_requests();
    let (plan, _) = plan_json(&emu, CONFIG, &[]);

    let got: Vec<(String, Value)> = renewals(&plan)
        .iter()
        .map(|c| {
            (
                c["instance_id"].as_str().unwrap().to_string(),
                c["price"].clone(),
            )
        })
        .collect();
    let expected: Vec<(String, Value)> = EXAMPLE_PRICES
        .iter()
        .map(|(id, price)| {
            (
                id.to_string(),
                serde_json::json!({"trade_price": price, "currency": "CNY"}),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] != "renew")
            .all(|c| c.get("price").is_none()),
        "only renewals carry a price"
    );
    assert_eq!(
        plan["summary"]["total_price"],
        serde_json::json!({"CNY": 1920.0})
    );
    assert_eq!(plan["summary"]["unknown_prices"], 0);

    // One DescribeRenewalPrice per renewal, for that instance, counted with the reads.
    let mut priced: Vec<String> = emu
        .handle()
        .requests()
        .into_iter()
        .filter(|r| r.action == "DescribeRenewalPrice")
        .map(|r| r.instance_id)
        .collect();
    priced.sort();
    let ids: Vec<String> = EXAMPLE_PRICES
        .iter()
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(priced, ids);
    assert_eq!(
        plan["summary"]["read_calls"].as_u64().unwrap(),
        unpriced["summary"]["read_calls"].as_u64().unwrap() + 5
    );
}

#[test]
fn no_prices_reads_none_and_shows_each_unknown() {
    let emu = Emulator::start(FLEET);
    let (plan, _) = plan_json(&emu, CONFIG, &["--no-prices"]);
    assert_eq!(emu.stats().by_action.get("DescribeRenewalPrice"), None);
    for renewal in renewals(&plan) {
        assert_eq!(renewal["price"], Value::Null, "unknown, never zero");
        assert_eq!(
            renewal["price_unknown"],
            "prices were not read (--no-prices)"
        );
    }
    assert_eq!(plan["summary"]["unknown_prices"], 5);
    assert_eq!(plan["summary"]["total_price"], serde_json::json!({}));
}

const ONE_RENEWAL: &str = r#"
access_keys: [{id: LTAIprice, secret: price-secret}]
regions:
  cn-hangzhou:
    - {id: i-bp1price00000001, charge_type: PrePaid, expires_in: 5 days, monthly_price: 123.45,
       tags: {env: prod}, renewal: {status: Normal, duration: 0, period_unit: Month}}
"#;

#[test]
fn periods_the_api_cannot_price_are_unknown_and_not_asked_for() {
    let emu = Emulator::start(ONE_RENEWAL);
    for (step, why) in [
        (
            "4 years",
            "DescribeRenewalPrice prices 1 to 9 months or 1 to 3 years, not 48 months",
        ),
        (
            "1 week",
            "DescribeRenewalPrice prices months and years, not a renewal in Weeks",
        ),
    ] {
        // Both lengths exist on the China site only (the emulator's default site).
        let config = format!("{RENEW_MONTHLY}    renew_period: {step}\n").replacen(
            "version: 1\n",
            "version: 1\nsite: china\n",
            1,
        );
        let (plan, _) = plan_json(&emu, &config, &[]);
        let renewal = renewals(&plan)[0];
        assert_eq!(renewal["price"], Value::Null, "{step}");
        assert_eq!(renewal["price_unknown"], why, "{step}");
        assert_eq!(plan["summary"]["unknown_prices"], 1);
    }
    assert_eq!(emu.stats().by_action.get("DescribeRenewalPrice"), None);

    // A year is priced as PriceUnit=Year, Period=1.
    let (plan, _) = plan_json(
        &emu,
        &format!("{RENEW_MONTHLY}    renew_period: 1 year\n"),
        &[],
    );
    assert_eq!(
        renewals(&plan)[0]["price"],
        serde_json::json!({"trade_price": 1481.4, "currency": "CNY"})
    );
}

#[test]
fn a_failing_price_read_is_unknown_with_the_api_s_reason_and_the_plan_goes_on() {
    let emu = Emulator::start(ONE_RENEWAL);
    // More failures than the retry policy's six attempts.
    for _ in 0..6 {
        emu.push_fault(Some("DescribeRenewalPrice"), FaultKind::ServerError);
    }
    let (plan, _) = plan_json(&emu, RENEW_MONTHLY, &[]);
    let renewal = renewals(&plan)[0];
    assert_eq!(renewal["price"], Value::Null);
    let why = renewal["price_unknown"].as_str().unwrap();
    assert!(
        why.starts_with("DescribeRenewalPrice in cn-hangzhou failed: ServiceUnavailable"),
        "{why}"
    );
    assert_eq!(plan["summary"]["unknown_prices"], 1);
    assert_eq!(emu.stats().by_action.get("DescribeRenewalPrice"), Some(&6));

    // Once the API answers again, the same plan is priced.
    let (plan, _) = plan_json(&emu, RENEW_MONTHLY, &[]);
    assert_eq!(
        renewals(&plan)[0]["price"],
        serde_json::json!({"trade_price": 123.45, "currency": "CNY"})
    );
}

#[test]
fn the_pull_request_comment_shows_each_price_and_the_total() {
    let emu = Emulator::start(FLEET);
    let dir = tempdir();
    std::fs::write(dir.join("renewal.yaml"), CONFIG).unwrap();
    let out = run(renewctl(&emu)
        .current_dir(&dir)
        .args(["plan", "--format", "markdown"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = out.stdout;
    assert!(
        md.contains("| Expiry before → after | Period | Price |"),
        "{md}"
    );
    assert!(md.contains(" | 3 Month | 720.00 CNY |"), "{md}");
    assert!(md.contains("Cost of the renewals: 1920.00 CNY."), "{md}");
    let _ = std::fs::remove_dir_all(dir);
}
