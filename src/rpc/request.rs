//! One signed attempt of an ECS request, built as plain data: the encoded query string and the
//! headers to send. Pure: the clock reading and the nonce come in as arguments, so each retry
//! calls this again with fresh ones (a reused nonce is rejected with `SignatureNonceUsed`,
//! ecs-api.md §2.1). Like the current official SDK, every business parameter goes in the query
//! string of a `POST /` with an empty body (§1). Sending it is `client`'s job.

use jiff::Timestamp;

use crate::rpc::keys::Credentials;
use crate::rpc::sign::{
    self, Acs3Input, EMPTY_PAYLOAD_SHA256, acs3_canonical_query, percent_encode,
};

/// Which signature the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureScheme {
    /// ACS3-HMAC-SHA256 in the `Authorization` header: what current official SDKs send.
    #[default]
    Acs3HmacSha256,
    /// The older RPC HMAC-SHA1 signature (`SignatureVersion=1.0`) in the query string.
    RpcHmacSha1,
}

/// `Version` of the ECS API (ecs-api.md §1).
pub const API_VERSION: &str = "2014-05-26";

/// Parameter names that the RPC signature adds itself; a business parameter must not use them,
/// or the request would carry two values for one name.
pub const RESERVED_PARAMS: &[&str] = &[
    "Action",
    "Version",
    "Format",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "SignatureType",
    "Timestamp",
    "SecurityToken",
    "Signature",
];

/// What goes on the wire for one attempt.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The query string, without the leading `?`, every name and value percent-encoded.
    pub query: String,
    /// Headers to send, lowercase names. User-Agent and Accept are set by the client.
    pub headers: Vec<(&'static str, String)>,
}

// The query of an RPC request holds the signature and, with STS, the security token; the headers
// of an ACS3 request hold the token too. Never print them.
impl std::fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignedRequest { .. }")
    }
}

