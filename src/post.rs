//! Delivers a notification: one HTTPS POST of a JSON body to a sink's webhook URL, with the
//! sink's extra query parameters (DingTalk's signature, encoded exactly once). Plain `http://`
//! only to loopback (a local receiver). The URL carries the sink's token, so no message made
//! here contains it: transport errors are stripped of their URL.

use std::time::Duration;

use serde_json::Value;

use crate::rpc::endpoint::is_loopback;

/// An HTTP client for webhooks.
#[derive(Debug, Clone)]
pub struct Poster {
    http: reqwest::Client,
    /// Without a proxy: for loopback receivers, which a proxy cannot reach.
    direct: reqwest::Client,
}

/// The status and body of an answer.
pub type Answer = (u16, String);

/// Why nothing was answered: a URL refused here (not worth retrying), or the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostError {
    pub message: String,
    /// A transport failure, worth trying again; false for a URL refused before sending.
    pub retry: bool,
}

fn refused(message: String) -> PostError {
    PostError {
        message,
        retry: false,
    }
}

fn transport(err: reqwest::Error) -> PostError {
    PostError {
        message: err.without_url().to_string(),
        retry: true,
    }
}

impl Poster {
    pub fn new(timeout: Duration) -> Result<Poster, String> {
        crate::rpc::http::install_tls_provider();
        let builder = || {
            reqwest::Client::builder()
                .user_agent(crate::rpc::http::USER_AGENT)
                .timeout(timeout)
                // A redirect would re-send the message (and its signature) elsewhere.
                .redirect(reqwest::redirect::Policy::none())
        };
        let build = |b: reqwest::ClientBuilder| {
            b.build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        };
        Ok(Poster {
            http: build(builder())?,
            direct: build(builder().no_proxy())?,
        })
    }

    /// POSTs `body` to `url` with `query` added. The error never contains the URL.
    pub async fn post(
        &self,
        url: &str,
        query: &[(String, String)],
        body: &Value,
    ) -> Result<Answer, PostError> {
        let mut parsed = reqwest::Url::parse(url.trim())
            .map_err(|e| refused(format!("the webhook URL does not parse ({e})")))?;
        let host = parsed.host_str().unwrap_or_default().to_string();
        match parsed.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            other => {
                return Err(refused(format!(
                    "the webhook URL must be https:// (it is {other}://): it carries a token"
                )));
            }
        }
        let client = if is_loopback(&host) {
            &self.direct
        } else {
            &self.http
        };
        if !query.is_empty() {
            // Form encoding, once (`+ / =` become `%2B %2F %3D`, as DingTalk expects).
            let mut pairs = parsed.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        let bytes = serde_json::to_vec(body)
            .map_err(|e| refused(format!("cannot write the message: {e}")))?;
        let request = client
            .post(parsed)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(bytes);
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(transport)?;
        Ok((status, text))
    }
}
