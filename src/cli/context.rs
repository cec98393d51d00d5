//! What every cloud-facing command needs: the config file read and validated, and a client built
//! from the global flags and the credentials.

use std::path::Path;
use std::time::Duration;

use super::args::{GlobalArgs, SignatureArg};
use super::config_file::{eprint_diagnostics, read_capped};
use crate::cloud::retry::RetryPolicy;
use crate::cloud::{ClientConfig, EcsClient, Endpoint, SignatureScheme};
use crate::credentials::{self, Credentials};
use crate::desired::{self, Config};
use crate::observe::observe;
use crate::plan::{self, Plan};

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
pub fn client(global: &GlobalArgs, credentials: Credentials) -> anyhow::Result<EcsClient> {
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
        credentials,
        scheme,
        max_in_flight: usize::from(global.parallelism),
        connect_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(30),
        retry: RetryPolicy::default(),
    })?;
    Ok(client)
}

/// The client for these flags, with credentials from the environment.
pub fn client_from_env(global: &GlobalArgs) -> anyhow::Result<EcsClient> {
    let credentials = credentials::from_env(|name| std::env::var(name).ok())?;
    client(global, credentials)
}

/// Observes and plans.
pub async fn make_plan(client: &EcsClient, config: &Config) -> anyhow::Result<Plan> {
    let observed = observe(client, &config.desired).await?;
    let plan = plan::plan(
        &config.desired,
        &observed,
        jiff::Timestamp::now(),
        &config.digest,
    )?;
    Ok(plan)
}
