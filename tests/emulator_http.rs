//! The emulator over real HTTP: fault injection (scripted and seeded), latency, the stats
//! endpoint, the gateway's refusals of malformed requests, survival of garbage input, many
//! concurrent clients on a large fleet, and the `renewctl emulator` command itself.
//!
//! Requests are signed by a small HMAC-SHA1 signer written here from ecs-api.md §2.1, separate
//! from both the client's and the emulator's code.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use renewctl::emulator::{
    Clock, EmulatorHandle, EmulatorOptions, FaultKind, Faults, Fleet, Stats, start,
};
use serde_json::Value;
use sha1::Sha1;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const NOW: &str = "2026-11-22T10:20:30Z";

const FLEET: &str = r#"
access_keys: [{id: LTAItest, secret: test-secret}]
regions:
  cn-hangzhou:
    - {id: i-one, expired_time: 2026-12-01T16:00Z, tags: {env: prod}}
    - {id: i-two, expired_time: 2027-01-01T16:00Z}
    - {id: i-payg, charge_type: PostPaid}
"#;

async fn emulator_with(fleet: &str, options: EmulatorOptions) -> EmulatorHandle {
    let options = EmulatorOptions {
        clock: Clock::Fixed(NOW.parse().expect("time")),
        ..options
    };
    let fleet = Fleet::from_yaml_str(fleet).expect("fleet");
    start(fleet, "127.0.0.1:0".parse().expect("addr"), options)
        .await
        .expect("start")
}

async fn emulator() -> EmulatorHandle {
    emulator_with(FLEET, EmulatorOptions::default()).await
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A signed V2 query string for `action` with `params`.
fn signed_query(action: &str, params: &[(&str, &str)]) -> String {
    signed_query_by(
        ("LTAItest", "test-secret", None),
        "2014-05-26",
        action,
        params,
    )
}

/// A signed V2 query string with another key (and STS token) or API version.
fn signed_query_by(
    (key_id, secret, token): (&str, &str, Option<&str>),
    version: &str,
    action: &str,
    params: &[(&str, &str)],
) -> String {
    let nonce = uuid::Uuid::new_v4().to_string();
    let mut common = vec![
        ("Action", action),
        ("Version", version),
        ("Format", "JSON"),
        ("AccessKeyId", key_id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce.as_str()),
        ("Timestamp", NOW),
    ];
    if let Some(token) = token {
        common.push(("SecurityToken", token));
    }
    let mut all: Vec<(String, String)> = common
        .iter()
        .chain(params.iter())
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    all.sort();
    let canonical = all
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("POST&%2F&{}", encode(&canonical));
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes()).expect("key");
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("{canonical}&Signature={}", encode(&signature))
}

/// What came back: an HTTP answer, or a connection closed without one.
#[derive(Debug)]
enum Reply {
    Answer(u16, Value),
    Closed,
}

impl Reply {
    fn code(&self) -> Option<String> {
        match self {
            Reply::Answer(_, body) => body["Code"].as_str().map(str::to_owned),
            Reply::Closed => None,
        }
    }

    fn status(&self) -> u16 {
        match self {
            Reply::Answer(status, _) => *status,
            Reply::Closed => 0,
        }
    }

    fn body(&self) -> &Value {
        match self {
            Reply::Answer(_, body) => body,
            Reply::Closed => &Value::Null,
        }
    }
}

async fn raw(addr: SocketAddr, bytes: &[u8]) -> Reply {
    exchange(addr, bytes, false).await
}

