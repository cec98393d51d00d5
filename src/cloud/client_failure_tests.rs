//! The real client against a scripted loopback server when things go wrong: each kind of bad
//! answer and transport failure becomes the right typed error, retries follow the policy (and a
//! renewal is repeated only with its ClientToken), requests in flight stay bounded, endpoints are
//! checked up front, and no secret reaches Debug, Display or any error.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::*;

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
    // One instance whose expiry cannot be read does not fail the answer: it comes back as
    // unreadable (the plan names it; the rest of the page is planned), never with a made-up
    // expiry.
    let server = TestServer::always(Reply::json(
        200,
        r#"{"RequestId":"R","TotalCount":2,"Instances":{"Instance":[{"InstanceId":"i-x","InstanceChargeType":"PrePaid","ExpiredTime":"next week","Tags":{"Tag":[{"TagKey":"env","TagValue":"prod"}]}},{"InstanceId":"i-y","InstanceChargeType":"PrePaid","ExpiredTime":"2026-12-01T16:00Z"}]}}"#,
    ))
    .await;
    let client = no_retry(config(&server.url, SignatureScheme::Acs3HmacSha256, None));
    let page = client
        .describe_instances(&page_query(1))
        .await
        .expect("a page");
    assert_eq!(page.instances.len(), 1);
    assert_eq!(page.instances[0].instance_id, "i-y");
    assert_eq!(page.unreadable.len(), 1);
    let bad = &page.unreadable[0];
    assert_eq!(bad.instance_id, "i-x");
    assert_eq!(bad.tags.get("env").map(String::as_str), Some("prod"));
    assert!(bad.reason.contains("next week"), "{}", bad.reason);
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
            // The bounds that ran out are named.
            assert!(message.contains("request timeout 200ms"), "{message}");
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
async fn a_renewal_is_repeated_after_an_ambiguous_failure_with_its_client_token() {
    let failing = || {
        vec![
            Reply::json(
                500,
                r#"{"Code":"InternalError","Message":"m","RequestId":"R"}"#,
            ),
            Reply::json(200, r#"{"RequestId":"R2","OrderId":"42"}"#),
        ]
    };
    // A renewal always carries its token (the type has no renewal without one; the retry
    // policy's refusal to repeat one without a token is tested in rpc::retry).
    let server = TestServer::script(failing()).await;
    let outcome = client(&server, SignatureScheme::RpcHmacSha1)
        .execute(&renew_call("tok-1"))
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

    // A dropped connection is just as ambiguous: repeated with the same token.
    let server =
        TestServer::script(vec![Reply::Drop, Reply::json(200, r#"{"RequestId":"R"}"#)]).await;
    client(&server, SignatureScheme::Acs3HmacSha256)
        .execute(&renew_call("tok-2"))
        .await
        .expect("repeated with its token");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests
            .iter()
            .all(|r| r.param("ClientToken").as_deref() == Some("tok-2"))
    );
}

#[tokio::test]
async fn client_errors_are_never_retried_and_modify_is_retried_on_server_errors() {
    let server = TestServer::always(Reply::json(
        403,
        r#"{"Code":"InvalidAccountStatus.NotEnoughBalance","Message":"m","RequestId":"R"}"#,
    ))
    .await;
    let err = client(&server, SignatureScheme::Acs3HmacSha256)
        .execute(&renew_call("tok"))
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
    let call = Mutation::ModifyAutoRenew {
        region: "cn-hangzhou".into(),
        ids: vec!["i-1".into()],
        setting: AutoRenewSetting::Manual,
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

/// Answers above `DECODE_APART` are decoded on a task of their own, with the same outcomes.
#[tokio::test]
async fn large_answers_are_decoded_apart_with_the_same_outcomes() {
    let padding = "x".repeat(DECODE_APART);
    // A large page: read in full, the unknown key ignored.
    let big_page = PAGE.replacen('{', &format!("{{\"Padding\":\"{padding}\","), 1);
    let server = TestServer::always(Reply::json(200, &big_page)).await;
    let client = no_retry(config(&server.url, SignatureScheme::Acs3HmacSha256, None));
    let page = client
        .describe_instances(&page_query(2))
        .await
        .expect("a large page decodes");
    assert_eq!(page.instances.len(), 2);
    // A large error body in a success status is still the service's error.
    let err = describe_error(Reply::json(
        200,
        &format!(r#"{{"RequestId":"R","Code":"InternalError","Message":"{padding}"}}"#),
    ))
    .await;
    assert_eq!(err.code(), Some("InternalError"), "{err:?}");
    // A large HTML page is a decode error quoting its start.
    let err = describe_error(Reply::html(
        502,
        &format!("<html><body>502 Bad Gateway {padding}</body></html>"),
    ))
    .await;
    assert!(
        matches!(&err, ApiError::Decode { http_status: 502, excerpt, .. } if excerpt.contains("502 Bad Gateway")),
        "{err:?}"
    );
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
    empty.credentials = Credentials {
        access_key_id: "testid".into(),
        access_key_secret: Secret::new(""),
        security_token: None,
        source: "test",
    }
    .into();
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
