//! Temporary credentials over time: the provider refreshes them 15 minutes before they expire
//! while a client keeps making requests (one STS call however many requests need it at once),
//! keeps valid ones when a refresh fails, and reports expired ones; the emulator refuses a
//! request signed with an expired STS key. Clocks are moved by hand: the emulator's and the
//! credentials' (which also dates the requests) in step.

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use renewctl::cloud::{
    ApiError, ClientConfig, EcsApi, EcsClient, Endpoint, InstanceQuery, Paging, SignatureScheme,
};
use renewctl::credentials::{
    self, Context, Credentials, CredentialsError, CredentialsProvider, Environment, ManualClock,
    MemoryFiles, Secret,
};
use renewctl::emulator::{Clock, EmulatorOptions};
use renewctl::rpc::retry::RetryPolicy;

use crate::support::emulator::Emulator;

const FLEET: &str = "access_keys: [{id: LTAIcaller0000001, secret: caller-secret-value}]
roles: [{arn: 'acs:ram::1234567890123456:role/renewer'}]
metadata: {role: EcsRenewer}
generate: {region: cn-hangzhou, count: 5, seed: 1}
";

const CONFIG: &str = r#"{"current": "assume", "profiles": [{"name": "assume", "mode": "RamRoleArn",
  "access_key_id": "LTAIcaller0000001", "access_key_secret": "caller-secret-value",
  "ram_role_arn": "acs:ram::1234567890123456:role/renewer", "ram_session_name": "long-apply"}]}"#;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn context(emu: &Emulator, clock: &Arc<ManualClock>, extra: &[(&str, &str)]) -> Context {
    let mut vars = vec![
        ("HOME".to_string(), "/virtual/home".to_string()),
        ("ALIBABA_CLOUD_STS_ENDPOINT".to_string(), emu.endpoint()),
        ("RENEWCTL_METADATA_ENDPOINT".to_string(), emu.endpoint()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Context {
        env: Environment::from_pairs(vars),
        files: Arc::new(MemoryFiles::new().with("/virtual/home/.aliyun/config.json", CONFIG)),
        clock: Arc::clone(clock) as Arc<dyn credentials::Clock>,
        profile: None,
    }
}

/// An emulator and a manual clock both at the fixed test time, a runtime, and the credentials
/// chain resolved against them with the link `disabled` turned off.
fn resolved_at_now(
    disabled: &str,
) -> (
    Emulator,
    Arc<ManualClock>,
    tokio::runtime::Runtime,
    credentials::Resolution,
) {
    let now = crate::support::now();
    let emu = Emulator::start_with(
        FLEET,
        EmulatorOptions {
            clock: Clock::Fixed(now),
            ..EmulatorOptions::default()
        },
    );
    let clock = Arc::new(ManualClock::new(now));
    let ctx = context(&emu, &clock, &[(disabled, "true")]);
    let rt = runtime();
    let resolution = rt.block_on(credentials::resolve(&ctx)).expect("resolved");
    (emu, clock, rt, resolution)
}

fn client(emu: &Emulator, provider: CredentialsProvider) -> EcsClient {
    EcsClient::new(ClientConfig {
        endpoint: Endpoint::Fixed(emu.endpoint()),
        credentials: provider,
        scheme: SignatureScheme::Acs3HmacSha256,
        max_in_flight: 8,
        max_rps: None,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
    })
    .expect("client")
}

fn page() -> InstanceQuery {
    InstanceQuery {
        region: "cn-hangzhou".to_string(),
        paging: Paging::Page(1),
        prepaid_only: false,
        instance_ids: None,
    }
}

/// The access keys of the DescribeInstances requests the emulator received, in order.
fn ecs_keys(emu: &Emulator) -> Vec<String> {
    emu.handle()
        .requests()
        .into_iter()
        .filter(|r| r.action == "DescribeInstances")
        .map(|r| r.access_key_id)
        .collect()
}

fn assume_role_calls(emu: &Emulator) -> usize {
    emu.handle()
        .requests()
        .iter()
        .filter(|r| r.action == "AssumeRole" && r.outcome == "ok")
        .count()
}

#[test]
fn sts_credentials_are_refreshed_15_minutes_before_expiry_during_a_long_run() {
    let (emu, clock, rt, resolution) = resolved_at_now("ALIBABA_CLOUD_ECS_METADATA_DISABLED");
    assert_eq!(
        resolution
            .lease
            .expires_at
            .map(|t| t.to_string())
            .as_deref(),
        Some("2026-11-23T13:00:00Z")
    );
    let api = client(&emu, resolution.provider);
    let advance = |minutes: i64| {
        clock.advance(SignedDuration::from_mins(minutes));
        emu.handle()
            .advance_clock(SignedDuration::from_mins(minutes));
    };
    rt.block_on(async {
        api.describe_instances(&page())
            .await
            .expect("first key works");
        advance(44); // 12:44: 16 minutes left, still fresh
        api.describe_instances(&page()).await.expect("same key");
        assert_eq!(assume_role_calls(&emu), 1);
        advance(2); // 12:46: 14 minutes left, refreshed before this request
        api.describe_instances(&page()).await.expect("new key");
        assert_eq!(assume_role_calls(&emu), 2);
        // The second key expires at 13:46; at 13:32 eight concurrent requests need a new one,
        // and exactly one STS call serves them all.
        advance(46);
        let query = page();
        let all = futures_util::future::join_all((0..8).map(|_| api.describe_instances(&query)));
        for answer in all.await {
            answer.expect("third key works");
        }
        assert_eq!(assume_role_calls(&emu), 3);
    });
    let keys = ecs_keys(&emu);
    assert_eq!(
        keys[..3],
        [
            "STS.NUemulator000001",
            "STS.NUemulator000001",
            "STS.NUemulator000002"
        ]
    );
    assert!(
        keys[3..].iter().all(|k| k == "STS.NUemulator000003"),
        "{keys:?}"
    );
    assert_eq!(keys.len(), 11);
}

#[test]
fn a_failed_refresh_keeps_valid_credentials_and_expired_ones_become_an_error() {
    let (emu, clock, rt, resolution) = resolved_at_now("ALIBABA_CLOUD_CLI_PROFILE_DISABLED");
    assert_eq!(resolution.link, credentials::Link::EcsMetadata);
    let provider = resolution.provider;
    let first = resolution.lease.credentials.access_key_id.clone();
    let secret = resolution
        .lease
        .credentials
        .access_key_secret
        .expose()
        .to_string();
    drop(emu); // the metadata service goes away

    clock.advance(SignedDuration::from_mins(5 * 60 + 50)); // 10 minutes left: stale
    let lease = rt.block_on(provider.lease()).expect("still valid");
    assert_eq!(lease.credentials.access_key_id, first);
    clock.advance(SignedDuration::from_mins(11)); // expired
    let err = rt
        .block_on(provider.lease())
        .expect_err("expired and not refreshable");
    assert!(
        matches!(
            err,
            CredentialsError::Refresh {
                link: "ecs-metadata",
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("expired and could not be refreshed")
            && text.contains("no ECS instance metadata service"),
        "{text}"
    );
    assert!(!text.contains(&secret) && !format!("{err:?}").contains(&secret));
    // A client asking this provider fails before sending anything, with the same reason.
    let api = EcsClient::new(ClientConfig {
        endpoint: Endpoint::Fixed("http://127.0.0.1:9".to_string()),
        credentials: provider,
        scheme: SignatureScheme::Acs3HmacSha256,
        max_in_flight: 1,
        max_rps: None,
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        retry: RetryPolicy::default(),
    })
    .expect("client");
    let err = rt
        .block_on(api.describe_instances(&page()))
        .expect_err("no credentials");
    assert!(matches!(err, ApiError::Config(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("DescribeInstances in cn-hangzhou: the temporary credentials from the ecs-metadata link expired"),
        "{err}"
    );
}

#[test]
fn the_emulator_refuses_an_expired_sts_key_and_the_client_does_not_retry_it() {
    let emu = Emulator::start(
        "access_keys: [{id: STS.NUexpired000001, secret: expired-secret, security_token: CAISexpired, expired_time: 2020-01-01T00:00Z}]\ngenerate: {region: cn-hangzhou, count: 1}\n",
    );
    let provider = CredentialsProvider::fixed(Credentials {
        access_key_id: "STS.NUexpired000001".into(),
        access_key_secret: Secret::new("expired-secret"),
        security_token: Some(Secret::new("CAISexpired")),
        source: "environment",
    });
    let api = client(&emu, provider);
    let err = runtime()
        .block_on(api.describe_instances(&page()))
        .expect_err("expired");
    assert!(
        matches!(&err, ApiError::Service { code, http_status: 400, .. } if code == "InvalidSecurityToken.Expired"),
        "{err:?}"
    );
    let outcomes: Vec<String> = emu
        .handle()
        .requests()
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(outcomes, ["InvalidSecurityToken.Expired"]);
}

#[test]
fn after_a_failed_refresh_sts_is_asked_again_only_a_minute_later() {
    let (emu, clock, rt, resolution) = resolved_at_now("ALIBABA_CLOUD_ECS_METADATA_DISABLED");
    let provider = resolution.provider;
    let advance = |minutes: i64| {
        clock.advance(SignedDuration::from_mins(minutes));
        emu.handle()
            .advance_clock(SignedDuration::from_mins(minutes));
    };
    let key = || {
        rt.block_on(provider.lease())
            .expect("valid credentials")
            .credentials
            .access_key_id
    };
    let assume_role = || -> Vec<String> {
        emu.handle()
            .requests()
            .into_iter()
            .filter(|r| r.action == "AssumeRole")
            .map(|r| r.outcome)
            .collect()
    };
    emu.push_fault(
        Some("AssumeRole"),
        renewctl::emulator::FaultKind::ServerError,
    );
    emu.push_fault(
        Some("AssumeRole"),
        renewctl::emulator::FaultKind::ServerError,
    );
    advance(46); // stale: the refresh fails, the old key is still good
    assert_eq!(key(), "STS.NUemulator000001");
    assert_eq!(
        key(),
        "STS.NUemulator000001",
        "no second attempt within the minute"
    );
    assert_eq!(assume_role(), ["ok", "ServiceUnavailable"]);
    advance(1);
    assert_eq!(key(), "STS.NUemulator000001");
    advance(1);
    assert_eq!(key(), "STS.NUemulator000002");
    assert_eq!(
        assume_role(),
        ["ok", "ServiceUnavailable", "ServiceUnavailable", "ok"]
    );
}
