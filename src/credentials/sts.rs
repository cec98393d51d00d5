//! The two STS calls the chain needs (ecs-api.md §8.5): AssumeRole, signed with the caller's key
//! like any RPC call (RamRoleArn profiles), and AssumeRoleWithOIDC, which is anonymous: the
//! OIDC token is the proof (CI pipelines). Both answer `Credentials.{AccessKeyId,
//! AccessKeySecret, SecurityToken, Expiration}`.
//!
//! The endpoint is `sts.aliyuncs.com`, a regional `sts.<region>.aliyuncs.com` (or `sts-vpc.…`
//! with `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED`), or whatever `ALIBABA_CLOUD_STS_ENDPOINT` says (the
//! aliyun CLI's override; tests point it at the emulator). HTTPS only, except loopback.
//!
//! AssumeRoleWithOIDC goes as a POST with a form body rather than the Python SDK's GET query, so
//! the token never sits in a URL that proxies and access logs record. One attempt per fetch: the
//! provider keeps the old credentials while they are valid and tries again later.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use super::provider::Lease;
use super::vars::Environment;
use super::{Credentials, Secret};
use crate::rpc::SignatureScheme;
use crate::rpc::endpoint::{self, Target};
use crate::rpc::http::{USER_AGENT, describe_transport, install_tls_provider};
use crate::rpc::request::{format_request_time, sign_request_with_version};
use crate::rpc::response::ErrorBody;
use crate::rpc::response::{Redactor, excerpt};
use crate::rpc::sign::percent_encode;

/// `Version` of the STS API.
pub(crate) const STS_VERSION: &str = "2015-04-01";

/// The session length asked for when none is configured (the SDKs' default).
pub(crate) const DEFAULT_DURATION_SECONDS: u32 = 3600;

/// The shortest session STS grants.
pub(crate) const MIN_DURATION_SECONDS: u32 = 900;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The role to assume and how.
pub(crate) struct RoleRequest {
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: u32,
    pub external_id: Option<String>,
}

/// A resolved STS endpoint.
#[derive(Debug, Clone)]
pub(crate) struct StsEndpoint {
    target: Target,
}

impl StsEndpoint {
    pub(crate) fn url(&self) -> &str {
        &self.target.base
    }
}

/// The STS endpoint: `ALIBABA_CLOUD_STS_ENDPOINT` (a host or a URL), else the region of
/// `ALIBABA_CLOUD_STS_REGION` or `profile_region`, else the central endpoint.
pub(crate) fn endpoint(
    env: &Environment,
    profile_region: Option<&str>,
) -> Result<StsEndpoint, String> {
    if let Some(value) = env.get("ALIBABA_CLOUD_STS_ENDPOINT") {
        let url = if value.contains("://") {
            value.to_string()
        } else {
            format!("https://{value}/")
        };
        let target =
            endpoint::fixed(&url).map_err(|e| format!("ALIBABA_CLOUD_STS_ENDPOINT: {e}"))?;
        return Ok(StsEndpoint { target });
    }
    let region = env
        .first(&["ALIBABA_CLOUD_STS_REGION"])
        .map(|(_, r)| r)
        .or(profile_region.filter(|r| !r.trim().is_empty()));
    let host = match region {
        None => "sts.aliyuncs.com".to_string(),
        Some(region) => {
            let plain = region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !plain {
                return Err(format!(
                    "invalid STS region {region:?}: expected a region id such as cn-hangzhou"
                ));
            }
            if env.is_true("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED") {
                format!("sts-vpc.{region}.aliyuncs.com")
            } else {
                format!("sts.{region}.aliyuncs.com")
            }
        }
    };
    let target = endpoint::fixed(&format!("https://{host}/")).map_err(|e| e.to_string())?;
    Ok(StsEndpoint { target })
}

/// Temporary credentials as STS issued them.
pub(crate) struct Issued {
    access_key_id: String,
    access_key_secret: Secret,
    security_token: Secret,
    expires_at: Timestamp,
}

impl Issued {
    pub(crate) fn into_lease(self, link: &'static str) -> Lease {
        Lease {
            credentials: Credentials {
                access_key_id: self.access_key_id,
                access_key_secret: self.access_key_secret,
                security_token: Some(self.security_token),
                source: link,
            },
            expires_at: Some(self.expires_at),
        }
    }
}

// No Debug: the fields are secrets.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    credentials: AnswerCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AnswerCredentials {
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
}

/// The HTTP client for one STS exchange.
fn http(target: &Target) -> Result<reqwest::Client, String> {
    install_tls_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none());
    if target.loopback {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client for STS: {e}"))
}

fn role_params(role: &RoleRequest) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("RoleArn", role.role_arn.clone()),
        ("RoleSessionName", role.session_name.clone()),
        ("DurationSeconds", role.duration_seconds.to_string()),
    ];
    if let Some(external_id) = &role.external_id {
        params.push(("ExternalId", external_id.clone()));
    }
    params
}

