//! Turns an HTTP answer (status and body bytes) into a typed answer or a typed `ApiError`
//! (ecs-api.md §4.1). A 2xx body is the action's JSON, except that a body carrying `Code` is an
//! error whatever the status (a success never has one). A non-2xx body is an error body. Anything
//! else (an HTML page from a proxy, truncated JSON, missing keys, wrong types) is a decode error
//! with a short excerpt, and nothing is inferred from it. Every text taken from an answer passes
//! through `Redactor`, so a server that echoes the request cannot make a secret reach an error.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::rpc::error::ApiError;
use crate::rpc::keys::Credentials;

/// The error body of a failed call. The Tea SDK also accepts lower-camel keys (§4.1).
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "Code", alias = "code")]
    pub code: String,
    #[serde(rename = "Message", alias = "message", default)]
    pub message: Option<String>,
    #[serde(rename = "RequestId", alias = "requestId", default)]
    pub request_id: Option<String>,
}

/// How much of an unexpected body an error quotes.
const EXCERPT_CHARS: usize = 160;

/// Removes the secret parts of a set of credentials from any text.
#[derive(Clone)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    pub fn new(credentials: &Credentials) -> Redactor {
        let mut secrets = vec![credentials.access_key_secret.expose().to_string()];
        if let Some(token) = &credentials.security_token {
            secrets.push(token.expose().to_string());
        }
        secrets.retain(|s| !s.is_empty());
        Redactor { secrets }
    }

    /// A redactor that knows no secret yet (anonymous requests such as AssumeRoleWithOIDC, whose
    /// token is added with [`Redactor::also`]).
    pub fn empty() -> Redactor {
        Redactor {
            secrets: Vec::new(),
        }
    }

    /// Adds a value that must not appear either (such as the query of an RPC request, which
    /// holds the signature).
    pub fn also(mut self, value: &str) -> Redactor {
        if !value.is_empty() {
            self.secrets.push(value.to_string());
            // Longest first: a secret inside a longer value (the token inside a query) must not
            // be replaced before the value that contains it.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        self
    }

    pub fn clean(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            // A secret also reaches a server percent-encoded (in an RPC query): hide both forms.
            for form in [secret.clone(), crate::rpc::sign::percent_encode(secret)] {
                if text.contains(&form) {
                    text = text.replace(&form, "** redacted **");
                }
            }
        }
        text
    }
}

/// Which call an answer belongs to, for the error messages.
#[derive(Debug, Clone, Copy)]
pub struct CallContext<'a> {
    pub action: &'a str,
    pub region: &'a str,
}

/// The type of a success answer. It also reads an error `Code` (or the lower-camel `code` the
/// Tea SDK accepts) when one is present, so a success answer is decoded in one pass over its
/// body, and a success status carrying an error body is still caught.
pub trait Answer: DeserializeOwned {
    /// Whether the answer carried `Code` or `code` (not null).
    fn carries_code(&self) -> bool;
}

/// The two fields an [`Answer`] adds to read an error code; `impl_answer!` implements the trait.
macro_rules! impl_answer {
    ($($ty:ty),+) => {$(
        impl $crate::rpc::response::Answer for $ty {
            fn carries_code(&self) -> bool {
                self.code_upper.is_some() || self.code_lower.is_some()
            }
        }
    )+};
}
pub(crate) use impl_answer;

/// Decodes an answer of `status` with `body` into `T`.
pub fn decode<T: Answer>(
    ctx: CallContext<'_>,
    status: u16,
    body: &[u8],
    redactor: &Redactor,
) -> Result<T, ApiError> {
    let decode_error = |message: String| ApiError::Decode {
        action: ctx.action.to_string(),
        region: ctx.region.to_string(),
        http_status: status,
        message: redactor.clean(&message),
        excerpt: excerpt(body, redactor),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(decode_error("empty body".to_string()));
    }
    let service_error = |error: ErrorBody| ApiError::Service {
        action: ctx.action.to_string(),
        region: ctx.region.to_string(),
        http_status: status,
        code: redactor.clean(&error.code),
        message: redactor.clean(error.message.as_deref().unwrap_or("")),
        request_id: error.request_id.unwrap_or_else(|| "-".to_string()),
    };
    let success = (200..300).contains(&status);
    // The common case in one pass: a success answer read straight into its type, with no
    // intermediate JSON tree (a page of 100 instances is about 250 KB). Anything else — an
    // error code in it, or a body that is not the type — is looked at again below.
    if success
        && let Ok(answer) = serde_json::from_slice::<T>(body)
        && !answer.carries_code()
    {
        return Ok(answer);
    }
    // A success status can still carry an error body (`Code`): look for it. The probe skips
    // everything else without allocating.
    let has_code = if success {
        match serde_json::from_slice::<CodeProbe>(body) {
            Ok(probe) => probe.upper.is_some() || probe.lower.is_some(),
            Err(err) => return Err(decode_error(format!("not JSON ({err})"))),
        }
    } else {
        true
    };
    if has_code {
        return match serde_json::from_slice::<ErrorBody>(body) {
            Ok(error) => Err(service_error(error)),
            Err(err) if err.is_syntax() || err.is_eof() => {
                Err(decode_error(format!("not JSON ({err})")))
            }
            Err(err) => Err(decode_error(format!("not an error body ({err})"))),
        };
    }
    serde_json::from_slice::<T>(body)
        .map_err(|err| decode_error(format!("not the documented answer ({err})")))
}

