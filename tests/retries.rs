//! The retry policy against the emulator's scripted faults, asserting the exact sequence of
//! requests the emulator received (its request log): throttling and 5xx are retried, client
//! errors are not, RenewInstance is retried after an ambiguous failure only with its ClientToken
//! (and then never renews twice), attempts and the time budget are bounded, and a whole apply
//! under faults sends exactly the planned calls plus one retry per fault.

use std::time::Duration;

use renewctl::cloud::{
    ApiError, ClientConfig, EcsApi, EcsClient, Endpoint, ErrorClass, InstanceQuery, Paging,
    SignatureScheme,
};
use renewctl::credentials::{Credentials, Secret};
use renewctl::ecs::{ApiAction, ClientToken, Mutation, PeriodUnit, RenewalPeriod};
use renewctl::emulator::FaultKind;
use renewctl::plan::Call;
use renewctl::rpc::retry::RetryPolicy;

use crate::support::emulator::Emulator;

const FLEET: &str = "access_keys: [{id: LTAIretry, secret: retry-secret}]
regions:
  cn-hangzhou:
    - {id: i-bp1retry0000000001, expires_in: 5 days, renewal: {status: Normal}}
    - {id: i-bp1retry0000000002, expires_in: 5 days, renewal: {status: Normal}}
";

const ID: &str = "i-bp1retry0000000001";

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        time_budget: Duration::from_secs(10),
        throttling_floor: Duration::from_millis(10),
    }
}

fn client_with(emu: &Emulator, retry: RetryPolicy, request_timeout: Duration) -> EcsClient {
    EcsClient::new(ClientConfig {
        endpoint: Endpoint::Fixed(emu.endpoint()),
        credentials: Credentials {
            access_key_id: emu.key_id.clone(),
            access_key_secret: Secret::new(&emu.key_secret),
            security_token: None,
            source: "test",
        }
        .into(),
        scheme: SignatureScheme::Acs3HmacSha256,
        max_in_flight: 1,
        max_rps: None,
        connect_timeout: Duration::from_secs(2),
        request_timeout,
        retry,
    })
    .expect("client")
}

fn client(emu: &Emulator) -> EcsClient {
    client_with(emu, policy(), Duration::from_secs(5))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// (action, outcome) of every request the emulator received.
fn log(emu: &Emulator) -> Vec<(String, String)> {
    emu.handle()
        .requests()
        .into_iter()
        .map(|r| (r.action, r.outcome))
        .collect()
}

fn seq(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, o)| (a.to_string(), o.to_string()))
        .collect()
}

fn renew_of(id: &str, token: &str) -> Mutation {
    Mutation::Renew {
        region: "cn-hangzhou".to_string(),
        id: id.to_string(),
        period: RenewalPeriod {
            count: 1,
            unit: PeriodUnit::Month,
        },
        token: ClientToken::from_recorded(token).expect("a token"),
    }
}

fn renew(token: &str) -> Mutation {
    renew_of(ID, token)
}

fn page() -> InstanceQuery {
    InstanceQuery {
        region: "cn-hangzhou".to_string(),
        paging: Paging::Page(1),
        prepaid_only: true,
        instance_ids: None,
    }
}

#[test]
fn throttling_is_retried_until_an_answer() {
    let emu = Emulator::start(FLEET);
    emu.push_fault(Some("DescribeInstances"), FaultKind::Throttle);
    emu.push_fault(Some("DescribeInstances"), FaultKind::Throttle);
    let page = rt()
        .block_on(client(&emu).describe_instances(&page()))
        .expect("third attempt answers");
    assert_eq!(page.instances.len(), 2);
    assert_eq!(
        log(&emu),
        seq(&[
            ("DescribeInstances", "Throttling.User"),
            ("DescribeInstances", "Throttling.User"),
            ("DescribeInstances", "ok"),
        ])
    );
}

#[test]
fn a_5xx_renewal_with_its_client_token_is_retried_and_renews_once() {
    let emu = Emulator::start(FLEET);
    emu.push_fault(Some("RenewInstance"), FaultKind::ServerError);
    let outcome = rt()
        .block_on(client(&emu).execute(&renew("renewctl-retry-test-1")))
        .expect("renewed");
    assert!(outcome.order_id.is_some());
    assert_eq!(
        log(&emu),
        seq(&[
            ("RenewInstance", "ServiceUnavailable"),
            ("RenewInstance", "ok")
        ])
    );
    assert_eq!(emu.stats().renewals.get(ID), Some(&1));
}

#[test]
fn a_renewal_whose_answer_was_lost_is_retried_and_answered_from_the_token_not_paid_twice() {
    let emu = Emulator::start(FLEET);
    emu.push_fault(Some("RenewInstance"), FaultKind::DropAfterCommit);
    let before = emu.handle().instance(ID).and_then(|i| i.expired_time);
    rt().block_on(client(&emu).execute(&renew("renewctl-retry-test-2")))
        .expect("the repeat gets the first answer");
    assert_eq!(
        log(&emu),
        seq(&[("RenewInstance", "dropped"), ("RenewInstance", "ok")])
    );
    assert_eq!(emu.stats().renewals.get(ID), Some(&1), "paid once");
    let after = emu.handle().instance(ID).and_then(|i| i.expired_time);
    assert!(after > before);
}