/// Sends `bytes`, optionally closes the write side (the client says it is done), reads the reply.
async fn exchange(addr: SocketAddr, bytes: &[u8], half_close: bool) -> Reply {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    if half_close {
        let _ = stream.shutdown().await;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Reply::Closed;
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply::Answer(status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn post(addr: SocketAddr, query: &str) -> Reply {
    let request = format!(
        "POST /?{query} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    raw(addr, request.as_bytes()).await
}

async fn call(emulator: &EmulatorHandle, action: &str, params: &[(&str, &str)]) -> Reply {
    post(emulator.addr(), &signed_query(action, params)).await
}

async fn get_stats(addr: SocketAddr) -> Stats {
    let request =
        format!("GET /_emulator/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    match raw(addr, request.as_bytes()).await {
        Reply::Answer(200, body) => serde_json::from_value(body).expect("stats JSON"),
        other => panic!("stats endpoint answered {other:?}"),
    }
}

const RENEW: [(&str, &str); 3] = [
    ("InstanceId", "i-one"),
    ("Period", "1"),
    ("ClientToken", "tok-1"),
];

#[tokio::test]
async fn stats_endpoint_counts_what_a_test_asserts_on() {
    let emulator = emulator().await;
    assert_eq!(
        get_stats(emulator.addr()).await,
        Stats::default(),
        "unsigned and empty"
    );
    let reply = call(
        &emulator,
        "DescribeInstances",
        &[("RegionId", "cn-hangzhou")],
    )
    .await;
    assert_eq!(reply.status(), 200);
    // A mutating request that fails validation still counts as mutating, but spends nothing.
    let reply = call(
        &emulator,
        "RenewInstance",
        &[("InstanceId", "i-payg"), ("Period", "1")],
    )
    .await;
    assert_eq!(reply.code().as_deref(), Some("ChargeTypeViolation"));
    assert_eq!(call(&emulator, "RenewInstance", &RENEW).await.status(), 200);
    let modify = [
        ("RegionId", "cn-hangzhou"),
        ("InstanceId", "i-two"),
        ("RenewalStatus", "NotRenewal"),
    ];
    assert_eq!(
        call(&emulator, "ModifyInstanceAutoRenewAttribute", &modify)
            .await
            .status(),
        200
    );
    post(
        emulator.addr(),
        "Action=DescribeRegions&Version=2014-05-26&AccessKeyId=LTAItest",
    )
    .await;

    let stats = get_stats(emulator.addr()).await;
    assert_eq!(stats, emulator.stats(), "HTTP and in-process views agree");
    assert_eq!(stats.requests, 5);
    assert_eq!(stats.mutating_requests, 3);
    assert_eq!(stats.renewals.get("i-one"), Some(&1));
    assert_eq!(stats.renewals.len(), 1);
    assert_eq!(stats.modifications, 1);
    assert_eq!(stats.signature_rejections, 1);
    assert_eq!(stats.by_action.get("RenewInstance"), Some(&2));
    assert_eq!(stats.by_action.get("DescribeRegions"), Some(&1));
    assert_eq!(
        emulator
            .instance("i-two")
            .map(|i| i.renewal_status)
            .as_deref(),
        Some("NotRenewal")
    );
}

#[tokio::test]
async fn throttle_and_server_error_faults_do_nothing() {
    let emulator = emulator().await;
    emulator.push_fault(Some("RenewInstance"), FaultKind::Throttle);
    emulator.push_fault(None, FaultKind::ServerError);
    // The scripted throttle waits for a RenewInstance; the unscoped 5xx takes the next request.
    let read = call(&emulator, "DescribeRegions", &[]).await;
    assert_eq!(
        (read.status(), read.code().as_deref()),
        (503, Some("ServiceUnavailable"))
    );
    let renew = call(&emulator, "RenewInstance", &RENEW).await;
    assert_eq!(
        (renew.status(), renew.code().as_deref()),
        (400, Some("Throttling.User"))
    );
    let stats = emulator.stats();
    assert_eq!(
        (
            stats.faults_injected,
            stats.mutating_requests,
            stats.renewals.len()
        ),
        (2, 0, 0)
    );
    // The same token then goes through: the throttled attempt left nothing behind.
    assert_eq!(call(&emulator, "RenewInstance", &RENEW).await.status(), 200);
    assert_eq!(emulator.stats().renewals.get("i-one"), Some(&1));
}

#[tokio::test]
async fn drop_after_commit_spends_the_money_and_the_retry_does_not() {
    let emulator = emulator().await;
    let before = emulator
        .instance("i-one")
        .and_then(|i| i.expired_time)
        .expect("prepaid");
    emulator.push_fault(Some("RenewInstance"), FaultKind::DropAfterCommit);
    assert!(matches!(
        call(&emulator, "RenewInstance", &RENEW).await,
        Reply::Closed
    ));
    let after = emulator
        .instance("i-one")
        .and_then(|i| i.expired_time)
        .expect("prepaid");
    assert!(
        after > before,
        "the renewal was committed before the connection dropped"
    );
    assert_eq!(emulator.stats().renewals.get("i-one"), Some(&1));
    // The client's retry with the same token is answered, without a second payment.
    let retry = call(&emulator, "RenewInstance", &RENEW).await;
    assert_eq!(retry.status(), 200);
    assert!(retry.body()["OrderId"].is_string());
    assert_eq!(emulator.stats().renewals.get("i-one"), Some(&1));
    assert_eq!(
        emulator.instance("i-one").and_then(|i| i.expired_time),
        Some(after)
    );
}

#[tokio::test]
async fn timeout_fault_holds_the_request_and_does_nothing() {
    let emulator = emulator().await;
    emulator.push_fault(Some("RenewInstance"), FaultKind::Timeout);
    let held = tokio::time::timeout(
        Duration::from_millis(500),
        call(&emulator, "RenewInstance", &RENEW),
    )
    .await;
    assert!(held.is_err(), "no answer while the fault holds the request");
    let stats = emulator.stats();
    assert_eq!(
        (
            stats.faults_injected,
            stats.mutating_requests,
            stats.renewals.len()
        ),
        (1, 0, 0)
    );
    // A held request does not keep shutdown waiting for its 30 seconds.
    emulator.push_fault(None, FaultKind::Timeout);
    let addr = emulator.addr();
    let pending =
        tokio::spawn(async move { post(addr, &signed_query("RenewInstance", &RENEW)).await });
    for _ in 0..500 {
        if emulator.stats().faults_injected == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        emulator.stats().faults_injected,
        2,
        "the second request is held"
    );
    let started = Instant::now();
    emulator.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(pending.await, Ok(Reply::Closed)),
        "closed without an answer"
    );
}

#[tokio::test]
async fn rate_faults_are_deterministic_per_seed() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let options = EmulatorOptions {
            faults: Faults {
                throttle: 0.3,
                server_error: 0.2,
                ..Faults::default()
            },
            fault_seed: seed,
            ..EmulatorOptions::default()
        };
        let emulator = emulator_with(FLEET, options).await;
        let mut out = Vec::new();
        for _ in 0..40 {
            out.push(call(&emulator, "DescribeRegions", &[]).await.status());
        }
        emulator.shutdown().await;
        out
    }
    let a = statuses(42).await;
    assert_eq!(a, statuses(42).await);
    assert_ne!(a, statuses(43).await);
    for status in [200, 400, 503] {
        assert!(a.contains(&status), "{a:?} lacks {status}");
    }
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let options = EmulatorOptions {
        latency: Duration::from_millis(150),
        ..EmulatorOptions::default()
    };
    let emulator = emulator_with(FLEET, options).await;
    let started = Instant::now();
    assert_eq!(call(&emulator, "DescribeRegions", &[]).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    // Latency overlaps across concurrent requests instead of queueing them.
    let started = Instant::now();
    let calls = (0..20).map(|_| call(&emulator, "DescribeRegions", &[]));
    for reply in futures_util::future::join_all(calls).await {
        assert_eq!(reply.status(), 200);
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn gateway_refusals() {
    let emulator = emulator().await;
    let addr = emulator.addr();
    let cases: Vec<(String, u16, &str)> = vec![
        ("GET /other?Action=DescribeRegions HTTP/1.1".into(), 404, "InvalidApi.NotFound"),
        ("PUT /?Action=DescribeRegions HTTP/1.1".into(), 404, "InvalidApi.NotFound"),
        ("GET / HTTP/1.1".into(), 400, "MissingAction"),
        ("GET /?Action=DeleteInstance&Version=2014-05-26 HTTP/1.1".into(), 404, "InvalidApi.NotFound"),
        ("GET /?Action=DescribeRegions HTTP/1.1".into(), 400, "MissingVersion"),
        ("GET /?Action=DescribeRegions&Version=2016-01-01 HTTP/1.1".into(), 400, "InvalidVersion"),
        ("GET /?Action=DescribeRegions&Version=2014-05-26 HTTP/1.1".into(), 400, "MissingAccessKeyId"),
        ("GET /?Action=DescribeRegions&Version=2014-05-26&AccessKeyId=x HTTP/1.1".into(), 400, "MissingSignature"),
        ("GET /?Action=DescribeRegions&Version=2014-05-26&AccessKeyId=x&Signature=y HTTP/1.1".into(), 400, "MissingSignatureMethod"),
        ("GET /?Action=DescribeRegions&Version=2014-05-26&AccessKeyId=x&Signature=y&SignatureMethod=HMAC-MD5 HTTP/1.1".into(), 400, "InvalidSignatureMethod"),
        ("GET /?Action=DescribeRegions&Version=2014-05-26&AccessKeyId=x&Signature=y&SignatureMethod=HMAC-SHA1&SignatureVersion=2.0 HTTP/1.1".into(), 400, "IncompleteSignature"),
        ("GET /?Action=DescribeRegions&Version=2014-05-26&AccessKeyId=x&Signature=y&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=n HTTP/1.1".into(), 400, "MissingTimestamp"),
        ("GET /?Action=DescribeRegions&Version=2014-05-26&AccessKeyId=x&Signature=y&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=n&Timestamp=yesterday HTTP/1.1".into(), 400, "InvalidTimeStamp.Format"),
        (format!("GET /?Action=DescribeRegions&Version=2014-05-26&AccessKeyId=x&Signature=y&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=n&Timestamp={} HTTP/1.1", encode(NOW)), 404, "InvalidAccessKeyId.NotFound"),
        ("GET /?x-acs-action=1 HTTP/1.1\r\nx-acs-action: DescribeRegions\r\nx-acs-version: 2014-05-26".into(), 400, "IncompleteSignature"),
    ];
    for (line, status, code) in cases {
        let request = format!("{line}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let reply = raw(addr, request.as_bytes()).await;
        assert_eq!(
            (reply.status(), reply.code().as_deref()),
            (status, Some(code)),
            "{line}"
        );
    }
}

#[tokio::test]
async fn form_bodies_and_get_requests_are_read_like_query_strings() {
    let emulator = emulator().await;
    let addr = emulator.addr();
    let body = signed_query(
        "DescribeInstances",
        &[("RegionId", "cn-hangzhou"), ("Tag.1.Key", "env")],
    );
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let reply = raw(addr, request.as_bytes()).await;
    assert_eq!(reply.status(), 200, "{reply:?}");
    assert_eq!(reply.body()["TotalCount"], 1);
    // The signature covers the method: a POST signature sent with GET is refused.
    let request = format!(
        "GET /?{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
        signed_query("DescribeRegions", &[])
    );
    assert_eq!(
        raw(addr, request.as_bytes()).await.code().as_deref(),
        Some("SignatureDoesNotMatch")
    );
}

#[tokio::test]
async fn garbage_never_takes_the_server_down() {
    let emulator = emulator().await;
    let addr = emulator.addr();
    let huge = "A".repeat(60_000);
    let inputs: Vec<Vec<u8>> = vec![
        b"\x00\x01\x02 not http at all\r\n\r\n".to_vec(),
        b"GET /?Action=%FF%FE&Version=%zz%&Tag.1.Key=%E4%B8 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        format!("GET /?Action=DescribeRegions&Version=2014-05-26&Huge={huge} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes(),
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nConnection: close\r\n\r\n\xff\xfe=\x00".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: ACS3-HMAC-SHA256 \xff\r\nx-acs-date: \xff\r\nConnection: close\r\n\r\n".to_vec(),
        // A body shorter than announced, then the client gives up.
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\nabc".to_vec(),
    ];
    for input in inputs {
        let reply =
            tokio::time::timeout(Duration::from_secs(5), exchange(addr, &input, true)).await;
        assert!(
            reply.is_ok(),
            "the server answered or closed promptly: {input:?}"
        );
    }
    // A client that closes its write side after a complete request still gets its answer.
    let request = format!(
        "POST /?{} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        signed_query("DescribeRegions", &[])
    );
    assert_eq!(exchange(addr, request.as_bytes(), true).await.status(), 200);
    let mut big = signed_query("DescribeRegions", &[]).into_bytes();
    big.resize(2 << 20, b'a');
    let request = [
        format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", big.len()).into_bytes(),
        big,
    ]
    .concat();
    assert_eq!(raw(addr, &request).await.status(), 413);
    assert_eq!(
        call(&emulator, "DescribeRegions", &[]).await.status(),
        200,
        "still serving"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_clients_on_a_large_fleet() {
    let fleet = format!("{FLEET}generate: {{region: cn-shanghai, count: 10000, seed: 7}}\n");
    let emulator = emulator_with(&fleet, EmulatorOptions::default()).await;
    let started = Instant::now();
    let calls = (1..=300).map(|n| {
        let page = (n % 500 + 1).to_string();
        let emulator = &emulator;
        async move {
            call(
                emulator,
                "DescribeInstances",
                &[
                    ("RegionId", "cn-shanghai"),
                    ("PageSize", "20"),
                    ("PageNumber", &page),
                    ("InstanceChargeType", "PrePaid"),
                ],
            )
            .await
        }
    });
    let replies = futures_util::future::join_all(calls).await;
    for reply in &replies {
        assert_eq!(reply.status(), 200, "{reply:?}");
        assert_eq!(reply.body()["TotalCount"], 10_000);
        assert_eq!(
            reply.body()["Instances"]["Instance"]
                .as_array()
                .map(Vec::len),
            Some(20)
        );
    }
    assert_eq!(emulator.stats().requests, 300);
    // Generous for a debug build on a small CI machine; a regression to serialised handling
    // or a lock held across the answer would blow far past it.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_command_announces_its_port_first_and_serves_until_stopped() {
    let dir = std::env::temp_dir().join(format!("renewctl-emulator-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let fleet = dir.join("fleet.yaml");
    std::fs::write(&fleet, FLEET).expect("write fleet");
    let mut child = Command::new(env!("CARGO_BIN_EXE_renewctl"))
        .args(["emulator", "--fleet"])
        .arg(&fleet)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--latency",
            "1ms",
            "--renewal-lag",
            "2s",
            "--fault",
            "throttle=0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn renewctl");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let mut next = || lines.next().and_then(Result::ok).unwrap_or_default();
    let first = next();
    let url = first
        .strip_prefix("renewctl emulator listening on http://")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    let addr: SocketAddr = url.parse().expect("an address");
    assert_ne!(addr.port(), 0, "the real port is printed");
    let rest = [next(), next(), next()].join("\n");
    assert!(
        rest.contains("export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAItest"),
        "{rest}"
    );
    assert!(
        rest.contains(&format!("export RENEWCTL_ENDPOINT=http://{url}")),
        "{rest}"
    );
    assert!(!rest.contains("test-secret"), "the secret is never printed");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let stats = runtime.block_on(get_stats(addr));
    assert_eq!(stats.requests, 0);
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let status = child.wait().expect("exits");
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_command_keeps_serving_when_its_reader_closes_stdout() {
    let dir = std::env::temp_dir().join(format!("renewctl-emulator-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let fleet = dir.join("fleet.yaml");
    std::fs::write(&fleet, FLEET).expect("write fleet");
    let mut child = Command::new(env!("CARGO_BIN_EXE_renewctl"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--fleet"])
        .arg(&fleet)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn renewctl");
    // Read the first line, then close the pipe, as `| head -1` or a harness would.
    let first = {
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut line).expect("first line");
        line
    };
    let addr: SocketAddr = first
        .trim()
        .strip_prefix("renewctl emulator listening on http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("first line: {first:?}"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let stats = runtime.block_on(get_stats(addr));
    assert_eq!(stats.requests, 0, "still serving after its stdout closed");
    assert!(child.try_wait().expect("status").is_none(), "still running");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_and_fleets_name_the_culprit() {
    let dir = std::env::temp_dir().join(format!("renewctl-emulator-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.yaml");
    std::fs::write(&good, FLEET).expect("write");
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "access_keys: [{id: a, secret: b}]\nregions:\n  cn-hangzhou:\n    - {id: i-1, expires_in: soon}\n").expect("write");
    let run = |args: &[&str], fleet: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_renewctl"))
            .args(["emulator", "--listen", "127.0.0.1:0", "--fleet"])
            .arg(fleet)
            .args(args)
            .output()
            .expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--latency", "20"], &good);
    assert_eq!(code, Some(1));
    assert!(err.contains("--latency") && err.contains("20ms"), "{err}");
    let (code, err) = run(&["--renewal-lag", "soon"], &good);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("--renewal-lag") && err.contains("10s"),
        "{err}"
    );
    let (code, err) = run(&["--fault", "slow=0.1"], &good);
    assert_eq!(code, Some(1));
    assert!(err.contains("--fault") && err.contains("throttle"), "{err}");
    let (code, err) = run(&["--rate-limit", "RenewInstance=5/hour"], &good);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("--rate-limit") && err.contains("use s or min"),
        "{err}"
    );
    let (code, err) = run(&[], &bad);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("bad.yaml") && err.contains("regions.cn-hangzhou[0].expires_in"),
        "{err}"
    );
    let (code, err) = run(&[], &dir.join("missing.yaml"));
    assert_eq!(code, Some(1));
    assert!(err.contains("missing.yaml"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let emulator = emulator().await;
    let addr = emulator.addr();
    assert_eq!(call(&emulator, "DescribeRegions", &[]).await.status(), 200);
    drop(emulator);
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the port is released once the handle is gone");
}

const IDENTITY_FLEET: &str = r#"
access_keys: [{id: LTAItest, secret: test-secret}]
roles:
  - arn: 'acs:ram::1234567890123456:role/renewer'
    oidc: {provider_arn: 'acs:ram::1234567890123456:oidc-provider/ci', token: ci-token-value}
metadata: {role: EcsRenewer}
regions:
  cn-hangzhou:
    - {id: i-one, expired_time: 2026-12-01T16:00Z}
"#;

const ROLE: (&str, &str) = ("RoleArn", "acs:ram::1234567890123456:role/renewer");

#[tokio::test]
async fn sts_issues_keys_that_the_ecs_api_accepts_with_their_token() {
    let emulator = emulator_with(IDENTITY_FLEET, EmulatorOptions::default()).await;
    let query = signed_query_by(
        ("LTAItest", "test-secret", None),
        "2015-04-01",
        "AssumeRole",
        &[
            ROLE,
            ("RoleSessionName", "http-test"),
            ("DurationSeconds", "900"),
        ],
    );
    let reply = post(emulator.addr(), &query).await;
    assert_eq!(reply.status(), 200, "{reply:?}");
    let c = &reply.body()["Credentials"];
    assert_eq!(c["Expiration"], "2026-11-22T10:35:30Z");
    let (id, secret, token) = (
        c["AccessKeyId"].as_str().expect("id"),
        c["AccessKeySecret"].as_str().expect("secret"),
        c["SecurityToken"].as_str().expect("token"),
    );
    let with_token = signed_query_by(
        (id, secret, Some(token)),
        "2014-05-26",
        "DescribeRegions",
        &[],
    );
    assert_eq!(post(emulator.addr(), &with_token).await.status(), 200);
    let without = signed_query_by((id, secret, None), "2014-05-26", "DescribeRegions", &[]);
    assert_eq!(
        post(emulator.addr(), &without).await.code().as_deref(),
        Some("MissingSecurityToken")
    );
    // An STS action under ECS's version is not STS.
    let wrong = signed_query_by(
        ("LTAItest", "test-secret", None),
        "2014-05-26",
        "AssumeRole",
        &[ROLE, ("RoleSessionName", "http-test")],
    );
    let reply = post(emulator.addr(), &wrong).await;
    assert_eq!(reply.code().as_deref(), Some("InvalidVersion"));
    assert!(
        reply.body()["Message"]
            .as_str()
            .is_some_and(|m| m.contains("STS is served at 2015-04-01")),
        "{reply:?}"
    );
    assert_eq!(
        get_stats(emulator.addr()).await.by_action.get("AssumeRole"),
        Some(&2)
    );
}

#[tokio::test]
async fn anonymous_oidc_needs_a_fresh_timestamp_and_the_trusted_token() {
    let emulator = emulator_with(IDENTITY_FLEET, EmulatorOptions::default()).await;
    let addr = emulator.addr();
    let form = |extra: &str| {
        let body = format!(
            "Action=AssumeRoleWithOIDC&Version=2015-04-01&Format=JSON&RoleArn={}&RoleSessionName=ci&OIDCProviderArn={}{extra}",
            encode(ROLE.1),
            encode("acs:ram::1234567890123456:oidc-provider/ci")
        );
        format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let reply = raw(addr, form("&OIDCToken=ci-token-value").as_bytes()).await;
    assert_eq!(reply.code().as_deref(), Some("MissingTimestamp"));
    let stale = "&Timestamp=2026-11-22T09:00:00Z&OIDCToken=ci-token-value";
    let reply = raw(addr, form(stale).as_bytes()).await;
    assert_eq!(reply.code().as_deref(), Some("InvalidTimeStamp.Expired"));
    let fresh = format!("&Timestamp={NOW}&OIDCToken=ci-token-value");
    let reply = raw(addr, form(&fresh).as_bytes()).await;
    assert_eq!(reply.status(), 200, "{reply:?}");
    assert!(reply.body()["Credentials"]["SecurityToken"].is_string());
    let forged = format!("&Timestamp={NOW}&OIDCToken=forged-token");
    let reply = raw(addr, form(&forged).as_bytes()).await;
    assert_eq!(
        reply.code().as_deref(),
        Some("AuthenticationFail.OIDCToken.Invalid")
    );
    assert!(!reply.body().to_string().contains("forged-token"));
}

#[tokio::test]
async fn metadata_answers_plain_text_and_is_counted_apart_from_api_requests() {
    let emulator = emulator_with(IDENTITY_FLEET, EmulatorOptions::default()).await;
    let addr = emulator.addr();
    let get =
        |path: &str| format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(get("/latest/meta-data/ram/security-credentials/").as_bytes())
        .await
        .expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nEcsRenewer"), "{answer}");
    let reply = raw(
        addr,
        get("/latest/meta-data/ram/security-credentials/EcsRenewer").as_bytes(),
    )
    .await;
    assert_eq!(reply.body()["Code"], "Success");
    assert_eq!(reply.body()["Expiration"], "2026-11-22T16:20:30Z");
    let stats = get_stats(addr).await;
    assert_eq!((stats.metadata_requests, stats.requests), (2, 0));
    let log: Vec<(String, String)> = emulator
        .requests()
        .into_iter()
        .map(|r| (r.action, r.outcome))
        .collect();
    assert_eq!(
        log,
        [
            (
                "GET /latest/meta-data/ram/security-credentials/".to_string(),
                "200".to_string()
            ),
            (
                "GET /latest/meta-data/ram/security-credentials/EcsRenewer".to_string(),
                "200".to_string()
            )
        ]
    );
}

#[tokio::test]
async fn rate_limits_throttle_per_action_and_region_and_count_the_request() {
    let fleet = "access_keys: [{id: LTAItest, secret: test-secret}]\nregions:\n  cn-hangzhou: []\n  cn-shanghai: []\n";
    let emulator = emulator_with(
        fleet,
        EmulatorOptions {
            rate_limits: vec![
                renewctl::emulator::RateLimit::parse("DescribeInstances=2/min").expect("valid"),
            ],
            ..EmulatorOptions::default()
        },
    )
    .await;
    let describe = |region: &'static str| {
        let query = signed_query("DescribeInstances", &[("RegionId", region)]);
        let addr = emulator.addr();
        async move { post(addr, &query).await }
    };
    assert_eq!(describe("cn-hangzhou").await.status(), 200);
    assert_eq!(describe("cn-hangzhou").await.status(), 200);
    let third = describe("cn-hangzhou").await;
    assert_eq!(
        (third.status(), third.code().as_deref()),
        (400, Some("Throttling.User"))
    );
    assert_eq!(
        describe("cn-shanghai").await.status(),
        200,
        "another region has its own quota"
    );
    assert_eq!(
        call(&emulator, "DescribeRegions", &[]).await.status(),
        200,
        "another action too"
    );
    let stats = get_stats(emulator.addr()).await;
    assert_eq!((stats.requests, stats.throttled), (5, 1));
}
