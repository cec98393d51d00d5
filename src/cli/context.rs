//! What every cloud-facing command needs: the config file read and validated, credentials from
//! the chain, and a client built from the global flags and those credentials.

use std::path::Path;

use super::args::{GlobalArgs, SignatureArg};
use super::config_file::{eprint_diagnostics, read_capped};
use super::progress::{Progress, Tracked};
use crate::cloud::{ClientConfig, EcsClient, Endpoint, SignatureScheme};
use crate::credentials::{self, CredentialsProvider, Identity, Resolution};
use crate::desired::{self, Config};
use crate::observe::{ObserveOptions, observe_with};
use crate::plan::{self, Plan, PlanOptions};
use crate::price;
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

/// Observes and plans with the default options, and reads the renewals' prices.
pub async fn make_plan(client: &EcsClient, config: &Config) -> anyhow::Result<Plan> {
    make_plan_with(client, config, &PlanOptions::default(), true).await
}

/// Observes (with a progress counter on a terminal) what planning and the risk report need,
/// plans at the current time, then reads the price of each renewal (unless `read_prices` is
/// false: `--no-prices`).
pub async fn make_plan_with(
    client: &EcsClient,
    config: &Config,
    options: &PlanOptions,
    read_prices: bool,
) -> anyhow::Result<Plan> {
    let now = jiff::Timestamp::now();
    let horizon = now
        .checked_add(jiff::SignedDuration::from_hours(
            i64::from(options.risk_window_days) * 24,
        ))
        .ok();
    let progress = Progress::counter("observing");
    let tracked = Tracked {
        api: client,
        progress: &progress,
    };
    let observed = observe_with(
        &tracked,
        &config.desired,
        &ObserveOptions {
            read_unmanaged_expiring_before: horizon,
        },
    )
    .await;
    progress.finish();
    // No region could be read: that is the account or the network, not one region's trouble.
    if !observed.regions.is_empty() && observed.failed_regions.len() == observed.regions.len() {
        let failure = &observed.failed_regions[0];
        anyhow::bail!(
            "cannot observe region {}: {}{}",
            failure.region,
            failure.reason,
            if observed.regions.len() > 1 {
                " (no region could be read)"
            } else {
                ""
            }
        );
    }
    let mut plan = plan::plan_with(&config.desired, &observed, now, &config.digest, options);
    if read_prices {
        let progress = Progress::counter("pricing");
        let tracked = Tracked {
            api: client,
            progress: &progress,
        };
        price::price_renewals(&tracked, &mut plan).await;
        progress.finish();
    } else {
        price::skip_prices(&mut plan);
    }
    Ok(plan)
}
