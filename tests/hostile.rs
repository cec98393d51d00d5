//! Hostile input, as property tests over the same targets as the fuzzers in fuzz/ (which run
//! for longer, locally): saved plan files and API answers. Whatever the bytes: a clear error
//! or a correct reading, never a panic, and never a guess.

use proptest::prelude::*;
use renewctl::cloud::wire;
use renewctl::cloud::wire_price;
use renewctl::credentials::{Credentials, Secret};
use renewctl::money::{Amount, is_currency_code};
use renewctl::plan::cost::Quote;
use renewctl::plan::{self, Plan, Price};
use renewctl::planfile;
use renewctl::rpc::response::{CallContext, Redactor, decode};

use crate::support::*;

fn saved_plan() -> (Plan, String) {
    let config = config(
        "version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: p\n    match: {tags: {env: prod}}\n    renewal: auto\n    auto_renew_period: 1 month\n    min_remaining: 30 days\n",
    );
    let state = observed(vec![
        instance("i-a", &[("env", "prod")], 3),
        instance("i-b", &[("env", "prod")], 90),
    ]);
    let mut plan = plan::plan(&config.desired, &state, now(), &config.digest);
    // Priced, as the shell saves it, so that the price keys are under the checksum too.
    let quotes = vec![(
        0,
        Quote::Known(Price {
            trade_price: Amount::parse("240.50").expect("amount"),
            currency: "CNY".into(),
        }),
    )];
    plan::cost::set_prices(&mut plan, quotes, 1);
    let text = planfile::to_saved_json(&plan);
    (plan, text)
}

fn redactor() -> Redactor {
    Redactor::new(&Credentials {
        access_key_id: "LTAIprop".into(),
        access_key_secret: Secret::new("prop-secret"),
        security_token: None,
        source: "test",
    })
}

const INSTANCES_ANSWER: &str = r#"{"RequestId":"r","TotalCount":1,"PageNumber":1,"PageSize":100,"Instances":{"Instance":[{"InstanceId":"i-a","InstanceName":"a","RegionId":"cn-hangzhou","InstanceChargeType":"PrePaid","Status":"Running","ExpiredTime":"2026-12-01T16:00Z","Tags":{"Tag":[{"TagKey":"env","TagValue":"prod"}]},"OperationLocks":{"LockReason":[]}}]}}"#;

fn decode_instances(status: u16, body: &[u8]) -> Result<Vec<String>, String> {
    let ctx = CallContext {
        action: "DescribeInstances",
        region: "cn-hangzhou",
    };
    let answer = decode::<wire::DescribeInstancesResponse>(ctx, status, body, &redactor())
        .map_err(|e| e.to_string())?;
    answer
        .instances
        .instance
        .into_iter()
        .map(|i| {
            wire::to_snapshot("cn-hangzhou", i)
                .map(|s| s.instance_id)
                .map_err(|u| u.reason)
        })
        .collect()
}

const PRICE_ANSWER: &str = r#"{"RequestId":"r","PriceInfo":{"Price":{"OriginalPrice":100.0,"DiscountPrice":10.0,"TradePrice":90.0,"Currency":"CNY"},"Rules":{"Rule":[]}}}"#;

