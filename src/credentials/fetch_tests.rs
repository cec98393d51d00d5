//! What the STS and metadata fetches send, and what they make of answers the emulator never
//! gives: pages that are not JSON, error bodies, empty or unreadable credentials, refusals. Each
//! runs against the cloud module's scripted loopback server, and no message may quote a secret.

use std::time::Duration;

use super::ecs_metadata::{self, MetadataRequest};
use super::source::FetchError;
use super::sts::{self, RoleRequest};
use super::vars::Environment;
use super::{Credentials, Secret};
use crate::rpc::test_server::{Reply, TestServer, expected_rpc_signature};

const GOOD: &str = r#"{"RequestId":"R","AssumedRoleUser":{"Arn":"a","AssumedRoleId":"b"},
"Credentials":{"AccessKeyId":"STS.issued","AccessKeySecret":"issued-secret","SecurityToken":"issued-token","Expiration":"2026-11-23T13:00:00Z"}}"#;

fn now() -> jiff::Timestamp {
    "2026-11-23T12:00:00Z".parse().expect("time")
}

fn endpoint(server: &TestServer) -> sts::StsEndpoint {
    let env = Environment::from_pairs([("ALIBABA_CLOUD_STS_ENDPOINT", server.url.as_str())]);
    sts::endpoint(&env, None).expect("loopback endpoint")
}

fn role() -> RoleRequest {
    RoleRequest {
        role_arn: "acs:ram::1:role/r".into(),
        session_name: "s".into(),
        duration_seconds: 3600,
        external_id: Some("ext-1".into()),
    }
}

fn caller() -> Credentials {
    Credentials {
        access_key_id: "LTAIcaller".into(),
        access_key_secret: Secret::new("caller-secret"),
        security_token: None,
        source: "cli-profile",
    }
}

#[tokio::test]
async fn assume_role_is_a_signed_rpc_call_with_the_role_parameters() {
    let server = TestServer::always(Reply::json(200, GOOD)).await;
    let issued = sts::assume_role(&endpoint(&server), &caller(), &role(), now())
        .await
        .expect("issued")
        .into_lease("cli-profile");
    assert_eq!(issued.credentials.access_key_id, "STS.issued");
    assert_eq!(
        issued
            .credentials
            .security_token
            .as_ref()
            .map(Secret::expose),
        Some("issued-token")
    );
    assert_eq!(
        issued.expires_at,
        Some("2026-11-23T13:00:00Z".parse().expect("time"))
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.method, "POST");
    for (name, value) in [
        ("Action", "AssumeRole"),
        ("Version", "2015-04-01"),
        ("AccessKeyId", "LTAIcaller"),
        ("RoleArn", "acs:ram::1:role/r"),
        ("RoleSessionName", "s"),
        ("DurationSeconds", "3600"),
        ("ExternalId", "ext-1"),
        ("Timestamp", "2026-11-23T12:00:00Z"),
    ] {
        assert_eq!(sent.param(name).as_deref(), Some(value), "{name}");
    }
    let query = sent.query();
    assert_eq!(
        sent.param("Signature"),
        Some(expected_rpc_signature("POST", &query, "caller-secret"))
    );
}