/// The `yyyy-MM-ddTHH:mm:ssZ` form of `Timestamp` (V1) and `x-acs-date` (V3).
pub fn format_request_time(now: Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Signs one attempt of `action` with its business `params` for the endpoint `host` (the value of
/// the `Host` header, with `:port` when the port is not the scheme's default).
pub fn sign_request(
    scheme: SignatureScheme,
    action: &str,
    params: &[(&str, &str)],
    host: &str,
    credentials: &Credentials,
    now: Timestamp,
    nonce: &str,
) -> SignedRequest {
    sign_request_with_version(
        scheme,
        API_VERSION,
        action,
        params,
        host,
        credentials,
        now,
        nonce,
    )
}

/// [`sign_request`] for another RPC product than ECS (STS: `2015-04-01`), which is signed the
/// same way with its own `Version`.
#[allow(clippy::too_many_arguments)]
pub fn sign_request_with_version(
    scheme: SignatureScheme,
    version: &str,
    action: &str,
    params: &[(&str, &str)],
    host: &str,
    credentials: &Credentials,
    now: Timestamp,
    nonce: &str,
) -> SignedRequest {
    match scheme {
        SignatureScheme::RpcHmacSha1 => {
            sign_rpc(version, action, params, host, credentials, now, nonce)
        }
        SignatureScheme::Acs3HmacSha256 => {
            sign_acs3(version, action, params, host, credentials, now, nonce)
        }
    }
}

fn sign_rpc(
    version: &str,
    action: &str,
    params: &[(&str, &str)],
    host: &str,
    credentials: &Credentials,
    now: Timestamp,
    nonce: &str,
) -> SignedRequest {
    let timestamp = format_request_time(now);
    let mut all: Vec<(&str, &str)> = vec![
        ("Action", action),
        ("Version", version),
        ("Format", "JSON"),
        ("AccessKeyId", &credentials.access_key_id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce),
        ("Timestamp", &timestamp),
    ];
    // With STS credentials the token is an ordinary, signed parameter (§2.1).
    if let Some(token) = &credentials.security_token {
        all.push(("SecurityToken", token.expose()));
    }
    all.extend_from_slice(params);
    let signed = sign::sign_rpc("POST", all, credentials.access_key_secret.expose());
    let query = format!(
        "{}&Signature={}",
        signed.canonical_query,
        percent_encode(&signed.signature)
    );
    // The SDK in V2 mode also sends these two headers (wire captures); harmless and informative.
    let headers = vec![
        ("host", host.to_string()),
        ("x-acs-action", action.to_string()),
        ("x-acs-version", version.to_string()),
    ];
    SignedRequest { query, headers }
}

fn sign_acs3(
    version: &str,
    action: &str,
    params: &[(&str, &str)],
    host: &str,
    credentials: &Credentials,
    now: Timestamp,
    nonce: &str,
) -> SignedRequest {
    let mut headers: Vec<(&'static str, String)> = vec![
        ("host", host.to_string()),
        ("x-acs-action", action.to_string()),
        ("x-acs-version", version.to_string()),
        ("x-acs-date", format_request_time(now)),
        ("x-acs-signature-nonce", nonce.to_string()),
        ("x-acs-content-sha256", EMPTY_PAYLOAD_SHA256.to_string()),
    ];
    if let Some(token) = &credentials.security_token {
        // The SDK sends the key id beside the token (§2.2); both are signed like every x-acs-*.
        headers.push(("x-acs-accesskey-id", credentials.access_key_id.clone()));
        headers.push(("x-acs-security-token", token.expose().to_string()));
    }
    let signed = sign::sign_acs3(&Acs3Input {
        method: "POST",
        canonical_uri: "/",
        query: params.to_vec(),
        headers: headers.iter().map(|(n, v)| (*n, v.as_str())).collect(),
        payload: b"",
        access_key_id: &credentials.access_key_id,
        access_key_secret: credentials.access_key_secret.expose(),
    });
    headers.push(("authorization", signed.authorization));
    SignedRequest {
        query: acs3_canonical_query(params.iter().copied()),
        headers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::keys::Secret;

    fn creds(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "testid".into(),
            access_key_secret: Secret::new("testsecret"),
            security_token: token.map(Secret::new),
            source: "test",
        }
    }

    fn at() -> Timestamp {
        "2026-11-22T10:20:30Z".parse().expect("valid time")
    }

    fn header<'a>(req: &'a SignedRequest, name: &str) -> Option<&'a str> {
        req.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn acs3_request_reproduces_the_sdk_vector_for_modify() {
        // Vector "v3_ModifyInstanceAutoRenewAttribute_POST_query_params" of the JSON file.
        let params = [
            ("RegionId", "cn-hangzhou"),
            ("InstanceId", "i-aaa111,i-bbb222"),
            ("RenewalStatus", "AutoRenewal"),
            ("Duration", "1"),
            ("PeriodUnit", "Month"),
        ];
        let req = sign_request(
            SignatureScheme::Acs3HmacSha256,
            "ModifyInstanceAutoRenewAttribute",
            &params,
            "ecs.cn-hangzhou.aliyuncs.com",
            &creds(None),
            at(),
            "9f0c2e7a-1d4b-4c55-8a21-6b3f00d1e2c4",
        );
        assert_eq!(
            header(&req, "authorization"),
            Some(
                "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;\
                 x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,\
                 Signature=0805dc1a902cc31d50390e7237b25cc7b4550f6ea8427770857f31fbac927384"
            )
        );
        assert_eq!(
            req.query,
            "Duration=1&InstanceId=i-aaa111%2Ci-bbb222&PeriodUnit=Month&RegionId=cn-hangzhou\
             &RenewalStatus=AutoRenewal"
        );
        assert_eq!(header(&req, "x-acs-date"), Some("2026-11-22T10:20:30Z"));
        assert_eq!(header(&req, "x-acs-security-token"), None);
    }

    #[test]
    fn acs3_request_with_sts_reproduces_the_sdk_vector() {
        let params = [
            ("InstanceId", "i-aaa111"),
            ("Period", "1"),
            ("PeriodUnit", "Month"),
            ("ClientToken", "renewctl-0123456789abcdef"),
        ];
        let req = sign_request(
            SignatureScheme::Acs3HmacSha256,
            "RenewInstance",
            &params,
            "ecs.cn-hangzhou.aliyuncs.com",
            &creds(Some("CAIS+test/Token==with+slash/and=eq")),
            at(),
            "5b1a7c3e-2f90-4d6e-b8a4-0c9e71f2d3a5",
        );
        let auth = header(&req, "authorization").expect("signed");
        assert!(
            auth.ends_with(
                "Signature=f97e1d27ba9a058cbfee0f9c370855c52e6a6137aa15af6a276a167f386ffbe1"
            ),
            "{auth}"
        );
        assert_eq!(header(&req, "x-acs-accesskey-id"), Some("testid"));
    }

    #[test]
    fn rpc_request_reproduces_the_sdk_vector_with_sts_and_signs_last() {
        // Vector "c_RenewInstance_POST_clienttoken_sts".
        let params = [
            ("InstanceId", "i-aaa111"),
            ("Period", "1"),
            ("PeriodUnit", "Month"),
            ("ClientToken", "renewctl-0123456789abcdef"),
        ];
        let req = sign_request(
            SignatureScheme::RpcHmacSha1,
            "RenewInstance",
            &params,
            "ecs.cn-hangzhou.aliyuncs.com",
            &creds(Some("CAIS+test/Token==with+slash/and=eq")),
            at(),
            "5b1a7c3e-2f90-4d6e-b8a4-0c9e71f2d3a5",
        );
        assert!(
            req.query
                .ends_with("&Signature=lZkqqKkPh3haBG6Rj9k2UVk3I5E%3D"),
            "{}",
            req.query
        );
        assert!(
            req.query
                .contains("SecurityToken=CAIS%2Btest%2FToken%3D%3Dwith")
        );
        assert_eq!(header(&req, "authorization"), None);
    }

    #[test]
    fn debug_never_shows_the_query_or_headers() {
        let req = sign_request(
            SignatureScheme::Acs3HmacSha256,
            "RenewInstance",
            &[],
            "h",
            &creds(Some("token-value-xyz")),
            at(),
            "n",
        );
        assert!(!format!("{req:?}").contains("token-value-xyz"));
    }
}
