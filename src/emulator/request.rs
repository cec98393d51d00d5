//! One HTTP request as the emulator received it, independent of hyper: method, path, the raw
//! query string, headers with lower-cased names, and the body bytes. The gateway and the
//! signature checks read this, so they can be tested without a socket.

#[derive(Debug, Clone, Default)]
pub(crate) struct HttpRequest {
    pub method: String,
    pub path: String,
    /// Without the leading `?`, still percent-encoded.
    pub query: String,
    /// Names lower-cased; values as sent (non-UTF-8 bytes replaced), in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first value of a header (name in lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the body is an HTML-form body whose fields are request parameters.
    pub(crate) fn has_form_body(&self) -> bool {
        !self.body.is_empty()
            && self.header("content-type").is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            })
    }
}
