//! The real client against the emulator over loopback: every action in both signature schemes,
//! paging, every error path, retries, and the idempotent renewal that never pays twice.

use std::collections::BTreeMap;
use std::time::Duration;

use renewctl::cloud::{
    ApiError, ClientConfig, EcsApi, EcsClient, Endpoint, ErrorClass, InstanceQuery, Paging,
    SignatureScheme,
};
use renewctl::credentials::{Credentials, Secret};
use renewctl::ecs::{AutoRenewPeriod, AutoRenewSetting, Mutation, PeriodUnit};
use renewctl::emulator::FaultKind;
use renewctl::observed::{ChargeType, RenewalStatus};
use renewctl::rpc::retry::RetryPolicy;

use crate::support::emulator::Emulator;
use crate::support::renew_mutation;

const FLEET: &str = include_str!("../examples/fleet.yaml");

fn config_for(emu: &Emulator, scheme: SignatureScheme, secret: &str) -> ClientConfig {
    ClientConfig {
        endpoint: Endpoint::Fixed(emu.endpoint()),
        credentials: Credentials {
            access_key_id: emu.key_id.clone(),
            access_key_secret: Secret::new(secret),
            security_token: None,
            source: "test",
        }
        .into(),
        scheme,
        max_in_flight: 8,
        max_rps: None,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
    }
}

fn client(emu: &Emulator, scheme: SignatureScheme) -> EcsClient {
    EcsClient::new(config_for(emu, scheme, &emu.key_secret)).expect("client")
}

const SCHEMES: [SignatureScheme; 2] = [
    SignatureScheme::Acs3HmacSha256,
    SignatureScheme::RpcHmacSha1,
];

