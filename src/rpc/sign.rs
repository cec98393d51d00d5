//! Request signing for the ECS RPC API, as pure functions: the clock, the nonce and the secret are
//! passed in, nothing here reads the environment or the network. Two schemes (ecs-api.md §2):
//! the RPC HMAC-SHA1 signature (`SignatureVersion=1.0`, called "V2" in current docs) and
//! ACS3-HMAC-SHA256 (V3, the current SDKs' default). Every intermediate string is returned so that
//! tests can compare each step with the vectors computed by the official SDKs. Which parameters
//! and headers make up a request is decided in `request`, not here.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// RFC 3986: everything except `A-Z a-z 0-9 - _ . ~` is escaped, as UTF-8 bytes with uppercase
/// hex, so a space is `%20` and never `+` (ecs-api.md §2.1 step 2).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The name of the V3 signature algorithm, first word of the `Authorization` header.
pub const ACS3_ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// SHA-256 of the empty body, the `x-acs-content-sha256` of every request renewctl sends.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Percent-encodes `text` the way both signatures (and renewctl's query strings) need it.
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, RFC3986).to_string()
}

/// Every step of an RPC HMAC-SHA1 signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcSignature {
    pub canonical_query: String,
    pub string_to_sign: String,
    /// Base64 of the HMAC, as sent in the `Signature` parameter (before URL encoding).
    pub signature: String,
}

/// The canonicalized query string of the RPC signature: names and values encoded, pairs sorted by
/// encoded name (byte order, so `Tag.10.Key` sorts before `Tag.2.Key`), joined with `&`. A
/// `Signature` parameter is never part of the signed set.
pub fn rpc_canonical_query<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(String, String)> = params
        .into_iter()
        .filter(|(name, _)| *name != "Signature")
        .map(|(name, value)| (percent_encode(name), percent_encode(value)))
        .collect();
    pairs.sort();
    join_pairs(&pairs)
}

/// `METHOD&%2F&enc(canonical)`: the canonical string is encoded a second time (§2.1 step 5).
pub fn rpc_string_to_sign(method: &str, canonical_query: &str) -> String {
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode("/"),
        percent_encode(canonical_query)
    )
}

/// Base64 of HMAC-SHA1 keyed with the secret followed by `&` (§2.1 step 6).
pub fn rpc_signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let key = format!("{access_key_secret}&");
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Signs the complete parameter set of an RPC request (common and business parameters alike).
pub fn sign_rpc<'a>(
    method: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    access_key_secret: &str,
) -> RpcSignature {
    let canonical_query = rpc_canonical_query(params);
    let string_to_sign = rpc_string_to_sign(method, &canonical_query);
    let signature = rpc_signature(access_key_secret, &string_to_sign);
    RpcSignature {
        canonical_query,
        string_to_sign,
        signature,
    }
}

/// What an ACS3-HMAC-SHA256 signature covers.
#[derive(Debug, Clone)]
pub struct Acs3Input<'a> {
    pub method: &'a str,
    /// `/` for RPC APIs.
    pub canonical_uri: &'a str,
    /// Query parameters, decoded (they are encoded here).
    pub query: Vec<(&'a str, &'a str)>,
    /// The headers to sign, every one of them: `host` and the `x-acs-*` headers at least.
    pub headers: Vec<(&'a str, &'a str)>,
    pub payload: &'a [u8],
    pub access_key_id: &'a str,
    pub access_key_secret: &'a str,
}

/// Every step of an ACS3-HMAC-SHA256 signature (ecs-api.md §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acs3Signature {
    pub hashed_payload: String,
    pub canonical_query: String,
    pub canonical_headers: String,
    pub signed_headers: String,
    pub canonical_request: String,
    pub hashed_canonical_request: String,
    pub string_to_sign: String,
    /// Lowercase hex of the HMAC.
    pub signature: String,
    /// The value of the `Authorization` header.
    pub authorization: String,
}

/// Lowercase hex SHA-256 of a request body: the `x-acs-content-sha256` header.
pub fn hashed_payload(payload: &[u8]) -> String {
    hex::encode(Sha256::digest(payload))
}

/// The canonical query of ACS3: pairs sorted by name, values encoded as in the RPC signature.
/// The SDK encodes only the values; names are encoded here too, which changes nothing for ECS
/// names (`[A-Za-z0-9.]`, §2.2 "Canonical query detail") and keeps odd names unambiguous.
pub fn acs3_canonical_query<'a>(query: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .into_iter()
        .map(|(name, value)| (percent_encode(name), percent_encode(value)))
        .collect();
    pairs.sort();
    join_pairs(&pairs)
}

/// Canonical headers (`name:trimmed-value\n` each, names lowercased, sorted) and the signed
/// headers list (`name;name`).
pub fn acs3_canonical_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (String, String) {
    let mut lines: Vec<(String, &str)> = headers
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim()))
        .collect();
    lines.sort();
    let canonical = lines
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect::<String>();
    let signed = lines
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (canonical, signed)
}

/// Signs one request with ACS3-HMAC-SHA256. The key is the secret itself, with no `&` suffix.
pub fn sign_acs3(input: &Acs3Input<'_>) -> Acs3Signature {
    let hashed_payload = hashed_payload(input.payload);
    let canonical_query = acs3_canonical_query(input.query.iter().copied());
    let (canonical_headers, signed_headers) = acs3_canonical_headers(input.headers.iter().copied());
    // The header block ends in "\n" and is followed by "\n": the blank line is part of the format.
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method.to_ascii_uppercase(),
        input.canonical_uri,
        canonical_query,
        canonical_headers,
        signed_headers,
        hashed_payload
    );
    let hashed_canonical_request = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    let string_to_sign = format!("{ACS3_ALGORITHM}\n{hashed_canonical_request}");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(input.access_key_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let authorization = format!(
        "{ACS3_ALGORITHM} Credential={},SignedHeaders={},Signature={}",
        input.access_key_id, signed_headers, signature
    );
    Acs3Signature {
        hashed_payload,
        canonical_query,
        canonical_headers,
        signed_headers,
        canonical_request,
        hashed_canonical_request,
        string_to_sign,
        signature,
        authorization,
    }
}

fn join_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
