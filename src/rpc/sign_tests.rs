//! The signers against every vector of `tests/data/signature-vectors.json`, which the official
//! SDKs computed (ecs-api.md §2.3): each RPC vector, the legacy full flow, each ACS3 vector step by
//! step, and each loopback wire capture of the real generated ECS client, recomputed from what it
//! actually sent.

use super::*;
use serde_json::Value;

const VECTORS: &str = include_str!("../../tests/data/signature-vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("the vector file is valid JSON")
}

fn list<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is a list"))
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut at = v;
    for key in path {
        at = &at[*key];
    }
    at.as_str()
        .unwrap_or_else(|| panic!("{path:?} is a string in {v}"))
}

fn pairs(v: &Value) -> Vec<(&str, &str)> {
    v.as_object()
        .expect("an object of strings")
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().expect("string value")))
        .collect()
}

#[test]
fn percent_encoding_follows_rfc3986_with_uppercase_hex() {
    assert_eq!(percent_encode("a b"), "a%20b");
    assert_eq!(percent_encode("*~/+,=&"), "%2A~%2F%2B%2C%3D%26");
    assert_eq!(percent_encode("A-Za-z0-9-_.~"), "A-Za-z0-9-_.~");
    assert_eq!(percent_encode("中"), "%E4%B8%AD");
    assert_eq!(
        percent_encode("!'()%;:@$?#[]"),
        "%21%27%28%29%25%3B%3A%40%24%3F%23%5B%5D"
    );
}

#[test]
fn every_rpc_vector_matches_step_by_step() {
    let v = vectors();
    let rpc = list(&v, "rpc_hmac_sha1_v1");
    assert_eq!(rpc.len(), 5, "vectors a to e");
    for vector in rpc {
        let name = s(vector, &["name"]);
        let params = pairs(&vector["inputs"]["parameters"]);
        let signed = sign_rpc(
            s(vector, &["inputs", "method"]),
            params,
            s(vector, &["inputs", "access_key_secret"]),
        );
        assert_eq!(
            signed.canonical_query,
            s(vector, &["outputs", "canonicalized_query_string"]),
            "{name}"
        );
        assert_eq!(
            signed.string_to_sign,
            s(vector, &["outputs", "string_to_sign"]),
            "{name}"
        );
        assert_eq!(
            signed.signature,
            s(vector, &["outputs", "signature"]),
            "{name}"
        );
        assert_eq!(
            percent_encode(&signed.signature),
            s(vector, &["outputs", "signature_query_value_urlencoded"]),
            "{name}"
        );
    }
}

#[test]
fn the_legacy_full_flow_matches_including_the_empty_signature_type() {
    let v = vectors();
    let flows = list(&v, "legacy_core_full_flow");
    assert!(!flows.is_empty());
    for flow in flows {
        let name = s(flow, &["name"]);
        let params = pairs(&flow["outputs"]["signed_parameters"]);
        let signed = sign_rpc(
            s(flow, &["inputs", "method"]),
            params,
            s(flow, &["inputs", "access_key_secret"]),
        );
        assert_eq!(
            signed.string_to_sign,
            s(flow, &["outputs", "string_to_sign"]),
            "{name}"
        );
        assert_eq!(
            signed.signature,
            s(flow, &["outputs", "signature"]),
            "{name}"
        );
        // The request line the SDK built carries that signature, URL-encoded, as its last pair.
        let path = s(flow, &["outputs", "request_path_and_query"]);
        assert!(
            path.ends_with(&format!("&Signature={}", percent_encode(&signed.signature))),
            "{name}: {path}"
        );
    }
}

