//! The chain: the links in the order the official SDKs try them (ecs-api.md §8.3) — the
//! environment, OIDC role assumption, the aliyun CLI profile, the ECS instance's RAM role. The
//! SDKs' INI file and credentials URI links are not part of it.
//!
//! Each link first looks at its configuration (`detect`, no network): "not configured" moves to
//! the next link, a wrong configuration stops. A configured link is then asked for credentials:
//! success ends the search; failure stops it too, except for the metadata service when nothing
//! named it (off an ECS instance it simply is not there). Either way the result records every
//! link tried and why, for the error message and for `renewctl whoami`.

use std::sync::Arc;

use super::error::CredentialsError;
use super::io::{Clock, Files, RealFiles, SystemClock};
use super::provider::{CredentialsProvider, Lease};
use super::source::{Detected, FetchError, Fetcher};
use super::vars::Environment;
use super::{cli_profile, ecs_metadata, environment, oidc};

/// One link of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Environment,
    Oidc,
    CliProfile,
    EcsMetadata,
}

impl Link {
    /// Every link, in the order they are tried.
    pub const ALL: [Link; 4] = [
        Link::Environment,
        Link::Oidc,
        Link::CliProfile,
        Link::EcsMetadata,
    ];

    /// The name users see.
    pub fn name(self) -> &'static str {
        match self {
            Link::Environment => "environment",
            Link::Oidc => "oidc",
            Link::CliProfile => "cli-profile",
            Link::EcsMetadata => "ecs-metadata",
        }
    }
}

/// What one link said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    pub link: Link,
    /// `not configured (…)`, `failed: …` or `supplied credentials`.
    pub outcome: String,
}

/// Everything the links read.
#[derive(Clone)]
pub struct Context {
    pub env: Environment,
    pub files: Arc<dyn Files>,
    pub clock: Arc<dyn Clock>,
    /// `--profile`, which beats `ALIBABA_CLOUD_PROFILE`.
    pub profile: Option<String>,
}

impl Context {
    /// The process environment, the real file system and clock.
    pub fn from_process(profile: Option<String>) -> Context {
        Context {
            env: Environment::from_process(),
            files: Arc::new(RealFiles),
            clock: Arc::new(SystemClock),
            profile,
        }
    }
}

/// Credentials found, and how.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub provider: CredentialsProvider,
    pub link: Link,
    /// What configured the link (variable names, profile, role; never a secret).
    pub detail: String,
    /// The first lease, as the link gave it.
    pub lease: Lease,
    /// Every link tried, the supplying one last.
    pub tried: Vec<Tried>,
}

/// Walks the chain.
pub async fn resolve(ctx: &Context) -> Result<Resolution, CredentialsError> {
    let fetcher = Fetcher {
        files: Arc::clone(&ctx.files),
        clock: Arc::clone(&ctx.clock),
    };
    let mut tried: Vec<Tried> = Vec::new();
    for link in Link::ALL {
        let name = link.name();
        let detected = match link {
            Link::Environment => environment::detect(&ctx.env, name),
            Link::Oidc => oidc::detect(&ctx.env, ctx.clock.as_ref()),
            Link::CliProfile => cli_profile::detect(
                &ctx.env,
                ctx.files.as_ref(),
                ctx.clock.as_ref(),
                ctx.profile.as_deref(),
                name,
            ),
            Link::EcsMetadata => ecs_metadata::detect(&ctx.env),
        };
        let (source, detail) = match detected {
            Detected::NotConfigured(why) => {
                tracing::debug!(link = name, "credentials link not configured: {why}");
                tried.push(Tried {
                    link,
                    outcome: format!("not configured ({why})"),
                });
                continue;
            }
            Detected::Invalid(message) => return Err(failed(link, message, tried)),
            Detected::Configured { source, detail } => (source, detail),
        };
        match source.fetch(name, &fetcher).await {
            Ok(lease) => {
                tried.push(Tried {
                    link,
                    outcome: "supplied credentials".to_string(),
                });
                tracing::debug!(link = name, "credentials from {detail}");
                let provider =
                    CredentialsProvider::refreshing(name, source, fetcher.clone(), lease.clone());
                return Ok(Resolution {
                    provider,
                    link,
                    detail,
                    lease,
                    tried,
                });
            }
            Err(FetchError::Absent(why)) => {
                tracing::debug!(link = name, "credentials link not configured: {why}");
                tried.push(Tried {
                    link,
                    outcome: format!("not configured ({why})"),
                });
            }
            Err(FetchError::Failed(message)) => return Err(failed(link, message, tried)),
        }
    }
    Err(CredentialsError::NotFound { tried })
}

fn failed(link: Link, message: String, mut tried: Vec<Tried>) -> CredentialsError {
    tried.push(Tried {
        link,
        outcome: "failed (above)".to_string(),
    });
    CredentialsError::LinkFailed {
        link: link.name(),
        message,
        tried,
    }
}
