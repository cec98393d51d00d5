//! The real client against a scripted loopback server: what it sends for each action (method,
//! path, query, headers, a signature that verifies independently) and what it makes of the
//! documented answers. Failures, retries, the in-flight bound and secrets are in `failures`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;

use super::*;
use crate::cloud::ErrorClass;
use crate::credentials::Secret;
use crate::ecs::{
    AutoRenewPeriod, AutoRenewSetting, ClientToken, Mutation, PeriodUnit, RenewalPeriod,
};
use crate::observed::{ChargeType, RenewalStatus};
use crate::rpc::test_server::{
    Captured, Reply, TestServer, expected_acs3_authorization, expected_rpc_signature,
};

const SECRET: &str = "SECRET-sauce-123";
const TOKEN: &str = "CAIS+test/Token==with+slash/and=eq";

fn config(url: &str, scheme: SignatureScheme, token: Option<&str>) -> ClientConfig {
    ClientConfig {
        endpoint: Endpoint::Fixed(url.to_string()),
        credentials: Credentials {
            access_key_id: "testid".into(),
            access_key_secret: Secret::new(SECRET),
            security_token: token.map(Secret::new),
            source: "test",
        }
        .into(),
        scheme,
        max_in_flight: 4,
        max_rps: None,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            time_budget: Duration::from_secs(10),
            throttling_floor: Duration::from_millis(1),
        },
    }
}

fn client(server: &TestServer, scheme: SignatureScheme) -> EcsClient {
    EcsClient::new(config(&server.url, scheme, None)).expect("valid config")
}

fn no_retry(mut cfg: ClientConfig) -> EcsClient {
    cfg.retry.max_attempts = 1;
    EcsClient::new(cfg).expect("valid config")
}

fn page_query(number: u32) -> InstanceQuery {
    InstanceQuery {
        region: "cn-hangzhou".into(),
        paging: Paging::Page(number),
        prepaid_only: true,
        instance_ids: None,
    }
}

fn params(request: &Captured) -> BTreeMap<String, String> {
    request.query().into_iter().collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn renew_call(token: &str) -> Mutation {
    Mutation::Renew {
        region: "cn-hangzhou".into(),
        id: "i-1".into(),
        period: RenewalPeriod {
            count: 1,
            unit: PeriodUnit::Month,
        },
        token: ClientToken::from_recorded(token).expect("a token"),
    }
}

const PAGE: &str = r#"{"RequestId":"req-1","TotalCount":201,"PageNumber":2,"PageSize":100,
"NextToken":"","Instances":{"Instance":[
 {"InstanceId":"i-1","InstanceName":"web-1","RegionId":"cn-hangzhou","InstanceChargeType":"PrePaid",
  "Status":"Running","ExpiredTime":"2026-12-01T16:00Z",
  "Tags":{"Tag":[{"TagKey":"env","TagValue":"prod"}]},
  "OperationLocks":{"LockReason":[]}},
 {"InstanceId":"i-2","InstanceChargeType":"PrePaid","Status":"Stopped",
  "ExpiredTime":"2027-01-31T16:00:00Z",
  "OperationLocks":{"LockReason":[{"LockReason":"financial"}]}}]}}"#;

