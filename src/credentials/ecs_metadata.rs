//! The `ecs-metadata` link: the RAM role of the ECS instance renewctl runs on, read from the
//! instance metadata service (ecs-api.md §8.4). Hardened mode first: `PUT /latest/api/token`
//! gives a token sent with every following request; when that fails the SDKs fall back to plain
//! requests, unless `ALIBABA_CLOUD_IMDSV1_DISABLED=true`. The role name comes from
//! `ALIBABA_CLOUD_ECS_METADATA` (Terraform: `ALICLOUD_ECS_ROLE_NAME`) or from the service itself.
//!
//! Off an ECS instance the service does not answer. When no role name was configured that means
//! "not configured" and the chain ends with its usual message; when one was, it is an error. The
//! base URL is `http://100.100.100.200` unless `RENEWCTL_METADATA_ENDPOINT` says otherwise
//! (tests point it at the emulator). `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true` skips the link.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::StatusCode;
use serde::Deserialize;

use super::provider::Lease;
use super::source::{Detected, FetchError, Source};
use super::vars::Environment;
use super::{Credentials, Secret};
use crate::rpc::http::{USER_AGENT, describe_transport, install_tls_provider};

/// The metadata service of every ECS instance.
pub(crate) const DEFAULT_ENDPOINT: &str = "http://100.100.100.200";

/// The header that asks for a token, and its lifetime in seconds (the SDKs ask for 6 hours).
const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_TTL: &str = "21600";
/// The header that carries the token.
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";

/// The SDKs wait 1 s to connect and 1 s to read: the service is local to the host, and off an
/// ECS instance a long wait would delay every "no credentials" message.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

const CREDENTIALS_PATH: &str = "/latest/meta-data/ram/security-credentials/";

/// What to ask the metadata service.
#[derive(Debug, Clone)]
pub(crate) struct MetadataRequest {
    /// Without a trailing slash.
    pub base: String,
    pub role: Option<String>,
    pub imdsv1_disabled: bool,
    /// True when nothing named this source explicitly: an absent service then means "not
    /// configured" rather than an error.
    pub optional: bool,
}

/// The base URL from `RENEWCTL_METADATA_ENDPOINT`, checked.
pub(crate) fn base_url(env: &Environment) -> Result<String, String> {
    let Some(value) = env.get("RENEWCTL_METADATA_ENDPOINT") else {
        return Ok(DEFAULT_ENDPOINT.to_string());
    };
    let parsed = reqwest::Url::parse(value)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            format!(
                "RENEWCTL_METADATA_ENDPOINT={value:?} is not an http:// or https:// URL \
                 (e.g. http://127.0.0.1:8787)"
            )
        })?;
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

pub(crate) fn detect(env: &Environment) -> Detected {
    if env.is_true("ALIBABA_CLOUD_ECS_METADATA_DISABLED") {
        return Detected::NotConfigured(
            "disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED=true".to_string(),
        );
    }
    let base = match base_url(env) {
        Ok(base) => base,
        Err(message) => return Detected::Invalid(message),
    };
    let role = env
        .first(&["ALIBABA_CLOUD_ECS_METADATA", "ALICLOUD_ECS_ROLE_NAME"])
        .map(|(name, role)| (name, role.to_string()));
    let detail = match &role {
        Some((name, role)) => {
            format!("RAM role {role} ({name}) from the metadata service at {base}")
        }
        None => format!("the instance's RAM role from the metadata service at {base}"),
    };
    Detected::Configured {
        source: Box::new(Source::EcsRole(MetadataRequest {
            base,
            optional: role.is_none(),
            role: role.map(|(_, r)| r),
            imdsv1_disabled: env.is_true("ALIBABA_CLOUD_IMDSV1_DISABLED"),
        })),
        detail,
    }
}

// No Debug: secrets.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleCredentials {
    code: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    access_key_secret: String,
    #[serde(default)]
    security_token: String,
    #[serde(default)]
    expiration: String,
}

