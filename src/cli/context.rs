//! What every cloud-facing command needs: the config file read and validated, and a client built
//! from the global flags and the credentials.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

use super::args::{GlobalArgs, SignatureArg};
use crate::cloud::retry::RetryPolicy;
use crate::cloud::{ClientConfig, EcsClient, Endpoint, SignatureScheme};
use crate::credentials::{self, Credentials};
use crate::desired::{self, Config};
use crate::observe::{ObserveOptions, observe_with};
use crate::plan::{self, Plan, PlanOptions};

/// Reads and validates the config; warnings go to stderr.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read {}: pass the desired-state file with -c FILE",
            path.display()
        )
    })?;
    let label = path.display().to_string();
    let config = desired::parse(&bytes, &label)?;
    for warning in &config.warnings {
        eprintln!("{}", warning.render(&label));
    }
    Ok(config)
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

/// Observes and plans with the default options.
pub async fn make_plan(client: &EcsClient, config: &Config) -> anyhow::Result<Plan> {
    make_plan_with(client, config, &PlanOptions::default()).await
}

/// Observes and plans: reads what planning and the risk report need, then plans at the
/// current time.
pub async fn make_plan_with(
    client: &EcsClient,
    config: &Config,
    options: &PlanOptions,
) -> anyhow::Result<Plan> {
    let now = jiff::Timestamp::now();
    let horizon = now
        .checked_add(jiff::SignedDuration::from_hours(
            i64::from(options.risk_window_days) * 24,
        ))
        .ok();
    let observed = observe_with(
        client,
        &config.desired,
        &ObserveOptions {
            read_unmanaged_expiring_before: horizon,
        },
    )
    .await?;
    let plan = plan::plan_with(&config.desired, &observed, now, &config.digest, options)?;
    Ok(plan)
}
