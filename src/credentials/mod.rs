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

pub use chain::{Context, Link, Resolution, Tried, resolve};
pub use error::CredentialsError;
pub use identity::{Identity, mask_key_id};
pub use io::{Clock, Files, ManualClock, MemoryFiles, RealFiles, SystemClock};
pub use provider::{CredentialsProvider, Lease};
pub use vars::Environment;

// The key types live with the protocol that signs with them; the chain produces them.
pub use crate::rpc::keys::{Credentials, Secret};