/// Asserts what every ACS3 request must carry, and that its signature verifies.
fn assert_acs3(request: &Captured, action: &str, port: u16, token: Option<&str>) {
    assert_eq!(request.method, "POST");
    assert_eq!(request.path(), "/");
    assert!(request.body.is_empty());
    assert_eq!(request.header("content-length"), Some("0"));
    assert_eq!(
        request.header("host"),
        Some(format!("127.0.0.1:{port}").as_str())
    );
    assert_eq!(request.header("x-acs-action"), Some(action));
    assert_eq!(request.header("x-acs-version"), Some("2014-05-26"));
    assert_eq!(
        request.header("x-acs-content-sha256"),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(request.header("user-agent"), Some(USER_AGENT));
    assert_eq!(
        USER_AGENT,
        format!("renewctl/{}", env!("CARGO_PKG_VERSION"))
    );
    let date = request.header("x-acs-date").expect("x-acs-date");
    assert_eq!(date.len(), 20, "yyyy-MM-ddTHH:mm:ssZ: {date}");
    let sent: Timestamp = date.parse().expect("a UTC time");
    let skew = Timestamp::now().duration_since(sent).as_secs().abs();
    assert!(skew < 300, "clock skew {skew}s");
    let nonce = request.header("x-acs-signature-nonce").expect("nonce");
    assert!(uuid::Uuid::parse_str(nonce).is_ok(), "{nonce}");
    assert_eq!(request.header("x-acs-security-token"), token);
    assert_eq!(
        request.header("x-acs-accesskey-id"),
        token.map(|_| "testid")
    );
    // No V1 common parameter travels with V3 (§2.2).
    for name in [
        "Action",
        "Version",
        "Signature",
        "AccessKeyId",
        "SignatureNonce",
    ] {
        assert_eq!(request.param(name), None, "{name}");
    }
    let authorization = request.header("authorization").expect("signed");
    assert_eq!(
        authorization,
        expected_acs3_authorization(request, "testid", SECRET)
    );
    // host and every x-acs-* header sent are signed.
    let signed: BTreeSet<&str> = authorization
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .expect("SignedHeaders")
        .split(';')
        .collect();
    assert!(signed.contains("host"));
    for (name, _) in &request.headers {
        let name = name.to_ascii_lowercase();
        if name.starts_with("x-acs-") {
            assert!(signed.contains(name.as_str()), "{name} unsigned");
        }
    }
}

#[tokio::test]
async fn acs3_describe_instances_is_sent_like_the_sdk_and_decoded_to_snapshots() {
    let server = TestServer::always(Reply::json(200, PAGE)).await;
    let page = client(&server, SignatureScheme::Acs3HmacSha256)
        .describe_instances(&page_query(2))
        .await
        .expect("a page");
    assert_eq!(page.total_count, 201);
    assert_eq!(page.next_token, None, "an empty NextToken is no token");
    assert_eq!(page.request_id, "req-1");
    assert_eq!(page.instances.len(), 2);
    let (a, b) = (&page.instances[0], &page.instances[1]);
    assert_eq!(a.region, "cn-hangzhou");
    assert_eq!(a.instance_name, "web-1");
    assert_eq!(a.charge_type, ChargeType::PrePaid);
    assert_eq!(a.tags.get("env").map(String::as_str), Some("prod"));
    assert!(a.locks.is_empty());
    assert_eq!(crate::time::format_api(a.expired_time), "2026-12-01T16:00Z");
    assert_eq!(crate::time::format_api(b.expired_time), "2027-01-31T16:00Z");
    assert_eq!(b.locks, vec!["financial".to_string()]);
    assert_eq!(b.status, "Stopped");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_acs3(&requests[0], "DescribeInstances", server.port, None);
    assert_eq!(
        params(&requests[0]),
        map(&[
            ("RegionId", "cn-hangzhou"),
            ("InstanceChargeType", "PrePaid"),
            ("PageNumber", "2"),
            ("PageSize", "100"),
        ])
    );
}

#[tokio::test]
async fn token_paging_and_id_lookup_send_max_results_next_token_and_a_json_array() {
    let server = TestServer::always(Reply::json(
        200,
        r#"{"RequestId":"r","NextToken":"tok-3","Instances":{"Instance":[
        {"InstanceId":"i-b","InstanceChargeType":"PostPaid","Status":"Running"}]}}"#,
    ))
    .await;
    let client = client(&server, SignatureScheme::Acs3HmacSha256);
    let query = InstanceQuery {
        region: "cn-shanghai".into(),
        paging: Paging::Token(Some("tok-2".into())),
        prepaid_only: false,
        instance_ids: Some(vec!["i-a".into(), "i-b".into()]),
    };
    let page = client.describe_instances(&query).await.expect("a page");
    assert_eq!(page.next_token.as_deref(), Some("tok-3"));
    assert_eq!(
        page.total_count, 0,
        "TotalCount means nothing with NextToken"
    );
    assert_eq!(page.instances[0].charge_type, ChargeType::PostPaid);
    let first = InstanceQuery {
        paging: Paging::Token(None),
        instance_ids: None,
        ..query.clone()
    };
    client.describe_instances(&first).await.expect("a page");

    let requests = server.requests();
    assert_eq!(
        params(&requests[0]),
        map(&[
            ("RegionId", "cn-shanghai"),
            ("InstanceIds", r#"["i-a","i-b"]"#),
            ("MaxResults", "100"),
            ("NextToken", "tok-2"),
        ])
    );
    assert_eq!(
        params(&requests[1]),
        map(&[("RegionId", "cn-shanghai"), ("MaxResults", "100")])
    );
    for request in &requests {
        assert_acs3(request, "DescribeInstances", server.port, None);
    }
}

