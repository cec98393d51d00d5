//! Authentication, as the API gateway does it before any action runs: tell which signature
//! scheme a request uses, check that every piece of it is present and well-formed, that the
//! timestamp is within 15 minutes, that the access key (and STS token) is known, that the
//! signature matches, and that the nonce is fresh — each failure with the gateway's own code.
//!
//! The algorithms themselves live in `v2.rs` and `v3.rs`; nonce memory in `nonce.rs`. Nothing
//! here touches instance state or decides what an action does.

pub(crate) mod nonce;
pub(crate) mod v2;
pub(crate) mod v3;

use std::time::Instant;

use jiff::{SignedDuration, Timestamp};

use super::clock::parse_request_time;
use super::fleet::AccessKey;
use super::keys::KeyStore;
use super::params::Params;
use super::request::HttpRequest;
use super::wire::{ApiError, quote_value};
use nonce::NonceMemory;

/// The largest accepted difference between a request's time and the emulator's clock.
const MAX_SKEW: SignedDuration = SignedDuration::from_mins(15);

/// The signature scheme of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// HMAC-SHA1 in the parameters (`SignatureVersion=1.0`); action and version are parameters.
    RpcV2,
    /// ACS3-HMAC-SHA256 in the `Authorization` header; action and version are headers.
    Acs3,
}

/// Which scheme a request claims. An `Authorization` header means V3; the V2 parameters mean
/// V2. The Tea SDK in V2 mode also sends `x-acs-action`, so that header alone decides only when
/// nothing else does.
pub(crate) fn detect(request: &HttpRequest, params: &Params) -> Scheme {
    if request.header("authorization").is_some() {
        return Scheme::Acs3;
    }
    let v2_marker = ["Signature", "SignatureMethod", "AccessKeyId", "Action"]
        .iter()
        .any(|name| params.get(name).is_some());
    if !v2_marker && request.header("x-acs-action").is_some() {
        Scheme::Acs3
    } else {
        Scheme::RpcV2
    }
}

/// Who sent an authenticated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub access_key_id: String,
}

/// Everything authentication needs besides the request.
pub(crate) struct Gatekeeper<'a> {
    pub keys: &'a KeyStore,
    pub now: Timestamp,
    pub nonces: &'a NonceMemory,
    pub monotonic_now: Instant,
}

