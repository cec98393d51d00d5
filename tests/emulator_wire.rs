//! The emulator against the bytes the official Python SDK really sent (the loopback wire captures
//! in `tests/data/signature-vectors.json`, V2 HMAC-SHA1 and V3 ACS3-HMAC-SHA256, with and without
//! STS): each is accepted through the real HTTP server with the clock frozen at the capture time,
//! and every kind of tampering is refused with the gateway's code.
//!
//! Requests are written as raw HTTP/1.1 so the captured `host` header and query bytes reach the
//! server exactly as the SDK produced them.

use std::net::SocketAddr;

use renewctl::emulator::{Clock, EmulatorHandle, EmulatorOptions, Fleet, start};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CAPTURE_TIME: &str = "2026-11-22T10:20:30Z";
const TOKEN: &str = "CAIS+test/Token==with+slash/and=eq";

fn fleet(key_id: &str, secret: &str, token: Option<&str>) -> Fleet {
    let token = token
        .map(|t| format!(", security_token: {t:?}"))
        .unwrap_or_default();
    Fleet::from_yaml_str(&format!(
        r#"
access_keys: [{{id: {key_id}, secret: {secret}{token}}}]
regions:
  cn-hangzhou:
    - id: i-aaa111
      expired_time: 2026-12-01T16:00Z
      tags: {{"env name*~/+中": "prod a*b~c/d+e 生产"}}
    - id: i-bbb222
      expired_time: 2027-01-01T16:00Z
"#
    ))
    .expect("valid fleet")
}

async fn emulator_at(fleet: Fleet, at: &str) -> EmulatorHandle {
    let options = EmulatorOptions {
        clock: Clock::Fixed(at.parse().expect("valid time")),
        ..EmulatorOptions::default()
    };
    start(fleet, "127.0.0.1:0".parse().expect("addr"), options)
        .await
        .expect("emulator starts")
}

async fn plain() -> EmulatorHandle {
    emulator_at(fleet("testid", "testsecret", None), CAPTURE_TIME).await
}

async fn sts() -> EmulatorHandle {
    emulator_at(fleet("testid", "testsecret", Some(TOKEN)), CAPTURE_TIME).await
}

#[derive(Debug, Clone)]
struct Capture {
    name: String,
    method: String,
    raw_path: String,
    headers: Vec<(String, String)>,
    body: String,
    sts: bool,
    expected: Value,
}

fn captures() -> Vec<Capture> {
    let vectors: Value =
        serde_json::from_str(include_str!("data/signature-vectors.json")).expect("json");
    vectors["loopback_wire_captures"]
        .as_array()
        .expect("captures")
        .iter()
        .enumerate()
        .map(|(n, c)| Capture {
            name: format!(
                "capture {n} ({} {})",
                c["action"].as_str().unwrap_or_default(),
                c["sdk_signature_algorithm_config"]
                    .as_str()
                    .unwrap_or_default()
            ),
            method: c["method"].as_str().expect("method").to_owned(),
            raw_path: c["raw_path"].as_str().expect("path").to_owned(),
            headers: c["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .map(|h| {
                    (
                        h[0].as_str().expect("name").to_owned(),
                        h[1].as_str().expect("value").to_owned(),
                    )
                })
                .collect(),
            body: c["body"].as_str().unwrap_or_default().to_owned(),
            sts: !c["security_token"].is_null(),
            expected: c["parsed_response_body"].clone(),
        })
        .collect()
}

impl Capture {
    fn is_v3(&self) -> bool {
        self.headers.iter().any(|(n, _)| n == "Authorization")
    }

