//! The `oidc` link: CI systems (GitHub Actions, GitLab, Kubernetes with RRSA) write a
//! short-lived OIDC token to a file, and STS AssumeRoleWithOIDC exchanges it for temporary
//! credentials of a RAM role, so no long-lived key lives in the pipeline (ecs-api.md §8.5).
//! Configured by `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN` and
//! `ALIBABA_CLOUD_OIDC_TOKEN_FILE`, all three (the SDKs add the link only then). The role ARN
//! alone is not OIDC configuration (Terraform reads it for plain role assumption), but a provider
//! or token file without the rest is a mistake and stops the chain.

use std::path::PathBuf;

use super::io::Clock;
use super::source::{Detected, Source};
use super::sts::{self, DEFAULT_DURATION_SECONDS, RoleRequest};
use super::vars::Environment;

const ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
const PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
const TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";
const SESSION_NAME: &str = "ALIBABA_CLOUD_ROLE_SESSION_NAME";

/// The session name when none is configured: the SDKs make one up from the time the same way.
pub(crate) fn default_session_name(clock: &dyn Clock) -> String {
    format!("renewctl-{}", clock.now().as_second())
}

pub(crate) fn detect(env: &Environment, clock: &dyn Clock) -> Detected {
    let role = env.get(ROLE_ARN);
    let provider = env.get(PROVIDER_ARN);
    let file = env.get(TOKEN_FILE);
    let (role, provider, file) = match (role, provider, file) {
        (Some(role), Some(provider), Some(file)) => (role, provider, file),
        (_, None, None) => {
            return Detected::NotConfigured(format!("{PROVIDER_ARN} and {TOKEN_FILE} are not set"));
        }
        _ => {
            let missing: Vec<&str> = [
                (ROLE_ARN, role),
                (PROVIDER_ARN, provider),
                (TOKEN_FILE, file),
            ]
            .into_iter()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| name)
            .collect();
            return Detected::Invalid(format!(
                "OIDC role assumption needs {ROLE_ARN}, {PROVIDER_ARN} and {TOKEN_FILE}; {} {} not set",
                missing.join(" and "),
                if missing.len() == 1 { "is" } else { "are" }
            ));
        }
    };
    let sts = match sts::endpoint(env, None) {
        Ok(sts) => sts,
        Err(message) => return Detected::Invalid(message),
    };
    let session_name = env
        .get(SESSION_NAME)
        .map(str::to_string)
        .unwrap_or_else(|| default_session_name(clock));
    let detail = format!(
        "STS AssumeRoleWithOIDC of {role} at {} with provider {provider} and the token in {file}",
        sts.url()
    );
    Detected::Configured {
        source: Box::new(Source::Oidc {
            role: RoleRequest {
                role_arn: role.to_string(),
                session_name,
                duration_seconds: DEFAULT_DURATION_SECONDS,
                external_id: None,
            },
            provider_arn: provider.to_string(),
            token_file: PathBuf::from(file),
            sts,
        }),
        detail,
    }
}