#[tokio::test]
async fn page_paging_needs_a_total_count() {
    let server = TestServer::always(Reply::json(
        200,
        r#"{"RequestId":"r","Instances":{"Instance":[]}}"#,
    ))
    .await;
    let err = client(&server, SignatureScheme::Acs3HmacSha256)
        .describe_instances(&page_query(1))
        .await
        .expect_err("TotalCount is what concurrent paging rests on");
    assert!(err.to_string().contains("TotalCount"), "{err}");
}

#[tokio::test]
async fn describe_auto_renew_sends_a_comma_list_and_reads_the_attributes() {
    let server = TestServer::always(Reply::json(
        200,
        r#"{"RequestId":"r","PageNumber":1,"PageSize":100,"TotalCount":2,
        "InstanceRenewAttributes":{"InstanceRenewAttribute":[
        {"InstanceId":"i-a","AutoRenewEnabled":true,"Duration":1,"PeriodUnit":"Year","RenewalStatus":"AutoRenewal"},
        {"InstanceId":"i-b","AutoRenewEnabled":false,"Duration":0,"PeriodUnit":"month","RenewalStatus":"Normal"}]}}"#,
    ))
    .await;
    let client = client(&server, SignatureScheme::Acs3HmacSha256);
    let ids = vec!["i-a".to_string(), "i-b".to_string()];
    let got = client
        .describe_auto_renew("cn-hangzhou", &ids)
        .await
        .expect("attributes");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, "i-a");
    assert_eq!(got[0].1.status, RenewalStatus::AutoRenewal);
    assert_eq!(
        (got[0].1.duration, got[0].1.period_unit.as_str()),
        (1, "Year")
    );
    assert_eq!(got[1].1.status, RenewalStatus::Normal);
    assert_eq!(got[1].1.period_unit, "month");
    let requests = server.requests();
    assert_acs3(
        &requests[0],
        "DescribeInstanceAutoRenewAttribute",
        server.port,
        None,
    );
    assert_eq!(
        params(&requests[0]),
        map(&[
            ("RegionId", "cn-hangzhou"),
            ("InstanceId", "i-a,i-b"),
            ("PageSize", "100"),
        ])
    );
}

