//! The HTTP transport's pieces that every client of the protocol shares (the ECS client, STS,
//! the instance metadata service): the user agent, the TLS provider, and a transport error told
//! in words without the request URL.

/// Sent with every request, so the service's logs can tell renewctl apart.
pub const USER_AGENT: &str = concat!("renewctl/", env!("CARGO_PKG_VERSION"));

/// reqwest is built without a default TLS provider (deps.md §6.1), and building a client
/// without one panics: install ring, once per process, before any client is built. A second
/// install fails harmlessly, so the result is ignored.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What went wrong with an HTTP exchange, in words, without the request URL (reqwest's own
/// message quotes it, query and signature included).
pub fn describe_transport(err: &reqwest::Error) -> String {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "the connection broke while the answer was read"
    } else {
        "the connection failed"
    };
    let mut causes: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    if causes.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {}", causes.join(": "))
    }
}