fn page_query(region: &str, paging: Paging) -> InstanceQuery {
    InstanceQuery {
        region: region.to_string(),
        paging,
        prepaid_only: true,
        instance_ids: None,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn generated(count: usize) -> String {
    format!(
        "access_keys: [{{id: LTAIgen, secret: gen-secret}}]\nregions: {{}}\ngenerate: {{region: cn-hangzhou, count: {count}, seed: 7}}\n"
    )
}

#[test]
fn describe_instances_pages_by_number_and_by_token_in_both_schemes() {
    let emu = Emulator::start(&generated(250));
    for scheme in SCHEMES {
        let api = client(&emu, scheme);
        rt().block_on(async {
            let mut ids = BTreeMap::new();
            let first = api
                .describe_instances(&page_query("cn-hangzhou", Paging::Page(1)))
                .await
                .expect("page 1");
            assert_eq!(first.total_count, 250, "{scheme:?}");
            assert_eq!(first.instances.len(), 100);
            for page in 1..=3 {
                let got = api
                    .describe_instances(&page_query("cn-hangzhou", Paging::Page(page)))
                    .await
                    .expect("page");
                for i in got.instances {
                    assert_eq!(i.charge_type, ChargeType::PrePaid);
                    ids.insert(i.instance_id.clone(), i);
                }
            }
            assert_eq!(ids.len(), 250);

            let mut by_token = 0;
            let mut token = None;
            let mut pages = 0;
            loop {
                let got = api
                    .describe_instances(&page_query("cn-hangzhou", Paging::Token(token)))
                    .await
                    .expect("token page");
                pages += 1;
                by_token += got.instances.len();
                match got.next_token.filter(|t| !t.is_empty()) {
                    Some(next) => token = Some(next),
                    None => break,
                }
                assert!(pages < 10, "token paging does not end");
            }
            assert_eq!((by_token, pages), (250, 3));
        });
    }
}

#[test]
fn instance_snapshots_carry_names_tags_expiry_and_status() {
    let emu = Emulator::start(FLEET);
    let api = client(&emu, SignatureScheme::Acs3HmacSha256);
    rt().block_on(async {
        let page = api
            .describe_instances(&page_query("cn-hangzhou", Paging::Page(1)))
            .await
            .expect("page");
        let web1 = page
            .instances
            .iter()
            .find(|i| i.instance_id == "i-bp1demo0000000001")
            .expect("web-1 listed");
        assert_eq!(web1.instance_name, "web-1");
        assert_eq!(web1.tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(web1.region, "cn-hangzhou");
        let expected = emu
            .handle()
            .instance("i-bp1demo0000000001")
            .expect("in state");
        assert_eq!(
            renewctl::time::format_api(web1.expired_time),
            renewctl::time::format_api(expected.expired_time.expect("prepaid"))
        );
        // The pay-as-you-go instance is filtered out; listed by id it is found.
        assert!(
            page.instances
                .iter()
                .all(|i| i.instance_id != "i-bp1demo0000000013")
        );
        let by_id = api
            .describe_instances(&InstanceQuery {
                region: "cn-hangzhou".into(),
                paging: Paging::Page(1),
                prepaid_only: false,
                instance_ids: Some(vec!["i-bp1demo0000000013".into(), "i-nope".into()]),
            })
            .await
            .expect("by ids");
        assert_eq!(by_id.instances.len(), 1);
        assert_eq!(by_id.instances[0].charge_type, ChargeType::PostPaid);
        // Expired instances carry the financial lock.
        let expired = page
            .instances
            .iter()
            .find(|i| i.instance_id == "i-bp1demo0000000006")
            .expect("db-3");
        assert!(
            expired.locks.iter().any(|l| l == "financial"),
            "{:?}",
            expired.locks
        );
    });
}

#[test]
fn auto_renew_attributes_are_read_and_modified_in_both_schemes() {
    for scheme in SCHEMES {
        let emu = Emulator::start(FLEET);
        let api = client(&emu, scheme);
        rt().block_on(async {
            let ids = vec![
                "i-bp1demo0000000001".to_string(),
                "i-bp1demo0000000003".to_string(),
            ];
            let got: BTreeMap<String, _> = api
                .describe_auto_renew("cn-hangzhou", &ids)
                .await
                .expect("attributes")
                .into_iter()
                .collect();
            assert_eq!(got["i-bp1demo0000000001"].status, RenewalStatus::Normal);
            assert_eq!(
                got["i-bp1demo0000000003"].status,
                RenewalStatus::AutoRenewal
            );
            // The unit is kept as the API spells it.
            assert_eq!(got["i-bp1demo0000000003"].period_unit, "month");

            let call = Mutation::ModifyAutoRenew {
                region: "cn-hangzhou".into(),
                ids: vec!["i-bp1demo0000000001".into(), "i-bp1demo0000000003".into()],
                setting: AutoRenewSetting::Auto(AutoRenewPeriod {
                    duration: 2,
                    unit: PeriodUnit::Year,
                }),
            };
            let done = api.execute(&call).await.expect("modify");
            assert!(!done.request_id.is_empty());
            let got = api
                .describe_auto_renew("cn-hangzhou", &ids)
                .await
                .expect("again");
            for (_, attr) in got {
                assert_eq!(
                    (attr.status, attr.duration),
                    (RenewalStatus::AutoRenewal, 2)
                );
                assert!(attr.period_unit.eq_ignore_ascii_case("year"));
            }
        });
    }
}

#[test]
fn a_renewal_replayed_with_its_token_is_paid_once() {
    for scheme in SCHEMES {
        let emu = Emulator::start(FLEET);
        let api = client(&emu, scheme);
        let before = emu
            .handle()
            .instance("i-bp1demo0000000007")
            .unwrap()
            .expired_time;
        rt().block_on(async {
            let call = renew_mutation("i-bp1demo0000000007", 1, "renewctl-test-token-1");
            let first = api.execute(&call).await.expect("renew");
            let again = api.execute(&call).await.expect("replay");
            assert!(first.order_id.is_some());
            assert_eq!(first.order_id, again.order_id);
        });
        assert_eq!(emu.stats().renewals.get("i-bp1demo0000000007"), Some(&1));
        let after = emu
            .handle()
            .instance("i-bp1demo0000000007")
            .unwrap()
            .expired_time;
        let days = after
            .zip(before)
            .map(|(a, b)| a.duration_since(b).as_secs() / 86_400)
            .unwrap_or(0);
        assert!((28..=31).contains(&days), "moved {days} days");
    }
}

#[test]
fn a_renewal_whose_answer_was_lost_is_retried_with_its_token_and_paid_once() {
    let emu = Emulator::start(FLEET);
    let api = client(&emu, SignatureScheme::Acs3HmacSha256);
    emu.push_fault(Some("RenewInstance"), FaultKind::DropAfterCommit);
    let done = rt()
        .block_on(api.execute(&renew_mutation(
            "i-bp1demo0000000007",
            1,
            "renewctl-test-token-2",
        )))
        .expect("the retry returns the original order");
    assert!(done.order_id.is_some());
    let stats = emu.stats();
    assert_eq!(stats.renewals.get("i-bp1demo0000000007"), Some(&1));
    assert_eq!(stats.by_action.get("RenewInstance"), Some(&2));
}

#[test]
fn throttling_and_server_errors_are_retried_then_succeed() {
    let emu = Emulator::start(FLEET);
    let api = client(&emu, SignatureScheme::RpcHmacSha1);
    emu.push_fault(Some("DescribeInstances"), FaultKind::Throttle);
    emu.push_fault(Some("DescribeInstances"), FaultKind::ServerError);
    let page = rt()
        .block_on(api.describe_instances(&page_query("cn-hangzhou", Paging::Page(1))))
        .expect("third attempt succeeds");
    assert!(page.total_count > 0);
    assert_eq!(emu.stats().by_action.get("DescribeInstances"), Some(&3));
}

#[test]
fn retries_stop_at_the_policy_limit_with_the_last_error() {
    let emu = Emulator::start(FLEET);
    let api = client(&emu, SignatureScheme::Acs3HmacSha256);
    for _ in 0..10 {
        emu.push_fault(Some("DescribeInstances"), FaultKind::Throttle);
    }
    let err = rt()
        .block_on(api.describe_instances(&page_query("cn-hangzhou", Paging::Page(1))))
        .unwrap_err();
    assert_eq!(err.code(), Some("Throttling.User"), "{err}");
    assert_eq!(emu.stats().by_action.get("DescribeInstances"), Some(&4));
}

fn service_error(err: &ApiError) -> (String, u16, String) {
    match err {
        ApiError::Service {
            code,
            http_status,
            request_id,
            ..
        } => (code.clone(), *http_status, request_id.clone()),
        other => panic!("expected a service error, got {other}"),
    }
}

#[test]
fn api_errors_carry_code_status_and_request_id_and_are_not_retried() {
    let emu = Emulator::start(FLEET);
    let api = client(&emu, SignatureScheme::Acs3HmacSha256);
    rt().block_on(async {
        let cases = [
            (
                renew_mutation("i-bp1nope", 1, "t-1"),
                "InvalidInstanceId.NotFound",
                404,
            ),
            (
                renew_mutation("i-bp1demo0000000018", 1, "t-2"),
                "ChargeTypeViolation",
                403,
            ),
            (
                renew_mutation("i-bp1demo0000000007", 10, "t-3"),
                "InvalidPeriod",
                400,
            ),
            (
                renew_mutation("i-bp1demo0000000009", 1, "t-4"),
                "IncorrectInstanceStatus",
                403,
            ),
        ];
        for (call, code, status) in cases {
            let err = api.execute(&call).await.unwrap_err();
            let (got_code, got_status, request_id) = service_error(&err);
            assert_eq!((got_code.as_str(), got_status), (code, status), "{err}");
            assert!(!request_id.is_empty());
            assert!(err.to_string().contains(code) && err.to_string().contains(&request_id));
            assert_eq!(err.class(), ErrorClass::Client);
        }
        // Same token, other parameters.
        api.execute(&renew_mutation("i-bp1demo0000000007", 1, "t-5"))
            .await
            .expect("renew");
        let err = api
            .execute(&renew_mutation("i-bp1demo0000000007", 2, "t-5"))
            .await
            .unwrap_err();
        assert_eq!(service_error(&err).0, "IdempotenceParamNotMatch");
    });
    assert!(emu.stats().renewals.values().all(|&n| n == 1));
}

#[test]
fn a_wrong_secret_is_rejected_by_signature_in_both_schemes() {
    let emu = Emulator::start(FLEET);
    for scheme in SCHEMES {
        let api = EcsClient::new(config_for(&emu, scheme, "wrong-secret")).expect("client");
        let err = rt()
            .block_on(api.describe_instances(&page_query("cn-hangzhou", Paging::Page(1))))
            .unwrap_err();
        assert_eq!(service_error(&err).0, "SignatureDoesNotMatch", "{scheme:?}");
        assert!(!err.to_string().contains("wrong-secret"));
        assert!(!format!("{err:?}").contains("wrong-secret"));
    }
    assert_eq!(emu.stats().signature_rejections, 2);
}

#[test]
fn plain_http_is_refused_for_anything_but_loopback() {
    let emu = Emulator::start(FLEET);
    for endpoint in [
        "http://example.com",
        "http://10.0.0.1:8080",
        "ftp://127.0.0.1",
    ] {
        let mut config = config_for(&emu, SignatureScheme::Acs3HmacSha256, "s");
        config.endpoint = Endpoint::Fixed(endpoint.to_string());
        let err = EcsClient::new(config).map(|_| ()).unwrap_err();
        assert!(matches!(err, ApiError::Config(_)), "{endpoint}: {err}");
    }
}

#[test]
fn a_dead_endpoint_is_a_transport_error_naming_it() {
    let emu = Emulator::start(FLEET);
    let mut config = config_for(&emu, SignatureScheme::Acs3HmacSha256, "s");
    // A port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    config.endpoint = Endpoint::Fixed(format!("http://127.0.0.1:{port}"));
    let api = EcsClient::new(config).expect("client");
    let err = rt()
        .block_on(api.describe_instances(&page_query("cn-hangzhou", Paging::Page(1))))
        .unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

#[test]
fn renewal_prices_are_read_with_price_unit_in_both_schemes() {
    use renewctl::ecs::{PriceQuery, PriceUnit};
    let emu = Emulator::start(FLEET);
    let id = "i-bp1demo0000000005";
    let query = |period, unit| PriceQuery { period, unit };
    for scheme in SCHEMES {
        let api = client(&emu, scheme);
        // Boxed: ApiError is large, and clippy keeps closures' results small.
        let price = |region: &str, id: &str, q| {
            rt().block_on(api.describe_renewal_price(region, id, q))
                .map_err(Box::new)
        };
        let three_months = price("cn-hangzhou", id, query(3, PriceUnit::Month)).expect("priced");
        assert_eq!(three_months.to_string(), "720.00 CNY", "{scheme:?}");
        let a_year = price("cn-hangzhou", id, query(1, PriceUnit::Year)).expect("priced");
        assert_eq!(a_year.to_string(), "2880.00 CNY", "{scheme:?}");

        // The API's refusals are typed and never retried; a bad id is never sent.
        emu.handle().clear_requests();
        let err = price(
            "cn-hangzhou",
            "i-bp1nosuchthing",
            query(1, PriceUnit::Month),
        )
        .expect_err("unknown instance");
        assert_eq!(err.code(), Some("InvalidInstanceId.NotFound"), "{err}");
        assert_eq!(err.class(), ErrorClass::Client);
        let err = price("cn-shanghai", id, query(1, PriceUnit::Month)).expect_err("other region");
        assert_eq!(err.code(), Some("InvalidInstanceId.NotFound"), "{err}");
        assert_eq!(
            emu.handle().requests().len(),
            2,
            "one request each, no retry"
        );
        for bad in ["", "i-a,i-b"] {
            let err = price("cn-hangzhou", bad, query(1, PriceUnit::Month)).expect_err("bad id");
            assert!(matches!(*err, ApiError::Config(_)), "{err}");
        }
        assert_eq!(emu.handle().requests().len(), 2, "bad ids are not sent");
    }
}
