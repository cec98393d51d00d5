//! Credentials: where renewctl gets the access key it signs with, and how temporary keys stay
//! fresh during a long apply. A chain of named links is tried in the order the official Alibaba
//! Cloud SDKs use (ecs-api.md §8.3): `environment`, `oidc`, `cli-profile`, `ecs-metadata`. A link
//! that is not configured hands over to the next; a link that is configured but fails stops the
//! chain with a message listing every link tried and why (`chain.rs`). The link that supplied
//! credentials is remembered, and a [`CredentialsProvider`] asks it again 15 minutes before
//! temporary credentials expire, as the SDKs do (`provider.rs`).
//!
//! Everything a link reads comes in through [`Context`]: the environment as a map, file reads
//! through [`Files`], the clock through [`Clock`], and the STS and instance-metadata endpoints
//! from overridable variables, so tests are exact. Secrets are [`Secret`]s, which print as
//! `** redacted **` in `Debug`. This module never logs or prints a secret; `identity.rs` renders
//! what a user may see (`renewctl whoami`).

mod chain;
mod cli_profile;
mod ecs_metadata;
mod environment;
mod error;
#[cfg(test)]
mod fetch_tests;
mod identity;
mod io;
mod oidc;
mod provider;
mod source;
mod sts;
mod vars;

use std::fmt;

pub use chain::{Context, Link, Resolution, Tried, resolve};
pub use error::CredentialsError;
pub use identity::{Identity, mask_key_id};
pub use io::{Clock, Files, ManualClock, MemoryFiles, RealFiles, SystemClock};
pub use provider::{CredentialsProvider, Lease};
pub use vars::Environment;

/// A secret string: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret value, for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

/// An access key (long-lived, or temporary with a security token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub security_token: Option<Secret>,
    /// Which link of the chain supplied them (shown to users, never the secret).
    pub source: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret_or_the_token() {
        let creds = Credentials {
            access_key_id: "LTAIexample".into(),
            access_key_secret: Secret::new("very-secret-value"),
            security_token: Some(Secret::new("sts-token-value")),
            source: "environment",
        };
        let debug = format!("{creds:?} {:#?}", creds);
        assert!(!debug.contains("very-secret-value"), "{debug}");
        assert!(!debug.contains("sts-token-value"), "{debug}");
        assert!(debug.contains("** redacted **"));
        assert!(debug.contains("LTAIexample"));
    }
}
