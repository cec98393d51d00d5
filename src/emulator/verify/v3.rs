//! The ACS3-HMAC-SHA256 signature (V3, the current SDKs' default), computed from the server side
//! as ecs-api.md §2.2 describes: the canonical request built from the method, `/`, the query
//! parameters as decoded and re-encoded, exactly the headers the client listed in
//! `SignedHeaders`, and the body hash; then `HMAC-SHA256(secret, "ACS3-HMAC-SHA256\n" + hash)`.
//!
//! Pure functions only. Which headers must be signed, and in which order a request's pieces are
//! checked, is decided in `verify/mod.rs`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::emulator::encode::percent_encode;

pub(crate) const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// The parts of an `Authorization: ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    pub algorithm: String,
    pub credential: String,
    /// Lower-cased, sorted, without duplicates.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Splits an `Authorization` value; `None` when a part is missing or empty.
pub(crate) fn parse_authorization(value: &str) -> Option<Authorization> {
    let (algorithm, rest) = value.trim().split_once(char::is_whitespace)?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, val) = part.trim().split_once('=')?;
        match name.trim() {
            "Credential" => credential = Some(val.trim()),
            "SignedHeaders" => signed = Some(val.trim()),
            "Signature" => signature = Some(val.trim()),
            _ => return None,
        }
    }
    let mut signed_headers: Vec<String> = signed?
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    signed_headers.sort();
    signed_headers.dedup();
    let auth = Authorization {
        algorithm: algorithm.to_owned(),
        credential: credential?.to_owned(),
        signed_headers,
        signature: signature?.to_owned(),
    };
    (!auth.credential.is_empty() && !auth.signature.is_empty() && !auth.signed_headers.is_empty())
        .then_some(auth)
}

/// The canonical query strings a client may have signed: decoded query parameters re-encoded per
/// RFC 3986 and sorted (the SDK sends spaces as `+` on the wire but signs `%20`; decoding first
/// makes both agree). The Go SDK writes a parameter with an empty value as `key=`, the official
/// Python SDK as a bare `key` (both are official; the second form is made only when some value
/// is empty).
pub(crate) fn canonical_query_forms(params: &[(&str, &str)]) -> Vec<String> {
    let mut forms = vec![canonical_query_with(params.iter().copied(), false)];
    if params.iter().any(|(_, v)| v.is_empty()) {
        forms.push(canonical_query_with(params.iter().copied(), true));
    }
    forms
}

/// `bare_empty`: an empty value is written `key` rather than `key=`.
fn canonical_query_with<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    bare_empty: bool,
) -> String {
    let mut encoded: Vec<(String, String)> = params
        .into_iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| {
            if bare_empty && v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical header block for the signed names: `name:value\n` each, values trimmed, several
/// values of one name sorted and joined with `,` (as the SDK does). `Err(name)` names a signed
/// header the request does not carry.
pub(crate) fn canonical_headers(
    headers: &[(String, String)],
    signed: &[String],
) -> Result<String, String> {
    let mut block = String::new();
    for name in signed {
        let mut values: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .collect();
        if values.is_empty() {
            return Err(name.clone());
        }
        values.sort_unstable();
        block.push_str(name);
        block.push(':');
        block.push_str(&values.join(","));
        block.push('\n');
    }
    Ok(block)
}

pub(crate) fn canonical_request(
    method: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &[String],
    hashed_payload: &str,
) -> String {
    format!(
        "{method}\n/\n{canonical_query}\n{canonical_headers}\n{}\n{hashed_payload}",
        signed_headers.join(";")
    )
}

pub(crate) fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// Lower-case hex `HMAC-SHA256(secret, string_to_sign)`; the key has no `&` suffix here.
pub(crate) fn signature(secret: &str, string_to_sign: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../../../tests/data/signature-vectors.json"))
            .expect("vectors are JSON")
    }

    fn strings(object: &Value) -> Vec<(String, String)> {
        object
            .as_object()
            .expect("an object")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("string").to_owned()))
            .collect()
    }

    #[test]
    fn every_acs3_vector_verifies() {
        let vectors = vectors();
        let list = vectors["acs3_hmac_sha256"].as_array().expect("list");
        assert_eq!(list.len(), 4);
        for v in list {
            let (inputs, out) = (&v["inputs"], &v["outputs"]);
            let query = strings(&inputs["query"]);
            let headers = strings(&inputs["headers"]);
            let payload = inputs["payload_utf8"].as_str().expect("payload");

            let auth = parse_authorization(out["authorization"].as_str().expect("auth"))
                .expect("the vector's Authorization parses");
            assert_eq!(auth.algorithm, ALGORITHM);
            assert_eq!(
                auth.credential,
                inputs["access_key_id"].as_str().expect("id")
            );
            assert_eq!(
                auth.signed_headers.join(";"),
                out["signed_headers"].as_str().expect("sh")
            );

            let hashed = sha256_hex(payload.as_bytes());
            assert_eq!(hashed, out["hashed_payload"]);
            let pairs: Vec<(&str, &str)> = query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let cq = canonical_query_forms(&pairs).remove(0);
            assert_eq!(cq, out["canonical_query_string"], "{}", v["name"]);
            let ch = canonical_headers(&headers, &auth.signed_headers).expect("all present");
            assert_eq!(ch, out["canonical_headers"], "{}", v["name"]);
            let cr = canonical_request("POST", &cq, &ch, &auth.signed_headers, &hashed);
            assert_eq!(cr, out["canonical_request"], "{}", v["name"]);
            let sts = string_to_sign(&cr);
            assert_eq!(sts, out["string_to_sign"]);
            let secret = inputs["access_key_secret"].as_str().expect("secret");
            assert_eq!(signature(secret, &sts), out["signature"], "{}", v["name"]);
            assert_eq!(auth.signature, signature(secret, &sts));
            assert_ne!(
                signature("testsecret&", &sts),
                out["signature"],
                "no & suffix in V3"
            );
        }
    }

    #[test]
    fn an_empty_value_is_signed_either_way() {
        let forms = canonical_query_forms(&[("b", "2"), ("a", "")]);
        assert_eq!(forms, vec!["a=&b=2".to_string(), "a&b=2".to_string()]);
        assert_eq!(
            canonical_query_forms(&[("a", "1")]),
            vec!["a=1".to_string()]
        );
    }

    #[test]
    fn authorization_parsing_rejects_incomplete_values() {
        assert!(
            parse_authorization("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=ab")
                .is_some()
        );
        assert!(parse_authorization("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host").is_none());
        assert!(parse_authorization("ACS3-HMAC-SHA256").is_none());
        assert!(
            parse_authorization("ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=ab")
                .is_none()
        );
        assert!(
            parse_authorization(
                "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=ab,Extra=1"
            )
            .is_none()
        );
        assert!(parse_authorization("").is_none());
    }

    #[test]
    fn a_signed_header_that_is_absent_is_named() {
        let headers = vec![("host".to_owned(), "h".to_owned())];
        let signed = vec!["host".to_owned(), "x-acs-date".to_owned()];
        assert_eq!(
            canonical_headers(&headers, &signed),
            Err("x-acs-date".to_owned())
        );
    }
}
