//! The Alibaba Cloud RPC protocol that ECS and STS share (ecs-api.md §1-§5): access keys and
//! their secrets (`keys`), signing in both schemes (`sign`, `request`), decoding answers and
//! error bodies with secrets redacted (`response`), endpoints (`endpoint`), typed errors and
//! their classes (`error`), the named retry policy (`retry`), the client-side rate limit
//! (`rate`) and the HTTP transport's shared pieces (`http`). It knows no product's actions:
//! the ECS client (`cloud`) and the STS link of the credentials chain (`credentials`) build on
//! it, and it imports neither.

pub mod endpoint;
pub mod error;
pub mod http;
pub mod keys;
pub mod rate;
pub mod request;
pub mod response;
pub mod retry;
pub mod sign;

#[cfg(test)]
pub(crate) mod test_server;

pub use error::{ApiError, ErrorClass};
pub use keys::{Credentials, Secret};
pub use request::SignatureScheme;
