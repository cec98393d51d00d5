//! The real client against a scripted loopback server: what it sends (method, path, query,
//! headers, a signature that verifies independently), what it makes of each kind of answer,
//! when it retries, its bound on requests in flight, and that no secret reaches an error.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::*;
use crate::cloud::ErrorClass;
use crate::cloud::test_server::{
    Captured, Reply, TestServer, expected_acs3_authorization, expected_rpc_signature,
};
use crate::credentials::Secret;
use crate::observed::{ChargeType, RenewalStatus};
use crate::plan::calls::ApiAction;

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
        },
        scheme,
        max_in_flight: 4,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            time_budget: Duration::from_secs(10),
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

fn renew_call(token: Option<&str>) -> Call {
    let mut params = map(&[
        ("InstanceId", "i-1"),
        ("Period", "1"),
        ("PeriodUnit", "Month"),
    ]);
    if let Some(token) = token {
        params.insert("ClientToken".into(), token.into());
    }
    Call {
        region: "cn-hangzhou".into(),
        action: ApiAction::RenewInstance,
        params,
        phase: 2,
        changes: vec![0],
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
        .execute(&renew_call(Some("renewctl-abc")))
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
    let call = Call {
        region: "cn-hangzhou".into(),
        action: ApiAction::ModifyInstanceAutoRenewAttribute,
        params: map(&[
            ("RegionId", "cn-hangzhou"),
            ("InstanceId", "i-1,i-7"),
            ("RenewalStatus", "AutoRenewal"),
            ("Duration", "12"),
            ("PeriodUnit", "Month"),
        ]),
        phase: 3,
        changes: vec![0, 1],
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
    assert_eq!(params(request), call.params);
}

#[tokio::test]
async fn a_call_using_a_signature_parameter_name_is_refused() {
    let server = TestServer::always(Reply::json(200, r#"{"RequestId":"r"}"#)).await;
    let mut call = renew_call(None);
    call.params.insert("Action".into(), "DeleteInstance".into());
    let err = client(&server, SignatureScheme::RpcHmacSha1)
        .execute(&call)
        .await
        .expect_err("reserved");
    assert!(err.to_string().contains("reserved"), "{err}");
    assert!(server.requests().is_empty());
}

/// Sends one DescribeInstances (no retry) to a server giving `reply`, returns the error.
async fn describe_error(reply: Reply) -> ApiError {
    let server = TestServer::always(reply).await;
    let client = no_retry(config(&server.url, SignatureScheme::Acs3HmacSha256, None));
    let err = client
        .describe_instances(&page_query(1))
        .await
        .expect_err("an error");
    assert_eq!(server.requests().len(), 1);
    err
}

#[tokio::test]
async fn every_kind_of_bad_answer_becomes_the_right_error() {
    // JSON error bodies, in both spellings, keep their status, code, message and request id.
    let err = describe_error(Reply::json(
        400,
        r#"{"RequestId":"R-1","HostId":"ecs","Code":"Throttling.User","Message":"Request was denied due to user flow control."}"#,
    ))
    .await;
    match &err {
        ApiError::Service {
            action,
            region,
            http_status,
            code,
            message,
            request_id,
        } => {
            assert_eq!(
                (action.as_str(), region.as_str()),
                ("DescribeInstances", "cn-hangzhou")
            );
            assert_eq!(*http_status, 400);
            assert_eq!(code, "Throttling.User");
            assert!(message.contains("flow control"));
            assert_eq!(request_id, "R-1");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.class(), ErrorClass::Throttling);
    let err = describe_error(Reply::json(
        404,
        r#"{"requestId":"R-2","code":"InvalidApi.NotFound","message":"not found"}"#,
    ))
    .await;
    assert!(
        matches!(&err, ApiError::Service { http_status: 404, request_id, .. } if request_id == "R-2"),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Client);
    let err = describe_error(Reply::json(
        503,
        r#"{"RequestId":"R-3","Code":"ServiceUnavailable","Message":"m"}"#,
    ))
    .await;
    assert!(
        matches!(
            err,
            ApiError::Service {
                http_status: 503,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Server);
    // A 200 that carries an error code is an error.
    let err = describe_error(Reply::json(
        200,
        r#"{"RequestId":"R-4","Code":"InternalError","Message":"m"}"#,
    ))
    .await;
    assert!(
        matches!(
            err,
            ApiError::Service {
                http_status: 200,
                ..
            }
        ),
        "{err:?}"
    );
    // Anything else is a decode error quoting the start of the body.
    let err = describe_error(Reply::html(
        502,
        "<html><body>502 Bad Gateway</body></html>",
    ))
    .await;
    assert!(
        matches!(&err, ApiError::Decode { http_status: 502, excerpt, .. } if excerpt.contains("502 Bad Gateway")),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Server);
    let err = describe_error(Reply::json(
        200,
        r#"{"RequestId":"R","TotalCount":1,"Instances":{"Inst"#,
    ))
    .await;
    assert!(
        matches!(
            err,
            ApiError::Decode {
                http_status: 200,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("not JSON"), "{err}");
    let err = describe_error(Reply::json(200, r#"{"RequestId":"R","TotalCount":1}"#)).await;
    assert!(err.to_string().contains("Instances"), "{err}");
    let err = describe_error(Reply::json(
        200,
        r#"{"RequestId":"R","TotalCount":"many","Instances":{"Instance":[]}}"#,
    ))
    .await;
    assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
    let err = describe_error(Reply::json(
        200,
        r#"{"RequestId":"R","TotalCount":1,"Instances":{"Instance":[{"InstanceId":"i-x","InstanceChargeType":"PrePaid","ExpiredTime":"next week"}]}}"#,
    ))
    .await;
    assert!(
        matches!(&err, ApiError::Decode { message, excerpt, .. } if message.contains("i-x") && excerpt.contains("next week")),
        "{err:?}"
    );
    let err = describe_error(Reply::json(400, r#"{"Message":"no code"}"#)).await;
    assert!(
        matches!(
            err,
            ApiError::Decode {
                http_status: 400,
                ..
            }
        ),
        "{err:?}"
    );
    // A redirect is reported, not followed with the signed request.
    let err = describe_error(
        Reply::html(302, "moved").with_header("location", "http://127.0.0.1:1/elsewhere"),
    )
    .await;
    assert!(
        matches!(
            err,
            ApiError::Decode {
                http_status: 302,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn transport_failures_name_the_endpoint_but_never_the_query() {
    let server = TestServer::always(Reply::json(200, PAGE).after(Duration::from_secs(5))).await;
    let mut cfg = config(&server.url, SignatureScheme::RpcHmacSha1, None);
    cfg.request_timeout = Duration::from_millis(200);
    let started = Instant::now();
    let err = no_retry(cfg)
        .describe_instances(&page_query(1))
        .await
        .expect_err("timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
    match &err {
        ApiError::Transport {
            endpoint, message, ..
        } => {
            assert_eq!(endpoint, &format!("{}/", server.url));
            assert!(message.contains("timed out"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.class(), ErrorClass::Transient);
    let text = format!("{err} {err:?}");
    assert!(!text.contains('?') && !text.contains("Signature"), "{text}");

    let server = TestServer::always(Reply::Drop).await;
    let err = no_retry(config(&server.url, SignatureScheme::RpcHmacSha1, None))
        .describe_instances(&page_query(1))
        .await
        .expect_err("dropped");
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("Signature"));

    // Nothing listens on a port just released.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let err = no_retry(config(
        &format!("http://127.0.0.1:{port}"),
        SignatureScheme::Acs3HmacSha256,
        None,
    ))
    .describe_instances(&page_query(1))
    .await
    .expect_err("refused");
    assert!(
        matches!(&err, ApiError::Transport { message, .. } if message.contains("could not connect")),
        "{err:?}"
    );
}

#[tokio::test]
async fn reads_are_retried_with_a_fresh_signature_each_time() {
    let server = TestServer::script(vec![
        Reply::json(
            503,
            r#"{"Code":"ServiceUnavailable","Message":"m","RequestId":"R"}"#,
        ),
        Reply::Drop,
        Reply::json(200, PAGE),
    ])
    .await;
    let page = client(&server, SignatureScheme::Acs3HmacSha256)
        .describe_instances(&page_query(2))
        .await
        .expect("third time lucky");
    assert_eq!(page.total_count, 201);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let nonces: BTreeSet<&str> = requests
        .iter()
        .map(|r| r.header("x-acs-signature-nonce").expect("nonce"))
        .collect();
    assert_eq!(nonces.len(), 3, "a new nonce per attempt");
    for request in &requests {
        assert_acs3(request, "DescribeInstances", server.port, None);
    }
}

#[tokio::test]
async fn a_renewal_is_repeated_after_an_ambiguous_failure_only_with_its_client_token() {
    let failing = || {
        vec![
            Reply::json(
                500,
                r#"{"Code":"InternalError","Message":"m","RequestId":"R"}"#,
            ),
            Reply::json(200, r#"{"RequestId":"R2","OrderId":"42"}"#),
        ]
    };
    let server = TestServer::script(failing()).await;
    let err = client(&server, SignatureScheme::RpcHmacSha1)
        .execute(&renew_call(None))
        .await
        .expect_err("not repeated without a token");
    assert_eq!(err.code(), Some("InternalError"));
    assert_eq!(server.requests().len(), 1);

    let server = TestServer::script(failing()).await;
    let outcome = client(&server, SignatureScheme::RpcHmacSha1)
        .execute(&renew_call(Some("tok-1")))
        .await
        .expect("repeated with the token");
    assert_eq!(outcome.order_id.as_deref(), Some("42"));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.param("ClientToken").as_deref(), Some("tok-1"));
        assert_eq!(
            request.param("Signature").expect("signed"),
            expected_rpc_signature("POST", &request.query(), SECRET)
        );
    }
    assert_ne!(
        requests[0].param("SignatureNonce"),
        requests[1].param("SignatureNonce")
    );

    // A dropped connection is just as ambiguous.
    let server =
        TestServer::script(vec![Reply::Drop, Reply::json(200, r#"{"RequestId":"R"}"#)]).await;
    client(&server, SignatureScheme::Acs3HmacSha256)
        .execute(&renew_call(None))
        .await
        .expect_err("not repeated without a token");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn client_errors_are_never_retried_and_modify_is_retried_on_server_errors() {
    let server = TestServer::always(Reply::json(
        403,
        r#"{"Code":"InvalidAccountStatus.NotEnoughBalance","Message":"m","RequestId":"R"}"#,
    ))
    .await;
    let err = client(&server, SignatureScheme::Acs3HmacSha256)
        .execute(&renew_call(Some("tok")))
        .await
        .expect_err("no money");
    assert_eq!(err.class(), ErrorClass::Client);
    assert_eq!(server.requests().len(), 1);

    let server = TestServer::script(vec![
        Reply::json(
            500,
            r#"{"Code":"InternalError","Message":"m","RequestId":"R"}"#,
        ),
        Reply::json(200, r#"{"RequestId":"R2"}"#),
    ])
    .await;
    let call = Call {
        action: ApiAction::ModifyInstanceAutoRenewAttribute,
        params: map(&[
            ("RegionId", "cn-hangzhou"),
            ("InstanceId", "i-1"),
            ("RenewalStatus", "Normal"),
        ]),
        ..renew_call(None)
    };
    client(&server, SignatureScheme::Acs3HmacSha256)
        .execute(&call)
        .await
        .expect("sets a state: harmless to repeat");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn throttling_waits_what_x_acs_retry_after_asks() {
    let server = TestServer::script(vec![
        Reply::json(
            400,
            r#"{"Code":"Throttling","Message":"m","RequestId":"R"}"#,
        )
        .with_header("x-acs-retry-after", "300"),
        Reply::json(200, PAGE),
    ])
    .await;
    let started = Instant::now();
    client(&server, SignatureScheme::Acs3HmacSha256)
        .describe_instances(&page_query(2))
        .await
        .expect("after the wait");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(
        waited < Duration::from_millis(1000),
        "the 1 s floor applies only without the header: {waited:?}"
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn requests_in_flight_never_exceed_the_bound() {
    let server = TestServer::always(Reply::json(200, PAGE).after(Duration::from_millis(150))).await;
    let mut cfg = config(&server.url, SignatureScheme::Acs3HmacSha256, None);
    cfg.max_in_flight = 2;
    let client = EcsClient::new(cfg).expect("valid");
    let queries: Vec<InstanceQuery> = (1..=6).map(page_query).collect();
    let results =
        futures_util::future::join_all(queries.iter().map(|q| client.describe_instances(q))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(server.requests().len(), 6);
    assert_eq!(
        server.max_concurrent(),
        2,
        "bounded, and actually concurrent"
    );
}

#[tokio::test]
async fn endpoints_are_checked_when_the_client_is_built() {
    let base = config(
        "http://127.0.0.1:8787",
        SignatureScheme::Acs3HmacSha256,
        None,
    );
    for url in [
        "http://127.0.0.1:8787",
        "http://localhost:1",
        "http://[::1]:2",
        "https://ecs.example.com",
    ] {
        let cfg = ClientConfig {
            endpoint: Endpoint::Fixed(url.into()),
            ..base.clone()
        };
        assert!(EcsClient::new(cfg).is_ok(), "{url}");
    }
    let cfg = ClientConfig {
        endpoint: Endpoint::Fixed("http://ecs.example.com".into()),
        ..base.clone()
    };
    let err = EcsClient::new(cfg).expect_err("plain http off loopback");
    assert!(
        matches!(&err, ApiError::Config(m) if m.contains("loopback")),
        "{err:?}"
    );
    let regional = EcsClient::new(ClientConfig {
        endpoint: Endpoint::Regional,
        ..base.clone()
    })
    .expect("valid");
    let err = regional
        .describe_instances(&InstanceQuery {
            region: "cn-hangzhou.evil.example".into(),
            ..page_query(1)
        })
        .await
        .expect_err("not a region id");
    assert!(matches!(err, ApiError::Config(_)), "{err:?}");
    let mut empty = base.clone();
    empty.credentials.access_key_secret = Secret::new("");
    assert!(matches!(EcsClient::new(empty), Err(ApiError::Config(_))));
}

/// Answers with everything the request carried, in the shape `make` gives it.
async fn echo_server(make: fn(String) -> Reply) -> TestServer {
    TestServer::start(move |request, _| {
        let mut echo = request.target.clone();
        for (name, value) in &request.headers {
            echo.push_str(&format!(" {name}={value}"));
        }
        make(echo)
    })
    .await
}

fn assert_no_secret(text: &str) {
    for secret in [
        SECRET,
        TOKEN,
        "CAIS%2Btest%2FToken%3D%3Dwith%2Bslash%2Fand%3Deq",
        "Signature=",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into: {text}");
    }
}

#[tokio::test]
async fn no_secret_reaches_debug_display_or_any_error() {
    for scheme in [
        SignatureScheme::RpcHmacSha1,
        SignatureScheme::Acs3HmacSha256,
    ] {
        let cfg = config("http://127.0.0.1:9", scheme, Some(TOKEN));
        assert_no_secret(&format!("{cfg:?}"));
        assert_no_secret(&format!(
            "{:?}",
            EcsClient::new(cfg.clone()).expect("valid")
        ));

        let makers: [fn(String) -> Reply; 4] = [
            |echo| {
                Reply::json(
                    400,
                    &serde_json::json!({"Code": "Bad", "Message": echo, "RequestId": "R"})
                        .to_string(),
                )
            },
            |echo| {
                Reply::json(
                    200,
                    &serde_json::json!({"Code": echo, "Message": echo}).to_string(),
                )
            },
            |echo| Reply::html(502, &format!("<html>{echo}</html>")),
            |echo| {
                Reply::json(200, &serde_json::json!({"RequestId": "R", "TotalCount": echo, "Instances": {"Instance": []}}).to_string())
            },
        ];
        let mut kinds = std::collections::HashSet::new();
        for make in makers {
            let server = echo_server(make).await;
            let client = no_retry(config(&server.url, scheme, Some(TOKEN)));
            let err = client
                .describe_instances(&page_query(1))
                .await
                .expect_err("fails");
            kinds.insert(std::mem::discriminant(&err));
            assert_no_secret(&format!("{err} {err:?}"));
            // The echo did carry the token: the check above is not vacuous.
            let seen = server.requests();
            let carried = seen[0]
                .header("x-acs-security-token")
                .map(str::to_string)
                .or_else(|| seen[0].param("SecurityToken"));
            assert_eq!(carried.as_deref(), Some(TOKEN));
        }
        let server = TestServer::always(Reply::json(200, PAGE).after(Duration::from_secs(5))).await;
        let mut slow = config(&server.url, scheme, Some(TOKEN));
        slow.request_timeout = Duration::from_millis(100);
        let err = no_retry(slow)
            .describe_instances(&page_query(1))
            .await
            .expect_err("timeout");
        kinds.insert(std::mem::discriminant(&err));
        assert_no_secret(&format!("{err} {err:?}"));
        let err = no_retry(config(&server.url, scheme, Some(TOKEN)))
            .describe_auto_renew("cn-hangzhou", &[String::new()])
            .await
            .expect_err("config");
        kinds.insert(std::mem::discriminant(&err));
        assert_no_secret(&format!("{err} {err:?}"));
        assert_eq!(
            kinds.len(),
            4,
            "Service, Decode, Transport and Config were all checked"
        );
    }
}