    fn with_header(mut self, name: &str, value: &str) -> Capture {
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(header) => header.1 = value.to_owned(),
            None => self.headers.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Flips one character of the signature (V2 query parameter or V3 Authorization header).
    fn with_bad_signature(self) -> Capture {
        if self.is_v3() {
            let auth = self.header("Authorization").expect("auth").to_owned();
            let (head, sig) = auth.rsplit_once("Signature=").expect("signature");
            let flipped = flip_first(sig, "0123456789abcdef");
            self.with_header("Authorization", &format!("{head}Signature={flipped}"))
        } else {
            let (head, sig) = self.raw_path.rsplit_once("&Signature=").expect("signature");
            let flipped = flip_first(
                sig,
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            );
            Capture {
                raw_path: format!("{head}&Signature={flipped}"),
                ..self
            }
        }
    }

    /// Changes one business parameter's value after signing.
    fn with_changed_parameter(self) -> Capture {
        let raw_path = [
            ("PageSize=100", "PageSize=99"),
            ("Duration=1", "Duration=2"),
            ("Period=1", "Period=2"),
        ]
        .iter()
        .find(|(from, _)| self.raw_path.contains(from))
        .map(|(from, to)| self.raw_path.replacen(from, to, 1))
        .expect("every capture has a business parameter to change");
        Capture { raw_path, ..self }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    async fn send(&self, addr: SocketAddr) -> (u16, Value) {
        let mut request = format!("{} {} HTTP/1.1\r\n", self.method, self.raw_path);
        for (name, value) in &self.headers {
            if !name.eq_ignore_ascii_case("content-length") {
                request.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        request.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.body.len(),
            self.body
        ));
        send_raw(addr, request.as_bytes()).await
    }
}

fn flip_first(text: &str, alphabet: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let replacement = alphabet
        .chars()
        .find(|c| *c != chars[0])
        .expect("alphabet has two letters");
    chars[0] = replacement;
    chars.into_iter().collect()
}

/// Writes raw bytes, reads until the server closes, returns the status and the JSON body.
async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json;charset=utf-8"),
        "{head}"
    );
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_wire_capture_is_accepted_with_the_expected_shape() {
    let all = captures();
    assert_eq!(all.len(), 8);
    for capture in all {
        let emulator = if capture.sts {
            sts().await
        } else {
            plain().await
        };
        let (status, body) = capture.send(emulator.addr()).await;
        assert_eq!(status, 200, "{}: {body}", capture.name);
        for key in capture.expected.as_object().expect("object").keys() {
            assert!(
                body.get(key).is_some(),
                "{}: answer lacks {key}: {body}",
                capture.name
            );
        }
        assert!(
            body["RequestId"].as_str().is_some_and(|id| id.len() == 36),
            "{}",
            capture.name
        );
        if capture.raw_path.contains("Tag.1.Key") {
            // The tag filter (space, *, ~, /, +, CJK) matched the one tagged instance.
            assert_eq!(body["TotalCount"], 1, "{}: {body}", capture.name);
            assert_eq!(body["Instances"]["Instance"][0]["InstanceId"], "i-aaa111");
        }
        assert_eq!(emulator.stats().signature_rejections, 0);
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn the_captured_renewal_is_paid_once_across_v2_and_v3() {
    let renewals: Vec<Capture> = captures()
        .into_iter()
        .filter(|c| c.raw_path.contains("ClientToken="))
        .collect();
    assert_eq!(renewals.len(), 4);
    for sts_mode in [false, true] {
        let emulator = if sts_mode { sts().await } else { plain().await };
        let mut orders = Vec::new();
        for capture in renewals.iter().filter(|c| c.sts == sts_mode) {
            let (status, body) = capture.send(emulator.addr()).await;
            assert_eq!(status, 200, "{}: {body}", capture.name);
            orders.push(body["OrderId"].clone());
        }
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[0], orders[1], "same ClientToken, same order");
        let stats = emulator.stats();
        assert_eq!(stats.renewals.get("i-aaa111"), Some(&1));
        assert_eq!(stats.mutating_requests, 2);
        // 2026-12-01T16:00Z is Dec 2 00:00 in Beijing; one month later is Jan 2 00:00 Beijing.
        let instance = emulator.instance("i-aaa111").expect("present");
        assert_eq!(
            instance.expired_time.map(|t| t.to_string()).as_deref(),
            Some("2027-01-01T16:00:00Z")
        );
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn a_changed_signature_is_refused() {
    let emulator_plain = plain().await;
    let emulator_sts = sts().await;
    for capture in captures() {
        let emulator = if capture.sts {
            &emulator_sts
        } else {
            &emulator_plain
        };
        let (status, body) = capture
            .clone()
            .with_bad_signature()
            .send(emulator.addr())
            .await;
        assert_eq!(
            (status, &body["Code"]),
            (400, &Value::from("SignatureDoesNotMatch")),
            "{}",
            capture.name
        );
        let message = body["Message"].as_str().expect("message");
        assert!(
            message.starts_with(
                "Specified signature is not matched with our calculation. server string to sign is:"
            ),
            "{message}"
        );
        assert!(!message.contains("testsecret"), "never the secret");
        assert!(
            body["HostId"]
                .as_str()
                .is_some_and(|h| h.starts_with("ecs.") && h.ends_with(".aliyuncs.com")),
            "{}",
            capture.name
        );
    }
    assert_eq!(emulator_plain.stats().signature_rejections, 6);
    assert_eq!(emulator_sts.stats().renewals.len(), 0, "nothing renewed");
    // The refused requests did not burn their nonces: the genuine ones still pass.
    for capture in captures() {
        let emulator = if capture.sts {
            &emulator_sts
        } else {
            &emulator_plain
        };
        assert_eq!(
            capture.send(emulator.addr()).await.0,
            200,
            "{}",
            capture.name
        );
    }
}

#[tokio::test]
async fn the_wrong_secret_is_refused() {
    for capture in captures() {
        let token = capture.sts.then_some(TOKEN);
        let emulator = emulator_at(fleet("testid", "not-the-secret", token), CAPTURE_TIME).await;
        let (status, body) = capture.send(emulator.addr()).await;
        assert_eq!(
            (status, &body["Code"]),
            (400, &Value::from("SignatureDoesNotMatch")),
            "{}",
            capture.name
        );
        assert_eq!(emulator.stats().mutating_requests, 0);
        emulator.shutdown().await;
    }
}

#[tokio::test]
async fn a_parameter_changed_after_signing_is_refused() {
    let emulator_plain = plain().await;
    let emulator_sts = sts().await;
    for capture in captures() {
        let emulator = if capture.sts {
            &emulator_sts
        } else {
            &emulator_plain
        };
        let (status, body) = capture
            .clone()
            .with_changed_parameter()
            .send(emulator.addr())
            .await;
        assert_eq!(
            (status, &body["Code"]),
            (400, &Value::from("SignatureDoesNotMatch")),
            "{}: {body}",
            capture.name
        );
    }
    assert_eq!(
        emulator_plain.stats().mutating_requests + emulator_sts.stats().mutating_requests,
        0
    );
}

#[tokio::test]
async fn a_replayed_nonce_is_refused() {
    let emulator_plain = plain().await;
    let emulator_sts = sts().await;
    for capture in captures() {
        let emulator = if capture.sts {
            &emulator_sts
        } else {
            &emulator_plain
        };
        assert_eq!(
            capture.send(emulator.addr()).await.0,
            200,
            "{}",
            capture.name
        );
        let (status, body) = capture.send(emulator.addr()).await;
        assert_eq!(
            (status, &body["Code"]),
            (400, &Value::from("SignatureNonceUsed")),
            "{}",
            capture.name
        );
    }
}

#[tokio::test]
async fn a_stale_timestamp_is_refused_and_a_small_skew_is_not() {
    let late = emulator_at(fleet("testid", "testsecret", None), "2026-11-22T10:36:00Z").await;
    let early = emulator_at(fleet("testid", "testsecret", None), "2026-11-22T10:04:00Z").await;
    let close = emulator_at(fleet("testid", "testsecret", None), "2026-11-22T10:34:00Z").await;
    for capture in captures().into_iter().filter(|c| !c.sts) {
        for emulator in [&late, &early] {
            let (status, body) = capture.send(emulator.addr()).await;
            assert_eq!(
                (status, &body["Code"]),
                (400, &Value::from("InvalidTimeStamp.Expired")),
                "{}",
                capture.name
            );
        }
        assert_eq!(
            capture.send(close.addr()).await.0,
            200,
            "{} within 15 minutes",
            capture.name
        );
    }
}

#[tokio::test]
async fn v3_header_rules() {
    let emulator = plain().await;
    let v3 = captures()
        .into_iter()
        .find(|c| c.is_v3() && !c.sts)
        .expect("a V3 capture");
    let cases = [
        // An x-acs-* header that is not signed could be altered in transit.
        (
            v3.clone().with_header("x-acs-extra", "1"),
            "IncompleteSignature",
        ),
        // host is signed: another host means another canonical request.
        (
            v3.clone()
                .with_header("host", "ecs.cn-hangzhou.aliyuncs.com"),
            "SignatureDoesNotMatch",
        ),
        // The body hash header must match the body actually sent.
        (
            Capture {
                body: "x=1".to_owned(),
                ..v3.clone()
            },
            "SignatureDoesNotMatch",
        ),
        (
            v3.clone().with_header("x-acs-date", "22/11/2026 10:20"),
            "InvalidTimeStamp.Format",
        ),
        (
            v3.clone()
                .with_header("Authorization", "ACS3-HMAC-SHA256 Credential=testid"),
            "IncompleteSignature",
        ),
        (
            v3.clone().with_header(
                "Authorization",
                "HMAC-MD5 Credential=testid,SignedHeaders=host,Signature=00",
            ),
            "InvalidSignatureMethod",
        ),
        (
            v3.clone().with_header("x-acs-version", "2099-01-01"),
            "InvalidVersion",
        ),
        (
            v3.clone().with_header("x-acs-action", "DeleteInstance"),
            "InvalidApi.NotFound",
        ),
    ];
    for (capture, code) in cases {
        let (_, body) = capture.send(emulator.addr()).await;
        assert_eq!(body["Code"], code, "{:?}", capture.headers);
    }
    // Header names are case-insensitive, extra unsigned non-x-acs headers are fine.
    let (status, _) = v3
        .with_header("X-Forwarded-For", "10.0.0.1")
        .send(emulator.addr())
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn sts_tokens_must_match_the_key() {
    let emulator_plain = plain().await;
    let emulator_sts = sts().await;
    for capture in captures() {
        let (emulator, code) = if capture.sts {
            (
                &emulator_plain,
                "InvalidSecurityToken.MismatchWithAccessKey",
            )
        } else {
            (&emulator_sts, "MissingSecurityToken")
        };
        let (status, body) = capture.send(emulator.addr()).await;
        assert_eq!(
            (status, &body["Code"]),
            (400, &Value::from(code)),
            "{}",
            capture.name
        );
    }
}

#[tokio::test]
async fn an_unknown_access_key_is_refused() {
    let emulator = emulator_at(fleet("someone-else", "testsecret", None), CAPTURE_TIME).await;
    for capture in captures().into_iter().filter(|c| !c.sts) {
        let (status, body) = capture.send(emulator.addr()).await;
        assert_eq!(
            (status, &body["Code"]),
            (404, &Value::from("InvalidAccessKeyId.NotFound")),
            "{}",
            capture.name
        );
    }
}