/// Just enough of an answer to tell an error body (`Code`, or the lower-camel `code` the Tea
/// SDK also accepts) from a result.
#[derive(Deserialize)]
struct CodeProbe {
    #[serde(rename = "Code")]
    upper: Option<serde::de::IgnoredAny>,
    #[serde(rename = "code")]
    lower: Option<serde::de::IgnoredAny>,
}

/// The start of a body, on one line, without secrets.
pub fn excerpt(body: &[u8], redactor: &Redactor) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let cleaned = redactor.clean(&one_line);
    let mut short: String = cleaned.chars().take(EXCERPT_CHARS).collect();
    if cleaned.chars().count() > EXCERPT_CHARS {
        short.push('…');
    }
    if short.is_empty() {
        "(empty)".to_string()
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::error::ErrorClass;
    use crate::rpc::keys::Secret;

    /// An answer of the shape every RPC action has: a RequestId, and an error code only in an
    /// error body.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct MutationResponse {
        request_id: String,
        #[serde(rename = "Code", default)]
        code_upper: Option<serde::de::IgnoredAny>,
        #[serde(rename = "code", default)]
        code_lower: Option<serde::de::IgnoredAny>,
    }

    impl_answer!(MutationResponse);

    fn redactor() -> Redactor {
        Redactor::new(&Credentials {
            access_key_id: "id".into(),
            access_key_secret: Secret::new("s3cr3t-value"),
            security_token: Some(Secret::new("tok/en+1")),
            source: "test",
        })
    }

    fn run(status: u16, body: &str) -> Result<MutationResponse, ApiError> {
        let ctx = CallContext {
            action: "RenewInstance",
            region: "cn-hangzhou",
        };
        decode(ctx, status, body.as_bytes(), &redactor())
    }

    #[test]
    fn error_bodies_become_service_errors_with_their_status() {
        let err = run(
            400,
            r#"{"RequestId":"R1","HostId":"h","Code":"Throttling.User","Message":"slow down"}"#,
        )
        .expect_err("error");
        match &err {
            ApiError::Service {
                http_status,
                code,
                message,
                request_id,
                ..
            } => {
                assert_eq!(*http_status, 400);
                assert_eq!(code, "Throttling.User");
                assert_eq!(message, "slow down");
                assert_eq!(request_id, "R1");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.class(), ErrorClass::Throttling);
        let err = run(
            503,
            r#"{"code":"ServiceUnavailable","message":"m","requestId":"R2"}"#,
        )
        .expect_err("error");
        assert_eq!(err.class(), ErrorClass::Server);
        assert_eq!(err.code(), Some("ServiceUnavailable"));
    }

    #[test]
    fn a_success_status_with_an_error_body_is_an_error() {
        let err = run(
            200,
            r#"{"RequestId":"R","Code":"InternalError","Message":"m"}"#,
        )
        .expect_err("an error code in a 200");
        assert_eq!(err.code(), Some("InternalError"));
        assert!(err.to_string().contains("HTTP 200"), "{err}");
        // The lower-camel error body, with a RequestId that would also make a valid answer.
        let err = run(
            200,
            r#"{"RequestId":"R","code":"Forbidden.RAM","message":"m"}"#,
        )
        .expect_err("a lower-camel error code in a 200");
        assert_eq!(err.code(), Some("Forbidden.RAM"));
        // A null code is no code: the answer stands.
        let ok = run(200, r#"{"RequestId":"R","Code":null,"OrderId":"7"}"#).expect("no code");
        assert_eq!(ok.request_id, "R");
    }

    #[test]
    fn pages_and_broken_json_are_decode_errors_with_an_excerpt() {
        let err = run(502, "<html>\n<body>Bad   Gateway</body></html>").expect_err("html");
        assert!(
            matches!(
                err,
                ApiError::Decode {
                    http_status: 502,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.class(), ErrorClass::Server);
        assert!(
            err.to_string().contains("<html> <body>Bad Gateway"),
            "{err}"
        );
        let err = run(200, r#"{"RequestId":"R","OrderId":"12"#).expect_err("truncated");
        assert!(err.to_string().contains("not JSON"), "{err}");
        assert_eq!(err.class(), ErrorClass::Client);
        let err = run(200, r#"{"OrderId":"12"}"#).expect_err("missing RequestId");
        assert!(err.to_string().contains("RequestId"), "{err}");
        let err = run(404, r#"{"Message":"no code"}"#).expect_err("no Code");
        assert!(
            matches!(
                err,
                ApiError::Decode {
                    http_status: 404,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = run(200, "").expect_err("empty");
        assert!(err.to_string().contains("empty body"), "{err}");
    }

    #[test]
    fn echoed_secrets_are_redacted_everywhere() {
        let err = run(
            400,
            r#"{"Code":"X","Message":"you sent s3cr3t-value and tok%2Fen%2B1"}"#,
        )
        .expect_err("error");
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains("s3cr3t-value") && !text.contains("tok%2Fen%2B1"),
            "{text}"
        );
        let err = run(500, "<p>tok/en+1</p>").expect_err("html");
        assert!(!format!("{err} {err:?}").contains("tok/en+1"));
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = "x".repeat(1000);
        let cut = excerpt(body.as_bytes(), &redactor());
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn error_bodies_are_read_in_both_spellings() {
        let pascal: ErrorBody =
            serde_json::from_str(r#"{"Code":"Throttling","Message":"m","RequestId":"r"}"#)
                .expect("valid");
        let camel: ErrorBody =
            serde_json::from_str(r#"{"code":"Throttling","message":"m","requestId":"r"}"#)
                .expect("valid");
        assert_eq!(
            (pascal.code, pascal.request_id),
            (camel.code, camel.request_id)
        );
    }
}