/// STS AssumeRole, signed (HMAC-SHA1 RPC, as the SDKs sign STS) with `caller`.
pub(crate) async fn assume_role(
    sts: &StsEndpoint,
    caller: &Credentials,
    role: &RoleRequest,
    now: Timestamp,
) -> Result<Issued, String> {
    let action = "AssumeRole";
    let params = role_params(role);
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let signed = sign_request_with_version(
        SignatureScheme::RpcHmacSha1,
        STS_VERSION,
        action,
        &pairs,
        &sts.target.host,
        caller,
        now,
        &uuid::Uuid::new_v4().to_string(),
    );
    let redactor = Redactor::new(caller).also(&signed.query);
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    for (name, value) in &signed.headers {
        let value = HeaderValue::from_str(value).map_err(|_| {
            format!(
                "STS {action}: the {name} header would contain characters HTTP does not allow \
                 (check the access key id and security token)"
            )
        })?;
        headers.insert(HeaderName::from_static(name), value);
    }
    let url = format!("{}?{}", sts.target.base, signed.query);
    let client = http(&sts.target)?;
    let sent = client.post(url).headers(headers).send().await;
    answer(sts, action, sent, &redactor).await
}

/// STS AssumeRoleWithOIDC: anonymous, the token in a form body.
pub(crate) async fn assume_role_with_oidc(
    sts: &StsEndpoint,
    role: &RoleRequest,
    provider_arn: &str,
    token: &Secret,
    now: Timestamp,
) -> Result<Issued, String> {
    let action = "AssumeRoleWithOIDC";
    let mut params = vec![
        ("Action", action.to_string()),
        ("Format", "JSON".to_string()),
        ("Version", STS_VERSION.to_string()),
        ("Timestamp", format_request_time(now)),
        ("OIDCProviderArn", provider_arn.to_string()),
        ("OIDCToken", token.expose().to_string()),
    ];
    params.extend(role_params(role));
    let body = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let redactor = Redactor::empty().also(token.expose()).also(&body);
    let client = http(&sts.target)?;
    let sent = client
        .post(sts.target.base.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    answer(sts, action, sent, &redactor).await
}

async fn answer(
    sts: &StsEndpoint,
    action: &str,
    sent: Result<reqwest::Response, reqwest::Error>,
    redactor: &Redactor,
) -> Result<Issued, String> {
    let url = sts.url();
    let transport = |e: reqwest::Error| {
        format!(
            "STS {action}: no answer from {url}: {}",
            redactor.clean(&describe_transport(&e))
        )
    };
    let response = sent.map_err(transport)?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(transport)?;
    let unexpected = |why: &str| {
        format!(
            "STS {action} at {url}: unexpected answer (HTTP {status}): {why}; body starts: {}",
            excerpt(&body, redactor)
        )
    };
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| unexpected("not JSON"))?;
    let has_code = value.get("Code").or_else(|| value.get("code")).is_some();
    if !(200..300).contains(&status) || has_code {
        let error: ErrorBody =
            serde_json::from_value(value).map_err(|_| unexpected("not an error body"))?;
        return Err(format!(
            "STS {action} at {url} failed: {}: {} (HTTP {status}, RequestId {})",
            redactor.clean(&error.code),
            redactor.clean(error.message.as_deref().unwrap_or("")),
            error.request_id.as_deref().unwrap_or("-"),
        ));
    }
    let answer: Answer = serde_json::from_value(value)
        .map_err(|e| unexpected(&format!("not the documented answer ({e})")))?;
    let c = answer.credentials;
    if c.access_key_id.trim().is_empty()
        || c.access_key_secret.is_empty()
        || c.security_token.is_empty()
    {
        return Err(unexpected("the credentials in the answer are empty"));
    }
    let expires_at: Timestamp = c.expiration.trim().parse().map_err(|_| {
        unexpected(&format!(
            "Expiration {:?} is not a UTC time like 2026-11-23T13:00:00Z",
            c.expiration
        ))
    })?;
    Ok(Issued {
        access_key_id: c.access_key_id,
        access_key_secret: Secret::new(c.access_key_secret),
        security_token: Secret::new(c.security_token),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn the_endpoint_follows_the_override_then_the_region_then_the_default() {
        let url = |pairs: &[(&str, &str)], region: Option<&str>| {
            endpoint(&env(pairs), region).map(|e| e.url().to_string())
        };
        assert_eq!(url(&[], None).as_deref(), Ok("https://sts.aliyuncs.com/"));
        assert_eq!(
            url(&[], Some("cn-shanghai")).as_deref(),
            Ok("https://sts.cn-shanghai.aliyuncs.com/")
        );
        assert_eq!(
            url(
                &[
                    ("ALIBABA_CLOUD_STS_REGION", "cn-beijing"),
                    ("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED", "true")
                ],
                Some("cn-shanghai")
            )
            .as_deref(),
            Ok("https://sts-vpc.cn-beijing.aliyuncs.com/")
        );
        assert_eq!(
            url(&[("ALIBABA_CLOUD_STS_ENDPOINT", "sts.example.com")], None).as_deref(),
            Ok("https://sts.example.com/")
        );
        assert_eq!(
            url(
                &[("ALIBABA_CLOUD_STS_ENDPOINT", "http://127.0.0.1:9")],
                None
            )
            .as_deref(),
            Ok("http://127.0.0.1:9/")
        );
        let err = url(
            &[("ALIBABA_CLOUD_STS_ENDPOINT", "http://sts.example.com")],
            None,
        )
        .expect_err("plain http off loopback");
        assert!(
            err.contains("ALIBABA_CLOUD_STS_ENDPOINT") && err.contains("loopback"),
            "{err}"
        );
        let err = url(&[("ALIBABA_CLOUD_STS_REGION", "cn hangzhou")], None).expect_err("bad");
        assert!(err.contains("invalid STS region"), "{err}");
    }
}
