//! What every cloud-facing command needs: the config file read and validated, credentials from
//! the chain, and a client built from the global flags and those credentials.

use std::path::Path;

use super::args::{GlobalArgs, SignatureArg};
use super::config_file::{eprint_diagnostics, read_capped};
use crate::cloud::{ClientConfig, EcsClient, Endpoint, SignatureScheme};
use crate::credentials::{self, CredentialsProvider, Identity, Resolution};
use crate::desired::{self, Config, DesiredState, EndpointType, SiteOverride};
use crate::rpc::endpoint::{Network, Routing};
use crate::rpc::retry::RetryPolicy;

/// Reads and validates the config. Errors go to stderr in full; warnings as one line pointing
/// to `renewctl validate`, so that every plan does not repeat them at length.
pub fn load_config(global: &GlobalArgs, path: &Path) -> anyhow::Result<Config> {
    let bytes = read_capped(path)?;
    let label = path.display().to_string();
    match desired::parse_for_site(&bytes, &label, site_override(global)) {
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

/// The site given for this run, if any.
pub fn site_override(global: &GlobalArgs) -> Option<SiteOverride> {
    global.site.map(|site| SiteOverride {
        site,
        given_by: "--site (or RENEWCTL_SITE)",
    })
}

/// The official SDKs' switch to VPC endpoints (ecs-api.md §9).
const VPC_ENV: &str = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED";

/// How regions find their endpoint: the config's `endpoint_type` and `endpoints`, or VPC
/// endpoints when `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED` is true and the config does not say.
pub fn routing(desired: Option<&DesiredState>) -> Routing {
    let vpc_env = std::env::var(VPC_ENV).is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let network = match desired.and_then(|d| d.endpoint_type) {
        Some(EndpointType::Vpc) => Network::Vpc,
        Some(EndpointType::Public) => Network::Public,
        None if vpc_env => Network::Vpc,
        None => Network::Public,
    };
    Routing {
        network,
        hosts: desired
            .and_then(|d| d.endpoints.clone())
            .unwrap_or_default(),
    }
}

/// The client for these flags, endpoint routing and credentials.
pub fn client(
    global: &GlobalArgs,
    routing: Routing,
    credentials: impl Into<CredentialsProvider>,
) -> anyhow::Result<EcsClient> {
    let endpoint = match &global.endpoint {
        Some(url) => Endpoint::Fixed(url.clone()),
        None if routing == Routing::default() => Endpoint::Regional,
        None => Endpoint::Routed(routing),
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
    })?
    .with_bss_endpoint(global.bss_endpoint.clone())?;
    Ok(client)
}

/// Walks the credentials chain over the process environment, files and clock.
pub async fn resolve_credentials(global: &GlobalArgs) -> anyhow::Result<Resolution> {
    let ctx = credentials::Context::from_process(global.profile.clone());
    Ok(credentials::resolve(&ctx).await?)
}

/// The client for these flags, with credentials from the chain (`--debug-credentials` shows
/// which on stderr).
pub async fn client_from_env(global: &GlobalArgs, routing: Routing) -> anyhow::Result<EcsClient> {
    let resolution = resolve_credentials(global).await?;
    if global.debug_credentials {
        eprint!(
            "credentials:\n{}",
            Identity::of(&resolution, &resolution.lease).render()
        );
    }
    client(global, routing, resolution.provider)
}