#[test]
fn every_acs3_vector_matches_step_by_step() {
    let v = vectors();
    let acs3 = list(&v, "acs3_hmac_sha256");
    assert_eq!(acs3.len(), 4);
    for vector in acs3 {
        let name = s(vector, &["name"]);
        let inputs = &vector["inputs"];
        let outputs = &vector["outputs"];
        let signed = sign_acs3(&Acs3Input {
            method: s(inputs, &["method"]),
            canonical_uri: s(inputs, &["pathname"]),
            query: pairs(&inputs["query"]),
            headers: pairs(&inputs["headers"]),
            payload: s(inputs, &["payload_utf8"]).as_bytes(),
            access_key_id: s(inputs, &["access_key_id"]),
            access_key_secret: s(inputs, &["access_key_secret"]),
        });
        let expect = |key: &str| s(outputs, &[key]).to_string();
        assert_eq!(signed.hashed_payload, expect("hashed_payload"), "{name}");
        assert_eq!(
            signed.canonical_query,
            expect("canonical_query_string"),
            "{name}"
        );
        assert_eq!(
            signed.canonical_headers,
            expect("canonical_headers"),
            "{name}"
        );
        assert_eq!(signed.signed_headers, expect("signed_headers"), "{name}");
        assert_eq!(
            signed.canonical_request,
            expect("canonical_request"),
            "{name}"
        );
        assert_eq!(
            signed.hashed_canonical_request,
            expect("hashed_canonical_request"),
            "{name}"
        );
        assert_eq!(signed.string_to_sign, expect("string_to_sign"), "{name}");
        assert_eq!(signed.signature, expect("signature"), "{name}");
        assert_eq!(signed.authorization, expect("authorization"), "{name}");
    }
}

/// Splits a captured `/?a=b&c=d` request target into decoded pairs, the way a server reads it
/// (`+` is a space in a query string).
fn decoded_query(raw_path: &str) -> Vec<(String, String)> {
    let query = raw_path.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[test]
fn every_loopback_wire_capture_verifies_from_what_was_sent() {
    let v = vectors();
    let captures = list(&v, "loopback_wire_captures");
    assert_eq!(captures.len(), 8);
    let (mut rpc_seen, mut acs3_seen) = (0, 0);
    for capture in captures {
        let method = s(capture, &["method"]);
        let query = decoded_query(s(capture, &["raw_path"]));
        let headers: Vec<(&str, &str)> = capture["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|h| (h[0].as_str().expect("name"), h[1].as_str().expect("value")))
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        if let Some(sent) = query.iter().find(|(k, _)| k == "Signature") {
            rpc_seen += 1;
            // What the SDK sent, minus the signature, is what the verify block says it signed.
            let unsigned: Vec<(&str, &str)> = query
                .iter()
                .filter(|(k, _)| k != "Signature")
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let expected = pairs(&capture["verify"]["decoded_query_without_signature"]);
            let mut a = unsigned.clone();
            let mut b = expected.clone();
            a.sort();
            b.sort();
            assert_eq!(a, b);
            let signed = sign_rpc(method, unsigned, "testsecret");
            assert_eq!(signed.signature, sent.1);
            assert_eq!(signed.signature, s(capture, &["verify", "sent_signature"]));
        } else {
            acs3_seen += 1;
            let sent = header("Authorization").expect("an Authorization header");
            let to_sign: Vec<(&str, &str)> = capture["verify"]["signed_headers"]
                .as_array()
                .expect("signed header names")
                .iter()
                .map(|n| {
                    let n = n.as_str().expect("name");
                    (n, header(n).expect("a signed header was sent"))
                })
                .collect();
            let signed = sign_acs3(&Acs3Input {
                method,
                canonical_uri: "/",
                query: query
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect(),
                headers: to_sign,
                payload: s(capture, &["body"]).as_bytes(),
                access_key_id: "testid",
                access_key_secret: "testsecret",
            });
            assert_eq!(signed.authorization, sent);
            assert_eq!(
                Some(signed.hashed_payload.as_str()),
                header("x-acs-content-sha256")
            );
        }
    }
    assert_eq!((rpc_seen, acs3_seen), (4, 4));
}

#[test]
fn a_changed_byte_changes_both_signatures() {
    let a = sign_rpc("POST", [("Action", "RenewInstance"), ("Period", "1")], "k");
    let b = sign_rpc("POST", [("Action", "RenewInstance"), ("Period", "2")], "k");
    let c = sign_rpc("GET", [("Action", "RenewInstance"), ("Period", "1")], "k");
    assert_ne!(a.signature, b.signature);
    assert_ne!(a.signature, c.signature);
    let input = |secret| Acs3Input {
        method: "POST",
        canonical_uri: "/",
        query: vec![("InstanceId", "i-1")],
        headers: vec![("host", "h"), ("x-acs-action", "RenewInstance")],
        payload: b"",
        access_key_id: "id",
        access_key_secret: secret,
    };
    assert_ne!(
        sign_acs3(&input("s1")).signature,
        sign_acs3(&input("s2")).signature
    );
    assert_eq!(sign_acs3(&input("s1")).hashed_payload, EMPTY_PAYLOAD_SHA256);
}