fn decode_price(status: u16, body: &[u8]) -> Result<Price, String> {
    let ctx = CallContext {
        action: "DescribeRenewalPrice",
        region: "cn-hangzhou",
    };
    decode::<wire_price::DescribeRenewalPriceResponse>(ctx, status, body, &redactor())
        .map_err(|e| e.to_string())
        .and_then(wire_price::to_price)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_price_answer_is_an_error_or_a_price_that_can_be_one(
        status in prop::sample::select(vec![200u16, 400, 403, 500, 503]),
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        match decode_price(status, &bytes) {
            Err(message) => prop_assert!(!message.contains("prop-secret")),
            Ok(price) => prop_assert!(
                !price.trade_price.is_negative() && is_currency_code(&price.currency)
            ),
        }
    }

    #[test]
    fn a_truncated_price_answer_is_an_error(cut in any::<prop::sample::Index>()) {
        let end = cut.index(PRICE_ANSWER.len());
        prop_assert!(decode_price(200, &PRICE_ANSWER.as_bytes()[..end]).is_err());
    }

    #[test]
    fn any_bytes_as_a_plan_file_are_refused_or_read(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(plan) = planfile::read(&bytes, "plan.json") {
            let _ = renewctl::render::markdown::plan(&plan);
        }
    }

    #[test]
    fn a_changed_byte_in_a_saved_plan_is_refused_unless_it_changes_nothing(
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let (original, text) = saved_plan();
        let mut bytes = text.into_bytes();
        let at = position.index(bytes.len());
        bytes[at] = byte;
        match planfile::read(&bytes, "plan.json") {
            Err(err) => prop_assert!(!err.to_string().is_empty()),
            // Only a change the JSON reader cannot see (whitespace for whitespace) passes.
            Ok(plan) => prop_assert_eq!(plan, original),
        }
    }

    #[test]
    fn a_truncated_saved_plan_is_refused(cut in any::<prop::sample::Index>()) {
        let (_, text) = saved_plan();
        let end = cut.index(text.trim_end().len());
        prop_assert!(planfile::read(&text.as_bytes()[..end], "plan.json").is_err());
    }

    #[test]
    fn any_answer_is_an_error_or_a_correct_reading(
        status in prop::sample::select(vec![200u16, 400, 403, 404, 500, 502, 503]),
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        if let Err(message) = decode_instances(status, &bytes) {
            prop_assert!(!message.contains("prop-secret"));
        }
    }

    #[test]
    fn a_truncated_answer_is_an_error(cut in any::<prop::sample::Index>()) {
        let end = cut.index(INSTANCES_ANSWER.len());
        prop_assert!(decode_instances(200, &INSTANCES_ANSWER.as_bytes()[..end]).is_err());
    }
}

/// Inputs the fuzzers of fuzz/ found crashing, kept as regression cases (the first byte selects
/// the HTTP status, as in the api_answer target).
#[test]
fn fuzzer_findings_stay_fixed() {
    let crash = include_bytes!("data/fuzz-regressions/api_answer-expiry-multibyte");
    let (_, body) = crash.split_first().expect("non-empty");
    let err = decode_instances(200, body).unwrap_err();
    assert!(err.contains("ExpiredTime"), "{err}");
}

#[test]
fn the_complete_price_answer_reads_and_an_error_body_is_an_error() {
    assert_eq!(
        decode_price(200, PRICE_ANSWER.as_bytes()).map(|p| p.to_string()),
        Ok("90.00 CNY".to_string())
    );
    let err = decode_price(
        200,
        br#"{"Code":"InvalidInstanceId.NotFound","Message":"gone","RequestId":"r"}"#,
    )
    .unwrap_err();
    assert!(err.contains("InvalidInstanceId.NotFound"), "{err}");
}

#[test]
fn the_complete_answer_reads() {
    assert_eq!(
        decode_instances(200, INSTANCES_ANSWER.as_bytes()),
        Ok(vec!["i-a".to_string()])
    );
}

#[test]
fn malformed_answers_are_named_errors_and_nothing_is_guessed() {
    for (status, body, expected) in [
        (502, "<html><body>Bad Gateway</body></html>", "not JSON"),
        (200, "", "empty body"),
        (200, r#"{"RequestId":"r"}"#, "not the documented answer"),
        (
            200,
            r#"{"RequestId":"r","TotalCount":"many","Instances":{"Instance":[]}}"#,
            "not the documented answer",
        ),
        (
            200,
            r#"{"Code":"Throttling","Message":"slow down","RequestId":"r"}"#,
            "Throttling",
        ),
        (
            200,
            r#"{"RequestId":"r","TotalCount":1,"Instances":{"Instance":[{"InstanceId":"i-a","InstanceChargeType":"PrePaid"}]}}"#,
            "ExpiredTime",
        ),
        (
            200,
            r#"{"RequestId":"r","TotalCount":1,"Instances":{"Instance":[{"InstanceId":"i-a","InstanceChargeType":"PrePaid","ExpiredTime":"soon"}]}}"#,
            "ExpiredTime",
        ),
    ] {
        let err = decode_instances(status, body.as_bytes()).unwrap_err();
        assert!(err.contains(expected), "{body}: {err}");
    }
}
