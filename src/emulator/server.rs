//! The HTTP/1.1 server around the gateway (hyper): accepts connections until shut down, reads
//! each request (body capped), answers `GET /_emulator/stats` itself, hands `/latest/…` to the
//! instance metadata service (after the configured latency), and turns the gateway's
//! decision into an answer after the configured latency, a connection held open (timeout fault)
//! or a connection closed without an answer (drop-after-commit fault).
//!
//! No lock is held across an await: the gateway runs to completion synchronously, then this
//! file sleeps or writes. Nothing here knows what an action does.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::gateway::{Decision, Shared, process};
use super::request::HttpRequest;
use super::wire::{ApiError, JSON_CONTENT_TYPE, error_body, new_request_id};

/// The largest request body read; the real gateway's limit for RPC form bodies is of this order.
const MAX_BODY: usize = 1 << 20;
/// How long a request body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a timeout fault holds a request before closing the connection.
const HOLD: Duration = Duration::from_secs(30);
/// How long shutdown waits for connections to finish their current request.
const DRAIN: Duration = Duration::from_secs(2);

/// The connection is closed without an answer (a fault); hyper aborts the connection on it.
#[derive(Debug)]
struct NoAnswer;

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed without an answer (injected fault)")
    }
}

impl std::error::Error for NoAnswer {}

/// Serves until `shutdown` turns true (or its sender is dropped).
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let shared = Arc::clone(&shared);
                    let shutdown = shutdown.clone();
                    connections.spawn(connection(stream, shared, shutdown));
                }
                // Out of file descriptors or a reset during accept: pause instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            _ = stopped(&mut shutdown) => break,
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

/// Resolves once shutdown is requested or the handle is gone.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let service_shutdown = shutdown.clone();
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let shutdown = service_shutdown.clone();
        async move { handle(shared, shutdown, request).await }
    });
    let mut builder = http1::Builder::new();
    // half_close: a client may shut its write side after sending and still expect the answer.
    builder
        .timer(TokioTimer::new())
        .keep_alive(true)
        .half_close(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopped(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, NoAnswer> {
    // Latency is counted from the request's arrival: the emulator's own work is part of it, as a
    // real service's is part of its round trip.
    let answer_at = tokio::time::Instant::now() + shared.latency;
    if request.uri().path().starts_with("/_emulator/") {
        return Ok(control(&shared, &request));
    }
    if request.uri().path().starts_with("/latest/") {
        return Ok(metadata(&shared, &request, answer_at, &mut shutdown).await);
    }
    let (parts, body) = request.into_parts();
    let body =
        match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect()).await {
            // A body that never finishes arriving: give the connection up.
            Err(_) => return Err(NoAnswer),
            Ok(Ok(collected)) => collected.to_bytes().to_vec(),
            // The client went away mid-body: nobody to answer.
            Ok(Err(err)) if !err.is::<http_body_util::LengthLimitError>() => return Err(NoAnswer),
            Ok(Err(_)) => {
                let error = ApiError::new(
                    413,
                    "RequestEntityTooLarge",
                    "The request body is larger than 1 MiB.",
                );
                let id = new_request_id();
                return Ok(json_response(
                    413,
                    error_body(&error, &id, "ecs.aliyuncs.com"),
                    &id,
                ));
            }
        };
    let request = HttpRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };
    let decision = process(&shared, &request);
    if let Decision::Hold = decision {
        tokio::select! {
            _ = tokio::time::sleep(HOLD) => {}
            _ = stopped(&mut shutdown) => {}
        }
        return Err(NoAnswer);
    }
    if !shared.latency.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep_until(answer_at) => {}
            _ = stopped(&mut shutdown) => {}
        }
    }
    match decision {
        Decision::Answer {
            status,
            body,
            request_id,
        } => Ok(json_response(status, body, &request_id)),
        Decision::Hold | Decision::Drop => Err(NoAnswer),
    }
}

/// The instance metadata service: plain answers, no API envelope, logged and counted apart.
async fn metadata(
    shared: &Shared,
    request: &Request<Incoming>,
    answer_at: tokio::time::Instant,
    shutdown: &mut watch::Receiver<bool>,
) -> Response<Full<Bytes>> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let answer = shared
        .metadata
        .answer(&shared.keys, &method, &path, header, shared.now());
    shared.stats().metadata_requests += 1;
    shared.log().push(super::requests::RequestRecord {
        action: format!("{method} {path}"),
        outcome: answer.status.to_string(),
        ..Default::default()
    });
    if !shared.latency.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep_until(answer_at) => {}
            _ = stopped(shutdown) => {}
        }
    }
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(answer.content_type),
    );
    response
}

/// The unsigned control endpoints for out-of-process tests.
fn control(shared: &Shared, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let id = new_request_id();
    if request.method() == hyper::Method::GET && request.uri().path() == "/_emulator/stats" {
        let stats = shared.stats().clone();
        let body = serde_json::to_vec(&stats).unwrap_or_default();
        return json_response(200, body, &id);
    }
    let error = ApiError::new(
        404,
        "NotFound",
        "The emulator serves GET /_emulator/stats only.",
    );
    json_response(404, error_body(&error, &id, "ecs.aliyuncs.com"), &id)
}

fn json_response(status: u16, body: Vec<u8>, request_id: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(request_id) {
        headers.insert("x-acs-request-id", value);
    }
    response
}
