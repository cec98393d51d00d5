//! Typed API errors. Every failure names the action and region, and, when the service answered,
//! its `Code`, `Message` and `RequestId`, so a user can quote them to Alibaba Cloud support.
//! `class()` is the retry policy's input (see `retry`).

use thiserror::Error;

/// What kind of failure an error is, for the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// `Throttling*` codes: back off and retry.
    Throttling,
    /// No response, or the connection broke: the request may or may not have been carried out.
    Transient,
    /// 5xx / `InternalError` / `ServiceUnavailable`: retry with backoff.
    Server,
    /// Anything the caller must fix (4xx, bad parameters, permissions, money): never retried.
    Client,
}

#[derive(Debug, Error)]
pub enum ApiError {
    /// The service answered with an error body.
    #[error(
        "{action} in {region} failed: {code}: {message} (HTTP {http_status}, RequestId {request_id})"
    )]
    Service {
        action: String,
        region: String,
        http_status: u16,
        code: String,
        message: String,
        request_id: String,
    },
    /// The request could not be sent or its answer was not received (connect error, timeout,
    /// connection dropped).
    #[error("{action} in {region}: no answer from {endpoint}: {message}")]
    Transport {
        action: String,
        region: String,
        endpoint: String,
        message: String,
    },
    /// The service answered, but not with what the API documents (HTML page, truncated JSON,
    /// missing keys). Nothing is inferred from such an answer.
    #[error(
        "{action} in {region}: unexpected answer (HTTP {http_status}): {message}; body starts: {excerpt}"
    )]
    Decode {
        action: String,
        region: String,
        http_status: u16,
        message: String,
        excerpt: String,
    },
    /// The request could not be built (bad endpoint, missing credentials…).
    #[error("{0}")]
    Config(String),
    /// The last attempt failed plainly, but an earlier one may have been carried out (it got no
    /// answer, or a server error): the outcome of the request is unknown.
    #[error("{last}; an earlier attempt may have been carried out ({earlier})")]
    AfterAmbiguous {
        earlier: String,
        last: Box<ApiError>,
    },
}

impl ApiError {
    /// The retry class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            ApiError::Service {
                code, http_status, ..
            } => classify_code(code, *http_status),
            ApiError::Transport { .. } => ErrorClass::Transient,
            ApiError::Decode { http_status, .. } if *http_status >= 500 => ErrorClass::Server,
            ApiError::Decode { .. } | ApiError::Config(_) => ErrorClass::Client,
            ApiError::AfterAmbiguous { last, .. } => last.class(),
        }
    }

    /// The service's error code, when it answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Service { code, .. } => Some(code),
            ApiError::AfterAmbiguous { last, .. } => last.code(),
            _ => None,
        }
    }

    /// The RequestId the service gave its answer, when it answered.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Service { request_id, .. } => Some(request_id),
            ApiError::AfterAmbiguous { last, .. } => last.request_id(),
            _ => None,
        }
    }

    /// The service's message, when it answered with one.
    pub fn message(&self) -> Option<&str> {
        match self {
            ApiError::Service { message, .. } => Some(message),
            ApiError::AfterAmbiguous { last, .. } => last.message(),
            _ => None,
        }
    }

    /// Whether the request may have been carried out although it failed: no answer, a broken
    /// connection, a server error, an answer that could not be decoded, or a "processing" code
    /// (ecs-api.md §4.2). A refusal the service answered clearly (4xx, throttling) means it was
    /// not; a request never sent (`Config`) was not.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            ApiError::Transport { .. } | ApiError::Decode { .. } => true,
            ApiError::AfterAmbiguous { .. } => true,
            ApiError::Config(_) => false,
            ApiError::Service { code, .. } => {
                crate::ecs::codes::is_processing(code) || self.class() == ErrorClass::Server
            }
        }
    }
}

/// Classifies a service error code (reference: ecs-api.md §4.2 and the legacy SDK's
/// retry_config.json).
pub fn classify_code(code: &str, http_status: u16) -> ErrorClass {
    // HTTP 429 is the generic "too many requests"; gateways in front of the API may answer it
    // with a code of their own.
    if code.starts_with("Throttling") || code == "Rejected.Throttling" || http_status == 429 {
        return ErrorClass::Throttling;
    }
    // The "processing" codes: an earlier request is still running; its outcome, and so this
    // one's, is not known yet. Retried like a server error (RenewInstance only with its token).
    if crate::ecs::codes::is_processing(code) {
        return ErrorClass::Server;
    }
    match code {
        "InternalError" | "ServiceUnavailable" | "UnknownError" => ErrorClass::Server,
        _ if http_status >= 500 => ErrorClass::Server,
        _ => ErrorClass::Client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified_as_the_reference_says() {
        assert_eq!(classify_code("Throttling", 400), ErrorClass::Throttling);
        assert_eq!(
            classify_code("Throttling.User", 400),
            ErrorClass::Throttling
        );
        assert_eq!(classify_code("Throttling.Api", 403), ErrorClass::Throttling);
        assert_eq!(classify_code("InternalError", 500), ErrorClass::Server);
        assert_eq!(classify_code("ServiceUnavailable", 503), ErrorClass::Server);
        assert_eq!(classify_code("Whatever", 502), ErrorClass::Server);
        for processing in [
            "LastTokenProcessing",
            "LastOrderProcessing",
            "LastRequestProcessing",
            "Idempotence.Processing",
        ] {
            assert_eq!(classify_code(processing, 400), ErrorClass::Server);
        }
        for mismatch in ["IdempotentParameterMismatch", "IdempotenceParamNotMatch"] {
            assert_eq!(classify_code(mismatch, 400), ErrorClass::Client);
        }
        assert_eq!(
            classify_code("InvalidAccountStatus.NotEnoughBalance", 403),
            ErrorClass::Client
        );
        assert_eq!(
            classify_code("SignatureDoesNotMatch", 400),
            ErrorClass::Client
        );
    }
}