#[tokio::test]
async fn oversized_batches_are_refused_before_any_request() {
    let server = TestServer::always(Reply::json(200, PAGE)).await;
    let client = client(&server, SignatureScheme::Acs3HmacSha256);
    let ids: Vec<String> = (0..101).map(|n| format!("i-{n}")).collect();
    let err = client
        .describe_auto_renew("cn-hangzhou", &ids)
        .await
        .expect_err("101 ids");
    assert!(matches!(err, ApiError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("101"), "{err}");
    let query = InstanceQuery {
        instance_ids: Some(ids),
        ..page_query(1)
    };
    let err = client
        .describe_instances(&query)
        .await
        .expect_err("101 ids");
    assert!(matches!(err, ApiError::Config(_)), "{err:?}");
    assert!(
        client
            .describe_auto_renew("cn-hangzhou", &[])
            .await
            .expect("no ids, no attributes")
            .is_empty()
    );
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn rpc_renewal_with_sts_signs_every_parameter_and_reads_a_numeric_order_id() {
    let server = TestServer::always(Reply::json(
        200,
        r#"{"RequestId":"req-9","OrderId":208899912345}"#,
    ))
    .await;
    let client = EcsClient::new(config(
        &server.url,
        SignatureScheme::RpcHmacSha1,
        Some(TOKEN),
    ))
    .expect("valid");
    let outcome = client
        .execute(&renew_call("renewctl-abc"))
        .await
        .expect("renewed");
    assert_eq!(outcome.request_id, "req-9");
    assert_eq!(outcome.order_id.as_deref(), Some("208899912345"));

    let request = &server.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path(), "/");
    assert!(request.body.is_empty());
    assert_eq!(request.header("content-length"), Some("0"));
    assert_eq!(request.header("authorization"), None);
    let mut sent = params(request);
    let signature = sent.remove("Signature").expect("a signature");
    assert_eq!(
        signature,
        expected_rpc_signature("POST", &request.query(), SECRET)
    );
    let nonce = sent.remove("SignatureNonce").expect("a nonce");
    assert!(uuid::Uuid::parse_str(&nonce).is_ok(), "{nonce}");
    let timestamp = sent.remove("Timestamp").expect("a timestamp");
    assert_eq!(timestamp.len(), 20, "{timestamp}");
    assert!(timestamp.parse::<Timestamp>().is_ok(), "{timestamp}");
    // The call's parameters exactly (no RegionId: RenewInstance has none), plus the common ones.
    assert_eq!(
        sent,
        map(&[
            ("Action", "RenewInstance"),
            ("Version", "2014-05-26"),
            ("Format", "JSON"),
            ("AccessKeyId", "testid"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SecurityToken", TOKEN),
            ("InstanceId", "i-1"),
            ("Period", "1"),
            ("PeriodUnit", "Month"),
            ("ClientToken", "renewctl-abc"),
        ])
    );
    // Spaces and reserved characters travel as RFC 3986 escapes, never as `+`.
    assert!(
        request
            .target
            .contains("SecurityToken=CAIS%2Btest%2FToken%3D%3D")
    );
}

#[tokio::test]
async fn acs3_modify_sends_the_call_params_exactly_with_sts_headers() {
    let server = TestServer::always(Reply::json(200, r#"{"RequestId":"req-m"}"#)).await;
    let client = EcsClient::new(config(
        &server.url,
        SignatureScheme::Acs3HmacSha256,
        Some(TOKEN),
    ))
    .expect("valid");
    let call = Mutation::ModifyAutoRenew {
        region: "cn-hangzhou".into(),
        ids: vec!["i-1".into(), "i-7".into()],
        setting: AutoRenewSetting::Auto(AutoRenewPeriod {
            duration: 12,
            unit: PeriodUnit::Month,
        }),
    };
    let outcome = client.execute(&call).await.expect("modified");
    assert_eq!(outcome.request_id, "req-m");
    assert_eq!(outcome.order_id, None);
    let request = &server.requests()[0];
    assert_acs3(
        request,
        "ModifyInstanceAutoRenewAttribute",
        server.port,
        Some(TOKEN),
    );
    assert_eq!(params(request), call.params());
    assert_eq!(
        params(request),
        map(&[
            ("AutoRenew", "true"),
            ("Duration", "12"),
            ("InstanceId", "i-1,i-7"),
            ("PeriodUnit", "Month"),
            ("RegionId", "cn-hangzhou"),
            ("RenewalStatus", "AutoRenewal"),
        ])
    );
}

#[path = "client_failure_tests.rs"]
mod failures;

#[test]
fn no_request_parameter_collides_with_the_signature_s() {
    let modify = Mutation::ModifyAutoRenew {
        region: "cn-hangzhou".into(),
        ids: vec!["i-1".into()],
        setting: AutoRenewSetting::Auto(AutoRenewPeriod {
            duration: 1,
            unit: PeriodUnit::Week,
        }),
    };
    for mutation in [renew_call("renewctl-abc"), modify] {
        for name in mutation.params().keys() {
            assert!(
                !crate::rpc::request::RESERVED_PARAMS.contains(&name.as_str()),
                "{name}"
            );
        }
    }
}