#[tokio::test]
async fn assume_role_with_oidc_sends_the_token_in_the_body_never_the_url() {
    let server = TestServer::always(Reply::json(200, GOOD)).await;
    let token = Secret::new("the.oidc.token");
    sts::assume_role_with_oidc(
        &endpoint(&server),
        &role(),
        "acs:ram::1:oidc-provider/p",
        &token,
        now(),
    )
    .await
    .expect("issued");
    let sent = &server.requests()[0];
    assert!(!sent.target.contains("the.oidc.token"), "{}", sent.target);
    assert_eq!(
        sent.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let body = String::from_utf8_lossy(&sent.body).into_owned();
    for part in [
        "Action=AssumeRoleWithOIDC",
        "Version=2015-04-01",
        "OIDCToken=the.oidc.token",
        "OIDCProviderArn=acs%3Aram%3A%3A1%3Aoidc-provider%2Fp",
        "Timestamp=2026-11-23T12%3A00%3A00Z",
    ] {
        assert!(body.contains(part), "{part} in {body}");
    }
    assert!(sent.header("authorization").is_none() && !body.contains("Signature"));
}

#[tokio::test]
async fn odd_sts_answers_become_errors_that_name_the_problem_and_hide_secrets() {
    let cases = [
        (
            Reply::html(200, "<html>maintenance</html>"),
            "unexpected answer (HTTP 200): not JSON; body starts: <html>maintenance</html>",
        ),
        (
            Reply::json(500, r#"{"oops": true}"#),
            "unexpected answer (HTTP 500): not an error body",
        ),
        (
            Reply::json(
                400,
                r#"{"Code":"InvalidParameter","Message":"bad token the.oidc.token","RequestId":"R9"}"#,
            ),
            "failed: InvalidParameter: bad token ** redacted ** (HTTP 400, RequestId R9)",
        ),
        (
            Reply::json(
                200,
                r#"{"Credentials":{"AccessKeyId":"","AccessKeySecret":"","SecurityToken":"","Expiration":"2026-11-23T13:00:00Z"}}"#,
            ),
            "the credentials in the answer are empty",
        ),
        (
            Reply::json(
                200,
                r#"{"Credentials":{"AccessKeyId":"a","AccessKeySecret":"b","SecurityToken":"c","Expiration":"tomorrow"}}"#,
            ),
            "Expiration \"tomorrow\" is not a UTC time",
        ),
        (
            Reply::json(200, r#"{"RequestId":"R"}"#),
            "not the documented answer",
        ),
    ];
    for (reply, expected) in cases {
        let server = TestServer::always(reply).await;
        let token = Secret::new("the.oidc.token");
        let err = match sts::assume_role_with_oidc(&endpoint(&server), &role(), "p", &token, now())
            .await
        {
            Ok(_) => panic!("{expected}: accepted"),
            Err(err) => err,
        };
        assert!(err.contains(expected), "{expected:?} in {err}");
        assert!(err.contains("STS AssumeRoleWithOIDC"), "{err}");
        assert!(!err.contains("the.oidc.token"), "{err}");
    }
    let server = TestServer::always(Reply::json(
        400,
        r#"{"Code":"X","Message":"caller-secret leaked"}"#,
    ))
    .await;
    let err = match sts::assume_role(&endpoint(&server), &caller(), &role(), now()).await {
        Ok(_) => panic!("accepted"),
        Err(err) => err,
    };
    assert!(!err.contains("caller-secret"), "{err}");
}

fn metadata(
    server: &TestServer,
    role: Option<&str>,
    optional: bool,
    imdsv1_disabled: bool,
) -> MetadataRequest {
    MetadataRequest {
        base: server.url.clone(),
        role: role.map(str::to_string),
        imdsv1_disabled,
        optional,
    }
}

const ROLE_JSON: &str = r#"{"Code":"Success","AccessKeyId":"STS.role","AccessKeySecret":"role-secret","SecurityToken":"role-token","Expiration":"2026-11-23T18:00:00Z"}"#;

#[tokio::test]
async fn the_metadata_token_is_asked_for_then_sent_with_every_read() {
    let server = TestServer::script(vec![
        Reply::html(200, "tok-123"),
        Reply::html(200, "EcsRole\n"),
        Reply::json(200, ROLE_JSON),
    ])
    .await;
    let lease = ecs_metadata::fetch(&metadata(&server, None, true, false), "ecs-metadata")
        .await
        .expect("credentials");
    assert_eq!(lease.credentials.access_key_id, "STS.role");
    let sent = server.requests();
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path()),
        ("PUT", "/latest/api/token")
    );
    assert_eq!(
        sent[0].header("x-aliyun-ecs-metadata-token-ttl-seconds"),
        Some("21600")
    );
    assert_eq!(
        sent[1].path(),
        "/latest/meta-data/ram/security-credentials/"
    );
    assert_eq!(
        sent[2].path(),
        "/latest/meta-data/ram/security-credentials/EcsRole"
    );
    assert!(
        sent[1..]
            .iter()
            .all(|r| r.header("x-aliyun-ecs-metadata-token") == Some("tok-123"))
    );
}

#[tokio::test]
async fn odd_metadata_answers_become_errors_naming_the_problem() {
    let token = || Reply::html(200, "tok");
    let cases: Vec<(Vec<Reply>, Option<&str>, &str)> = vec![
        (
            vec![token(), Reply::html(500, "oops")],
            None,
            "did not name the instance's RAM role (HTTP 500)",
        ),
        (
            vec![token(), Reply::html(200, "a/b")],
            None,
            "\"a/b\" is not a RAM role name",
        ),
        (
            vec![token(), Reply::html(403, "no")],
            Some("R"),
            "refused the credentials of RAM role R (HTTP 403)",
        ),
        (
            vec![token(), Reply::html(200, "<html/>")],
            Some("R"),
            "answered something else than credentials for RAM role R",
        ),
        (
            vec![token(), Reply::json(200, r#"{"Code":"Failed"}"#)],
            Some("R"),
            "answered Code \"Failed\" for RAM role R",
        ),
        (
            vec![
                token(),
                Reply::json(
                    200,
                    r#"{"Code":"Success","AccessKeyId":"a","AccessKeySecret":"b","SecurityToken":"c","Expiration":"soon"}"#,
                ),
            ],
            Some("R"),
            "unreadable Expiration \"soon\"",
        ),
        (
            vec![
                token(),
                Reply::json(
                    200,
                    r#"{"Code":"Success","Expiration":"2026-11-23T18:00:00Z"}"#,
                ),
            ],
            Some("R"),
            "gave empty credentials for RAM role R",
        ),
    ];
    for (replies, role, expected) in cases {
        let server = TestServer::script(replies).await;
        match ecs_metadata::fetch(&metadata(&server, role, true, false), "ecs-metadata").await {
            Err(FetchError::Failed(message)) => {
                assert!(message.contains(expected), "{expected:?} in {message}")
            }
            Err(other) => panic!("{expected}: {other:?}"),
            Ok(_) => panic!("{expected}: accepted"),
        }
    }
    // Without a token the plain requests follow, unless forbidden.
    let server = TestServer::script(vec![Reply::html(404, ""), Reply::json(200, ROLE_JSON)]).await;
    ecs_metadata::fetch(&metadata(&server, Some("R"), false, false), "ecs-metadata")
        .await
        .expect("fallback");
    assert!(
        server.requests()[1]
            .header("x-aliyun-ecs-metadata-token")
            .is_none()
    );
}

#[tokio::test]
async fn a_slow_metadata_service_counts_as_absent_unless_named() {
    let server = TestServer::always(Reply::html(200, "late").after(Duration::from_secs(5))).await;
    match ecs_metadata::fetch(&metadata(&server, None, true, false), "ecs-metadata").await {
        Err(FetchError::Absent(m)) => assert!(m.contains("timed out"), "{m}"),
        other => panic!("{:?}", other.err()),
    }
    match ecs_metadata::fetch(&metadata(&server, Some("R"), false, false), "ecs-metadata").await {
        Err(FetchError::Failed(m)) => {
            assert!(m.contains("no ECS instance metadata service"), "{m}")
        }
        other => panic!("{:?}", other.err()),
    }
}