#[test]
fn a_throttled_renewal_is_retried_with_its_token_before_the_action_runs() {
    // Throttling happens before the action runs: retried, and paid once.
    let emu = Emulator::start(FLEET);
    emu.push_fault(Some("RenewInstance"), FaultKind::Throttle);
    rt().block_on(client(&emu).execute(&renew("renewctl-retry-test-4")))
        .expect("retried after throttling");
    assert_eq!(
        log(&emu),
        seq(&[
            ("RenewInstance", "Throttling.User"),
            ("RenewInstance", "ok")
        ])
    );
    assert_eq!(emu.stats().renewals.get(ID), Some(&1));
}

#[test]
fn client_errors_are_never_retried() {
    let emu = Emulator::start(FLEET);
    let call = renew_of("i-bp1nosuchinstance01", "renewctl-retry-test-3");
    let err = rt()
        .block_on(client(&emu).execute(&call))
        .expect_err("no such instance");
    assert_eq!(err.class(), ErrorClass::Client);
    assert_eq!(
        log(&emu),
        seq(&[("RenewInstance", "InvalidInstanceId.NotFound")])
    );
}

#[test]
fn a_request_without_an_answer_times_out_and_is_retried() {
    let emu = Emulator::start(FLEET);
    emu.push_fault(Some("DescribeInstances"), FaultKind::Timeout);
    let api = client_with(&emu, policy(), Duration::from_millis(300));
    let started = std::time::Instant::now();
    rt().block_on(api.describe_instances(&page()))
        .expect("the retry answers");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        log(&emu),
        seq(&[("DescribeInstances", "held"), ("DescribeInstances", "ok")])
    );
}

#[test]
fn attempts_are_bounded() {
    let emu = Emulator::start(FLEET);
    for _ in 0..5 {
        emu.push_fault(Some("DescribeInstances"), FaultKind::ServerError);
    }
    let err = rt()
        .block_on(client(&emu).describe_instances(&page()))
        .expect_err("gives up");
    assert_eq!(err.code(), Some("ServiceUnavailable"));
    assert_eq!(
        log(&emu),
        seq(&[("DescribeInstances", "ServiceUnavailable"); 4])
    );
}

#[test]
fn no_retry_waits_past_the_time_budget() {
    let emu = Emulator::start(FLEET);
    emu.push_fault(Some("DescribeInstances"), FaultKind::Throttle);
    let tight = RetryPolicy {
        time_budget: Duration::from_millis(50),
        throttling_floor: Duration::from_millis(100),
        ..policy()
    };
    let err = rt()
        .block_on(client_with(&emu, tight, Duration::from_secs(5)).describe_instances(&page()))
        .expect_err("the wait would overrun the budget");
    assert!(matches!(err, ApiError::Service { .. }), "{err:?}");
    assert_eq!(log(&emu), seq(&[("DescribeInstances", "Throttling.User")]));
}

/// A whole plan → apply under scripted faults: each faulted call is sent exactly twice, every
/// other planned call once, and nothing is renewed twice.
#[test]
fn an_apply_under_faults_sends_each_call_once_plus_one_retry_per_fault() {
    let emu = Emulator::start(include_str!("../examples/fleet.yaml"));
    let api = client(&emu);
    let config = crate::support::config(include_str!("../examples/renewal.yaml"));
    let plan = rt().block_on(async {
        let observed = renewctl::observe::observe(&api, &config.desired).await;
        renewctl::plan::plan(
            &config.desired,
            &observed,
            emu.handle().now(),
            &config.digest,
        )
    });
    let renewals: Vec<&Call> = plan
        .calls
        .iter()
        .filter(|c| c.action() == ApiAction::RenewInstance)
        .collect();
    let modifies = plan.calls.len() - renewals.len();
    assert!(renewals.len() >= 2 && modifies >= 2, "{plan:?}");
    emu.handle().clear_requests();
    emu.push_fault(Some("RenewInstance"), FaultKind::DropAfterCommit);
    emu.push_fault(Some("RenewInstance"), FaultKind::ServerError);
    emu.push_fault(
        Some("ModifyInstanceAutoRenewAttribute"),
        FaultKind::Throttle,
    );
    let report = rt().block_on(renewctl::apply::apply(&api, &plan, |_| {}));
    assert_eq!(report.failed(), 0, "{report:?}");

    // The mutating requests (apply then reads the renewals' expiry again, which is not counted
    // here).
    let requests: Vec<_> = emu
        .handle()
        .requests()
        .into_iter()
        .filter(|r| r.action != "DescribeInstances")
        .collect();
    // Per planned call (action, InstanceId), the outcomes in order.
    let mut per_call: std::collections::BTreeMap<(String, String), Vec<String>> =
        Default::default();
    for r in &requests {
        per_call
            .entry((r.action.clone(), r.instance_id.clone()))
            .or_default()
            .push(r.outcome.clone());
    }
    assert_eq!(per_call.len(), plan.calls.len(), "{per_call:?}");
    let mut retried: Vec<Vec<String>> =
        per_call.values().filter(|o| o.len() > 1).cloned().collect();
    retried.sort();
    assert_eq!(
        retried,
        vec![
            vec!["ServiceUnavailable".to_string(), "ok".to_string()],
            vec!["Throttling.User".to_string(), "ok".to_string()],
            vec!["dropped".to_string(), "ok".to_string()],
        ]
    );
    assert!(
        per_call
            .values()
            .all(|o| o.last().map(String::as_str) == Some("ok"))
    );
    assert_eq!(requests.len(), plan.calls.len() + 3);
    let stats = emu.stats();
    assert_eq!(stats.renewals.len(), renewals.len());
    assert!(
        stats.renewals.values().all(|n| *n == 1),
        "{:?}",
        stats.renewals
    );
}