/// Credentials of the instance's RAM role.
pub(crate) async fn fetch(
    request: &MetadataRequest,
    link: &'static str,
) -> Result<Lease, FetchError> {
    install_tls_provider();
    let http = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        // The service is on the host's link; a proxy can never reach it.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| FetchError::Failed(format!("cannot build the HTTP client: {e}")))?;
    let base = &request.base;
    let unreachable = |e: reqwest::Error| {
        let message = format!(
            "no ECS instance metadata service at {base}: {}",
            describe_transport(&e)
        );
        if request.optional {
            FetchError::Absent(message)
        } else {
            FetchError::Failed(message)
        }
    };

    // Hardened mode: a token for the following requests.
    let token_answer = http
        .put(format!("{base}/latest/api/token"))
        .header(TOKEN_TTL_HEADER, TOKEN_TTL)
        .send()
        .await
        .map_err(unreachable)?;
    let token_status = token_answer.status();
    let token = if token_status == StatusCode::OK {
        let text = token_answer.text().await.map_err(unreachable)?;
        Some(Secret::new(text.trim()))
    } else if request.imdsv1_disabled {
        return Err(FetchError::Failed(format!(
            "the metadata service at {base} refused a token (HTTP {}) and \
             ALIBABA_CLOUD_IMDSV1_DISABLED=true forbids asking without one",
            token_status.as_u16()
        )));
    } else {
        None
    };
    let get = |path: String| {
        let mut builder = http.get(format!("{base}{path}"));
        if let Some(token) = &token {
            builder = builder.header(TOKEN_HEADER, token.expose());
        }
        builder.send()
    };

    let role = match &request.role {
        Some(role) => role.clone(),
        None => {
            let answer = get(CREDENTIALS_PATH.to_string())
                .await
                .map_err(unreachable)?;
            let status = answer.status();
            let text = answer.text().await.map_err(unreachable)?;
            let role = text.lines().next().unwrap_or("").trim().to_string();
            if status == StatusCode::NOT_FOUND || (status.is_success() && role.is_empty()) {
                let message = format!(
                    "the metadata service at {base} answers, but no RAM role is attached to this instance"
                );
                return Err(if request.optional {
                    FetchError::Absent(message)
                } else {
                    FetchError::Failed(message)
                });
            }
            if !status.is_success() {
                return Err(FetchError::Failed(format!(
                    "the metadata service at {base} did not name the instance's RAM role (HTTP {})",
                    status.as_u16()
                )));
            }
            role
        }
    };
    if role.contains('/') || role.contains('?') || role.contains('#') {
        return Err(FetchError::Failed(format!(
            "{role:?} is not a RAM role name"
        )));
    }

    let answer = get(format!("{CREDENTIALS_PATH}{role}"))
        .await
        .map_err(|e| {
            FetchError::Failed(format!(
                "the metadata service at {base} did not answer for RAM role {role}: {}",
                describe_transport(&e)
            ))
        })?;
    let status = answer.status();
    let body = answer.bytes().await.map_err(|e| {
        FetchError::Failed(format!(
            "the metadata service at {base} broke off its answer for RAM role {role}: {}",
            describe_transport(&e)
        ))
    })?;
    if status == StatusCode::NOT_FOUND {
        return Err(FetchError::Failed(format!(
            "RAM role {role} is not attached to this instance (the metadata service at {base} answers 404)"
        )));
    }
    if !status.is_success() {
        return Err(FetchError::Failed(format!(
            "the metadata service at {base} refused the credentials of RAM role {role} (HTTP {})",
            status.as_u16()
        )));
    }
    let parsed: RoleCredentials = serde_json::from_slice(&body).map_err(|_| {
        FetchError::Failed(format!(
            "the metadata service at {base} answered something else than credentials for RAM role {role}"
        ))
    })?;
    if parsed.code != "Success" {
        return Err(FetchError::Failed(format!(
            "the metadata service at {base} answered Code {:?} for RAM role {role}",
            parsed.code
        )));
    }
    let expires_at: Timestamp = parsed.expiration.trim().parse().map_err(|_| {
        FetchError::Failed(format!(
            "the metadata service at {base} gave an unreadable Expiration {:?} for RAM role {role}",
            parsed.expiration
        ))
    })?;
    if parsed.access_key_id.is_empty()
        || parsed.access_key_secret.is_empty()
        || parsed.security_token.is_empty()
    {
        return Err(FetchError::Failed(format!(
            "the metadata service at {base} gave empty credentials for RAM role {role}"
        )));
    }
    Ok(Lease {
        credentials: Credentials {
            access_key_id: parsed.access_key_id,
            access_key_secret: Secret::new(parsed.access_key_secret),
            security_token: Some(Secret::new(parsed.security_token)),
            source: link,
        },
        expires_at: Some(expires_at),
    })
}
