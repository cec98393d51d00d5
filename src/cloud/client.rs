//! The HTTP client for the ECS RPC API (reqwest, rustls with ring). Work in progress.

use std::time::Duration;

use crate::cloud::retry::RetryPolicy;
use crate::credentials::Credentials;

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `https://ecs.{region}.aliyuncs.com/` per region (the default).
    Regional,
    /// Every request to this base URL (`--endpoint`, e.g. the emulator). Plain `http://` only
    /// for loopback addresses.
    Fixed(String),
}

/// Which signature the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureScheme {
    /// ACS3-HMAC-SHA256 in the `Authorization` header: what current official SDKs send.
    #[default]
    Acs3HmacSha256,
    /// The older RPC HMAC-SHA1 signature (`SignatureVersion=1.0`) in the query string.
    RpcHmacSha1,
}

/// Everything the client needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    pub scheme: SignatureScheme,
    /// Requests in flight at once, across all regions and actions (`--parallelism`).
    pub max_in_flight: usize,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

/// The real ECS client.
#[derive(Debug, Clone)]
pub struct EcsClient {
    config: ClientConfig,
}

impl EcsClient {
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }
}
