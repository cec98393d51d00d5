//! A local webhook receiver for the notification tests: HTTP/1.1 on a loopback port, one
//! request per connection. It records every request (path with query, body) and answers as the
//! test's script says, so the sinks' signatures, errors and retries meet something that
//! checks and refuses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path and query, as sent (still percent-encoded).
    pub target: String,
    pub body: String,
}

type Script = dyn Fn(&Received, usize) -> (u16, String) + Send + Sync;

pub struct Receiver {
    pub base: String,
    pub log: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Starts a receiver answering with `script(request, how many requests came to that path
    /// before)`.
    pub fn start(
        script: impl Fn(&Received, usize) -> (u16, String) + Send + Sync + 'static,
    ) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let log: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let shared = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let target = line.split(' ').nth(1).unwrap_or("").to_string();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let received = Received {
                    target,
                    body: String::from_utf8_lossy(&body).into_owned(),
                };
                let path = received.target.split('?').next().unwrap_or("").to_string();
                let before = {
                    let mut log = shared.lock().unwrap();
                    let before = log
                        .iter()
                        .filter(|r| r.target.split('?').next() == Some(path.as_str()))
                        .count();
                    log.push(received.clone());
                    before
                };
                let (status, answer) = script(&received, before);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        Receiver { base, log }
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}