impl Gatekeeper<'_> {
    pub(crate) fn authenticate(
        &self,
        request: &HttpRequest,
        params: &Params,
        scheme: Scheme,
    ) -> Result<Caller, ApiError> {
        match scheme {
            Scheme::RpcV2 => self.rpc_v2(request, params),
            Scheme::Acs3 => self.acs3(request),
        }
    }

    fn rpc_v2(&self, request: &HttpRequest, params: &Params) -> Result<Caller, ApiError> {
        let present = |name: &str| params.get(name).filter(|v| !v.is_empty());
        let key_id = present("AccessKeyId").ok_or_else(|| missing("AccessKeyId"))?;
        let signature = present("Signature").ok_or_else(|| missing("Signature"))?;
        let method = present("SignatureMethod").ok_or_else(|| missing("SignatureMethod"))?;
        if method != "HMAC-SHA1" {
            return Err(invalid_signature_method(method));
        }
        let version = present("SignatureVersion").ok_or_else(|| missing("SignatureVersion"))?;
        if version != "1.0" {
            return Err(incomplete(&format!(
                "SignatureVersion {} is not supported; HMAC-SHA1 signatures use 1.0.",
                quote_value(version)
            )));
        }
        let nonce = present("SignatureNonce").ok_or_else(|| missing("SignatureNonce"))?;
        let timestamp = present("Timestamp").ok_or_else(|| missing("Timestamp"))?;
        self.check_time(timestamp)?;
        let key = self.key(key_id)?;
        check_token(&key, params.get("SecurityToken"), self.now)?;

        let string_to_sign = v2::string_to_sign(&request.method, params.unique());
        if v2::signature(&key.secret, &string_to_sign) != signature {
            // The real gateway shows its string-to-sign after the colon; the legacy SDK splits
            // the message on ':' to tell a wrong secret from a wrong encoding, so the format
            // must stay exactly this. It holds no secret.
            return Err(ApiError::new(
                400,
                "SignatureDoesNotMatch",
                format!(
                    "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
                ),
            ));
        }
        self.check_nonce(key_id, nonce)?;
        Ok(Caller {
            access_key_id: key_id.to_owned(),
        })
    }

    fn acs3(&self, request: &HttpRequest) -> Result<Caller, ApiError> {
        let header = request
            .header("authorization")
            .ok_or_else(|| incomplete("The Authorization header is missing."))?;
        let algorithm = header.split_whitespace().next().unwrap_or_default();
        if algorithm != v3::ALGORITHM {
            return Err(invalid_signature_method(algorithm));
        }
        let auth = v3::parse_authorization(header).ok_or_else(|| {
            incomplete(
                "The Authorization header must read ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<names>,Signature=<hex>.",
            )
        })?;
        let need = |name: &str| {
            request
                .header(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| incomplete(&format!("The {name} header is missing.")))
        };
        let nonce = need("x-acs-signature-nonce")?;
        let date = need("x-acs-date")?;
        let claimed_hash = need("x-acs-content-sha256")?;
        need("host")?;
        self.check_time(date)?;

        // Every common header present must be signed, or it could be altered in transit
        // (the rule the docs state for host and x-acs-*; ecs-api.md §2.2).
        for (name, _) in &request.headers {
            let must_sign = name == "host" || name.starts_with("x-acs-");
            if must_sign && !auth.signed_headers.contains(name) {
                return Err(incomplete(&format!(
                    "The {name} header is present but not listed in SignedHeaders."
                )));
            }
        }

        let key = self.key(&auth.credential)?;
        check_token(&key, request.header("x-acs-security-token"), self.now)?;

        let body_hash = v3::sha256_hex(&request.body);
        if claimed_hash.trim() != body_hash {
            return Err(ApiError::new(
                400,
                "SignatureDoesNotMatch",
                format!(
                    "The x-acs-content-sha256 header does not match the request body; the body hashes to {body_hash}."
                ),
            ));
        }
        let query = Params::from_query(&request.query);
        let pairs = query.unique();
        let canonical_headers = v3::canonical_headers(&request.headers, &auth.signed_headers)
            .map_err(|name| incomplete(&format!("The signed header {name} is missing.")))?;
        let mut first = None;
        let mut matched = false;
        for canonical_query in v3::canonical_query_forms(&pairs) {
            let canonical_request = v3::canonical_request(
                &request.method,
                &canonical_query,
                &canonical_headers,
                &auth.signed_headers,
                &body_hash,
            );
            let string_to_sign = v3::string_to_sign(&canonical_request);
            if v3::signature(&key.secret, &string_to_sign) == auth.signature {
                matched = true;
                break;
            }
            first.get_or_insert((string_to_sign, canonical_request));
        }
        if !matched {
            let (string_to_sign, canonical_request) = first.unwrap_or_default();
            // Besides the string-to-sign (a bare hash in V3), show the canonical request: it is
            // what a developer needs to find the difference with their signer.
            return Err(ApiError::new(
                400,
                "SignatureDoesNotMatch",
                format!(
                    "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign} server canonical request is:{canonical_request}"
                ),
            ));
        }
        self.check_nonce(&auth.credential, nonce)?;
        Ok(Caller {
            access_key_id: auth.credential,
        })
    }

    /// Checks a request time (`Timestamp`, `x-acs-date`) against the clock; anonymous requests
    /// (AssumeRoleWithOIDC) are checked by this alone.
    pub(crate) fn check_time(&self, text: &str) -> Result<(), ApiError> {
        let at = parse_request_time(text).ok_or_else(|| {
            ApiError::new(
                400,
                "InvalidTimeStamp.Format",
                format!(
                    "Specified time stamp or date value is not well formatted: {}; use UTC yyyy-MM-ddTHH:mm:ssZ.",
                    quote_value(text)
                ),
            )
        })?;
        let skew = self.now.duration_since(at).abs();
        if skew > MAX_SKEW {
            return Err(ApiError::new(
                400,
                "InvalidTimeStamp.Expired",
                format!(
                    "Specified time stamp or date value is expired: {text} is more than 15 minutes from the server time {}.",
                    self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
                ),
            ));
        }
        Ok(())
    }

    fn key(&self, id: &str) -> Result<AccessKey, ApiError> {
        self.keys.find(id).ok_or_else(|| {
            ApiError::new(
                404,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            )
        })
    }

    fn check_nonce(&self, key_id: &str, nonce: &str) -> Result<(), ApiError> {
        if self.nonces.remember(key_id, nonce, self.monotonic_now) {
            Ok(())
        } else {
            Err(ApiError::new(
                400,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ))
        }
    }
}

/// An STS key needs its token on every request, until it expires; a permanent key must not carry
/// one.
fn check_token(key: &AccessKey, sent: Option<&str>, now: Timestamp) -> Result<(), ApiError> {
    let sent = sent.filter(|t| !t.is_empty());
    match (&key.security_token, sent) {
        (None, None) => Ok(()),
        // [UNCONFIRMED] code and status: the gateway's answer to an expired STS token.
        (Some(expected), Some(sent))
            if expected == sent && key.expires_at.is_some_and(|at| at <= now) =>
        {
            Err(ApiError::new(
                400,
                "InvalidSecurityToken.Expired",
                "Specified SecurityToken is expired.",
            ))
        }
        (Some(expected), Some(sent)) if expected == sent => Ok(()),
        (Some(_), None) => Err(ApiError::new(
            400,
            "MissingSecurityToken",
            "SecurityToken is mandatory for this action: the access key is an STS key.",
        )),
        _ => Err(ApiError::new(
            400,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "The specified SecurityToken does not match the AccessKeyId.",
        )),
    }
}

/// The gateway's wording for a missing common parameter (`Missing{ParameterName}`).
fn missing(name: &str) -> ApiError {
    ApiError::new(
        400,
        &format!("Missing{name}"),
        format!("{name} is mandatory for this action."),
    )
}

fn incomplete(detail: &str) -> ApiError {
    ApiError::new(
        400,
        "IncompleteSignature",
        format!("The request signature does not conform to Aliyun standards. {detail}"),
    )
}

fn invalid_signature_method(method: &str) -> ApiError {
    ApiError::new(
        400,
        "InvalidSignatureMethod",
        format!(
            "Specified signature method {} is not supported; use HMAC-SHA1 (SignatureVersion 1.0) or ACS3-HMAC-SHA256.",
            quote_value(method)
        ),
    )
}
