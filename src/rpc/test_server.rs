//! Test support for the HTTP client: a tiny scripted HTTP/1.1 server on `127.0.0.1:0` that
//! records every request and answers what the test says (a canned body, a delay, a dropped
//! connection, raw bytes), and an *independent* check of both signatures, written apart from
//! `sign` and tested on the SDK vectors itself, so a signing bug cannot verify its own output.
//! It is not the emulator: it knows nothing of ECS. It stops when dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    /// The request target: `/?query`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The decoded query pairs, as a server reads them.
    pub fn query(&self) -> Vec<(String, String)> {
        let raw = self.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    pub fn param(&self, name: &str) -> Option<String> {
        self.query()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        delay: Duration,
    },
    /// Close the connection without answering.
    Drop,
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Answer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn html(status: u16, body: &str) -> Reply {
        Reply::Answer {
            status,
            headers: vec![("content-type".into(), "text/html".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Answer { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    pub fn after(mut self, wait: Duration) -> Reply {
        if let Reply::Answer { delay, .. } = &mut self {
            *delay = wait;
        }
        self
    }
}

type Responder = dyn Fn(&Captured, usize) -> Reply + Send + Sync;

pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Captured>>>,
    max_concurrent: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet, which aborts every open connection.
        self.task.abort();
    }
}

impl TestServer {
    /// Starts a server that answers request number `n` (0-based) with `respond(request, n)`.
    pub async fn start(
        respond: impl Fn(&Captured, usize) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let max_concurrent = Arc::new(AtomicUsize::new(0));
        let respond: Arc<Responder> = Arc::new(respond);
        let (reqs, max) = (requests.clone(), max_concurrent.clone());
        let task = tokio::spawn(async move {
            let current = Arc::new(AtomicUsize::new(0));
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let (reqs, max, current, respond) =
                    (reqs.clone(), max.clone(), current.clone(), respond.clone());
                connections.spawn(async move {
                    serve(stream, reqs, max, current, respond).await;
                });
            }
        });
        TestServer {
            url: format!("http://127.0.0.1:{port}"),
            port,
            requests,
            max_concurrent,
            task,
        }
    }

    /// Answers every request with the same reply.
    pub async fn always(reply: Reply) -> TestServer {
        TestServer::start(move |_, _| reply.clone()).await
    }

    /// Answers the requests with `replies` in turn, repeating the last one.
    pub async fn script(replies: Vec<Reply>) -> TestServer {
        TestServer::start(move |_, n| replies[n.min(replies.len() - 1)].clone()).await
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.requests.lock().expect("not poisoned").clone()
    }

    /// The most requests that were being answered at the same time.
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent.load(Ordering::SeqCst)
    }
}

async fn serve(
    stream: TcpStream,
    requests: Arc<Mutex<Vec<Captured>>>,
    max: Arc<AtomicUsize>,
    current: Arc<AtomicUsize>,
    respond: Arc<Responder>,
) {
    let Some(request) = read_request(&stream).await else {
        return;
    };
    let now = current.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(now, Ordering::SeqCst);
    let index = {
        let mut all = requests.lock().expect("not poisoned");
        all.push(request.clone());
        all.len() - 1
    };
    if let Reply::Answer {
        status,
        headers,
        body,
        delay,
    } = respond(&request, index)
    {
        tokio::time::sleep(delay).await;
        let mut head = format!(
            "HTTP/1.1 {status} Whatever\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(&body);
        write_all(&stream, head.as_bytes()).await;
    }
    current.fetch_sub(1, Ordering::SeqCst);
}

/// Reads one request (head and `content-length` body) with the non-blocking socket calls.
async fn read_request(stream: &TcpStream) -> Option<Captured> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if buf.len() > 1 << 20 || !read_some(stream, &mut buf).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        if !read_some(stream, &mut body).await {
            return None;
        }
    }
    Some(Captured {
        method,
        target,
        headers,
        body,
    })
}

async fn read_some(stream: &TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        if stream.readable().await.is_err() {
            return false;
        }
        match stream.try_read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return false,
        }
    }
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        if stream.writable().await.is_err() {
            return;
        }
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

// ---- The independent signature check ----

/// RFC 3986 escaping, byte by byte.
fn escape(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn sorted_escaped(pairs: &[(String, String)]) -> String {
    let mut escaped: Vec<(String, String)> =
        pairs.iter().map(|(k, v)| (escape(k), escape(v))).collect();
    escaped.sort();
    escaped
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `Signature` an RPC request with these decoded query pairs must carry.
pub fn expected_rpc_signature(method: &str, query: &[(String, String)], secret: &str) -> String {
    let signed: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "Signature")
        .cloned()
        .collect();
    let text = format!("{method}&%2F&{}", escape(&sorted_escaped(&signed)));
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("any key length");
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization` an ACS3 request must carry, for the headers its own `SignedHeaders` names.
pub fn expected_acs3_authorization(request: &Captured, key_id: &str, secret: &str) -> String {
    let sent = request.header("authorization").unwrap_or("");
    let names: Vec<String> = sent
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or("")
        .split(';')
        .map(str::to_string)
        .collect();
    let mut block = String::new();
    for name in &names {
        let value = request.header(name).unwrap_or("");
        block.push_str(&format!("{name}:{}\n", value.trim()));
    }
    let payload = hex::encode(Sha256::digest(&request.body));
    let canonical = [
        request.method.clone(),
        request.path().to_string(),
        sorted_escaped(&request.query()),
        block,
        names.join(";"),
        payload,
    ]
    .join("\n");
    let to_sign = format!(
        "ACS3-HMAC-SHA256\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(to_sign.as_bytes());
    format!(
        "ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={},Signature={}",
        names.join(";"),
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = include_str!("../../tests/data/signature-vectors.json");

    fn capture(index: usize) -> Captured {
        let v: serde_json::Value = serde_json::from_str(VECTORS).expect("json");
        let c = &v["loopback_wire_captures"][index];
        Captured {
            method: c["method"].as_str().expect("method").into(),
            target: c["raw_path"].as_str().expect("path").into(),
            headers: c["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .map(|h| {
                    (
                        h[0].as_str().expect("n").into(),
                        h[1].as_str().expect("v").into(),
                    )
                })
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn the_independent_check_accepts_what_the_official_sdk_sent() {
        // Capture 3 is an RPC RenewInstance with STS, capture 7 an ACS3 one with STS.
        let rpc = capture(3);
        assert_eq!(
            expected_rpc_signature("POST", &rpc.query(), "testsecret"),
            rpc.param("Signature").expect("signed")
        );
        assert_ne!(
            expected_rpc_signature("POST", &rpc.query(), "othersecret"),
            rpc.param("Signature").expect("signed")
        );
        let acs3 = capture(7);
        assert_eq!(
            expected_acs3_authorization(&acs3, "testid", "testsecret"),
            acs3.header("Authorization").expect("signed")
        );
    }
}
