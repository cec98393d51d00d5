//! Any bytes and status as an ECS answer to each action renewctl reads: a typed error or a
//! decoded answer, never a panic, and nothing guessed from a broken answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use renewctl::rpc::response::{CallContext, Redactor, decode};
use renewctl::cloud::{wire, wire_price};
use renewctl::credentials::{Credentials, Secret};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let status = [200u16, 400, 403, 404, 500, 503][usize::from(selector) % 6];
    let redactor = Redactor::new(&Credentials {
        access_key_id: "LTAIfuzz".into(),
        access_key_secret: Secret::new("fuzz-secret"),
        security_token: None,
        source: "fuzz",
    });
    let ctx = |action| CallContext {
        action,
        region: "cn-hangzhou",
    };
    if let Ok(page) =
        decode::<wire::DescribeInstancesResponse>(ctx("DescribeInstances"), status, body, &redactor)
    {
        for instance in page.instances.instance {
            let _ = wire::to_snapshot("cn-hangzhou", instance);
        }
    }
    if let Ok(answer) = decode::<wire::DescribeAutoRenewResponse>(
        ctx("DescribeInstanceAutoRenewAttribute"),
        status,
        body,
        &redactor,
    ) {
        for attribute in answer.instance_renew_attributes.instance_renew_attribute {
            let _ = wire::to_renewal(attribute);
        }
    }
    if let Ok(answer) = decode::<wire_price::DescribeRenewalPriceResponse>(
        ctx("DescribeRenewalPrice"),
        status,
        body,
        &redactor,
    ) && let Ok(price) = wire_price::to_price(answer)
    {
        // Nothing guessed: a price that is read is one the plan can show.
        assert!(!price.trade_price.is_negative() && price.currency.len() == 3);
    }
    if let Err(err) = decode::<wire::MutationResponse>(ctx("RenewInstance"), status, body, &redactor)
    {
        assert!(!err.to_string().contains("fuzz-secret"));
    }
});
