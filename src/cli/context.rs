//! What every cloud-facing command needs: the config file read and validated, credentials from
//! the chain, and a client built from the global flags and those credentials.

use std::path::Path;

use super::args::{GlobalArgs, SignatureArg};
use super::config_file::{eprint_diagnostics, read_capped};
use crate::cloud::{ClientConfig, EcsClient, Endpoint, SignatureScheme};
use crate::credentials::{self, CredentialsProvider, Identity, Resolution};
use crate::desired::{self, Config};
use crate::rpc::retry::RetryPolicy;

/// Reads and validates the config. Errors go to stderr in full; warnings as one line pointing
/// to `renewctl validate`, so that every plan does not repeat them at length.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    let bytes = read_capped(path)?;
    let label = path.display().to_string();
    match desired::parse(&bytes, &label) {
        Ok(config) => {
            if !config.warnings.is_empty() {
                let n = config.warnings.len() + config.hidden_warnings;
                anstream::eprintln!(
                    "warning: {label}: {n} warning{} about the config; `renewctl validate -c {label}` shows {}",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "it" } else { "them" }
                );
            }
            Ok(config)
        }
        Err(err) => {
            eprint_diagnostics(&label, &err.source, &err.diagnostics);
            if let Some(note) = err.hidden.note() {
                anstream::eprintln!("{note}");
            }
            anyhow::bail!("{}", err.summary())
        }
    }
}

/// The client for these flags and credentials.
pub fn client(
    global: &GlobalArgs,
    credentials: impl Into<CredentialsProvider>,
) -> anyhow::Result<EcsClient> {
    let endpoint = match &global.endpoint {
        Some(url) => Endpoint::Fixed(url.clone()),
        None => Endpoint::Regional,
    };
    let scheme = match global.signature {
        SignatureArg::Acs3 => SignatureScheme::Acs3HmacSha256,
        SignatureArg::HmacSha1 => SignatureScheme::RpcHmacSha1,
    };
    let client = EcsClient::new(ClientConfig {
        endpoint,
        credentials: credentials.into(),
        scheme,
        max_in_flight: usize::from(global.parallelism),
        max_rps: Some(global.max_rps).filter(|r| *r > 0.0),
        connect_timeout: global.connect_timeout,
        request_timeout: global.request_timeout,
        retry: RetryPolicy::default(),
    })?;
    Ok(client)
}

/// Walks the credentials chain over the process environment, files and clock.
pub async fn resolve_credentials(global: &GlobalArgs) -> anyhow::Result<Resolution> {
    let ctx = credentials::Context::from_process(global.profile.clone());
    Ok(credentials::resolve(&ctx).await?)
}

/// The client for these flags, with credentials from the chain (`--debug-credentials` shows
/// which on stderr).
pub async fn client_from_env(global: &GlobalArgs) -> anyhow::Result<EcsClient> {
    let resolution = resolve_credentials(global).await?;
    if global.debug_credentials {
        eprint!(
            "credentials:\n{}",
            Identity::of(&resolution, &resolution.lease).render()
        );
    }
    client(global, resolution.provider)
}
