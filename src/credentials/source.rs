//! What a link found, as data: a [`Source`] says how to obtain credentials (fixed ones, an STS
//! role assumption, the instance metadata service) and is kept by the provider so that the same
//! source is asked again when temporary credentials near their expiry. Detection (reading the
//! environment and files) is each link's job; fetching (the network) is here and in `sts.rs`,
//! `ecs_metadata.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ecs_metadata::{self, MetadataRequest};
use super::io::{Clock, Files};
use super::provider::Lease;
use super::sts::{self, RoleRequest, StsEndpoint};
use super::{Credentials, Secret};

/// The outcome of looking at one link's configuration.
pub(crate) enum Detected {
    /// Nothing of this link is configured: the chain moves on. The text says what was looked at.
    NotConfigured(String),
    /// The link is configured; `detail` says by what (shown by `whoami`, never a secret).
    Configured { source: Box<Source>, detail: String },
    /// The link is configured wrongly: the chain stops.
    Invalid(String),
}

/// How to obtain credentials.
pub(crate) enum Source {
    /// Fixed credentials (environment, AK and StsToken profiles): never refreshed.
    Fixed(Credentials),
    /// STS AssumeRole signed with the caller's key (RamRoleArn profiles).
    AssumeRole {
        caller: Credentials,
        role: RoleRequest,
        sts: StsEndpoint,
    },
    /// STS AssumeRoleWithOIDC with the token read from a file on every fetch (CI systems rotate
    /// it).
    Oidc {
        role: RoleRequest,
        provider_arn: String,
        token_file: PathBuf,
        sts: StsEndpoint,
    },
    /// The RAM role of the ECS instance renewctl runs on.
    EcsRole(MetadataRequest),
}

/// Why a fetch gave nothing.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// The source turned out not to exist (no metadata service, no role attached) and was not
    /// asked for explicitly: the chain moves on.
    Absent(String),
    Failed(String),
}

impl FetchError {
    pub(crate) fn message(&self) -> &str {
        match self {
            FetchError::Absent(m) | FetchError::Failed(m) => m,
        }
    }
}

/// What fetching needs besides the source.
#[derive(Clone)]
pub(crate) struct Fetcher {
    pub files: Arc<dyn Files>,
    pub clock: Arc<dyn Clock>,
}

impl Source {
    /// Whether credentials from this source expire and must be fetched again.
    pub(crate) fn is_fixed(&self) -> bool {
        matches!(self, Source::Fixed(_))
    }

    pub(crate) async fn fetch(
        &self,
        link: &'static str,
        fetcher: &Fetcher,
    ) -> Result<Lease, FetchError> {
        match self {
            Source::Fixed(credentials) => Ok(Lease {
                credentials: credentials.clone(),
                expires_at: None,
            }),
            Source::AssumeRole { caller, role, sts } => {
                sts::assume_role(sts, caller, role, fetcher.clock.now())
                    .await
                    .map(|issued| issued.into_lease(link))
                    .map_err(FetchError::Failed)
            }
            Source::Oidc {
                role,
                provider_arn,
                token_file,
                sts,
            } => {
                let token = read_token(fetcher, token_file).map_err(FetchError::Failed)?;
                sts::assume_role_with_oidc(sts, role, provider_arn, &token, fetcher.clock.now())
                    .await
                    .map(|issued| issued.into_lease(link))
                    .map_err(FetchError::Failed)
            }
            Source::EcsRole(request) => ecs_metadata::fetch(request, link).await,
        }
    }
}

/// The OIDC token: the whole file, trimmed (a trailing newline is not part of a JWT).
fn read_token(fetcher: &Fetcher, path: &Path) -> Result<Secret, String> {
    let bytes = fetcher
        .files
        .read(path)
        .map_err(|e| format!("cannot read the OIDC token file {}: {e}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("the OIDC token file {} is not UTF-8 text", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!(
            "the OIDC token file {} is empty: the CI system has not written its token yet?",
            path.display()
        ));
    }
    Ok(Secret::new(token))
}
