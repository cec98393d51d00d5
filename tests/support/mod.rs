//! Fixtures: a fixed "now", instance snapshots, configs from YAML text.

#![allow(dead_code)]

pub mod cli;
pub mod cmd;
pub mod emulator;
pub mod receiver;

/// A RenewInstance of `months` months in cn-hangzhou with a token given as text.
pub fn renew_mutation(id: &str, months: u32, token: &str) -> renewctl::ecs::Mutation {
    use renewctl::ecs::{ClientToken, Mutation, PeriodUnit, RenewalPeriod};
    Mutation::Renew {
        region: "cn-hangzhou".into(),
        id: id.into(),
        period: RenewalPeriod {
            count: months,
            unit: PeriodUnit::Month,
        },
        token: ClientToken::from_recorded(token).expect("a token"),
    }
}

/// The real client for an emulator's endpoint with its demo key, and a fast retry policy of
/// `attempts` attempts (milliseconds apart, so fault tests are quick) and `request_timeout`.
pub fn fast_client(
    endpoint: String,
    attempts: u32,
    request_timeout: std::time::Duration,
) -> renewctl::cloud::EcsClient {
    use renewctl::cloud::{ClientConfig, EcsClient, Endpoint, SignatureScheme};
    use renewctl::credentials::{Credentials, Secret};
    use renewctl::rpc::retry::RetryPolicy;
    use std::time::Duration;
    EcsClient::new(ClientConfig {
        endpoint: Endpoint::Fixed(endpoint),
        credentials: Credentials {
            access_key_id: "LTAIdemo".into(),
            access_key_secret: Secret::new("demo-secret"),
            security_token: None,
            source: "test",
        }
        .into(),
        max_rps: None,
        scheme: SignatureScheme::Acs3HmacSha256,
        max_in_flight: 8,
        connect_timeout: Duration::from_secs(2),
        request_timeout,
        retry: RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
            time_budget: Duration::from_secs(10),
            throttling_floor: Duration::from_millis(5),
        },
    })
    .expect("client")
}

use jiff::{Timestamp, ToSpan};
use renewctl::desired::{self, Config};
use renewctl::observed::{
    ChargeType, InstanceSnapshot, ObservedState, RenewalAttribute, RenewalStatus,
};

/// 2026-11-23 12:00 UTC.
pub fn now() -> Timestamp {
    "2026-11-23T12:00:00Z".parse().expect("valid timestamp")
}

/// `now` plus `days` (negative for the past).
pub fn in_days(days: i64) -> Timestamp {
    now().checked_add((days * 24).hours()).expect("in range")
}

/// Rendered text without its colour codes, as a pipe shows it.
pub fn plain(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

pub fn config(yaml: &str) -> Config {
    match desired::parse(yaml.as_bytes(), "renewal.yaml") {
        Ok(config) => config,
        Err(err) => panic!("fixture config is invalid:\n{err}"),
    }
}

/// A PrePaid instance in cn-hangzhou with the given tags, expiring in `days`, renewal Normal.
pub fn instance(id: &str, tags: &[(&str, &str)], days: i64) -> InstanceSnapshot {
    InstanceSnapshot {
        region: "cn-hangzhou".to_string(),
        instance_id: id.to_string(),
        instance_name: format!("name-{id}"),
        charge_type: ChargeType::PrePaid,
        status: "Running".to_string(),
        expired_time: in_days(days),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<renewctl::observed::Tags>(),
        locks: Vec::new(),
        renewal: Some(RenewalAttribute {
            status: RenewalStatus::Normal,
            duration: 0,
            period_unit: "Month".to_string(),
        }),
    }
}

/// Sets the observed renewal attribute.
pub fn with_renewal(
    mut instance: InstanceSnapshot,
    status: &str,
    duration: u32,
    unit: &str,
) -> InstanceSnapshot {
    instance.renewal = Some(RenewalAttribute {
        status: RenewalStatus::from_api(status),
        duration,
        period_unit: unit.to_string(),
    });
    instance
}

pub fn in_region(mut instance: InstanceSnapshot, region: &str) -> InstanceSnapshot {
    instance.region = region.to_string();
    instance
}

pub fn observed(instances: Vec<InstanceSnapshot>) -> ObservedState {
    ObservedState {
        regions: vec!["cn-hangzhou".to_string(), "cn-shanghai".to_string()],
        instances,
        looked_up: Vec::new(),
        not_found: Vec::new(),
        read_calls: 2,
        ..ObservedState::default()
    }
}
