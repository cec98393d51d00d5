//! What goes back on the wire: the error type every layer returns (HTTP status, code, message)
//! and the two JSON envelopes of the ECS API, a success object carrying `RequestId` and the error
//! object `{RequestId, HostId, Code, Message, Recommend}` (ecs-api.md §4.1).
//!
//! The codes and statuses of individual failures are chosen where they are detected; this file
//! only holds the generic constructors several layers share. It does no I/O.

/// `Content-Type` of every answer, as the real service sends it.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";

/// A failed request, rendered as the API's error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A required business parameter is absent (the gateway's wording; ecs-api.md §4.2).
    pub(crate) fn missing_parameter(name: &str) -> ApiError {
        ApiError::new(
            400,
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    /// A parameter whose value does not fit its declared type or format.
    pub(crate) fn invalid_parameter(name: &str, value: &str) -> ApiError {
        ApiError::new(
            400,
            "InvalidParameter",
            format!(
                "The specified parameter \"{name}\" is not valid: {}.",
                quote_value(value)
            ),
        )
    }

    /// The instance exists in none of the regions (or not in the one asked for).
    pub(crate) fn instance_not_found(id: &str) -> ApiError {
        ApiError::new(
            404,
            "InvalidInstanceId.NotFound",
            format!(
                "The specified InstanceId does not exist: {}.",
                quote_value(id)
            ),
        )
    }

    /// A renewal action on a pay-as-you-go instance.
    pub(crate) fn charge_type_violation() -> ApiError {
        ApiError::new(
            403,
            "ChargeTypeViolation",
            "Pay-As-You-Go instances do not support this operation.",
        )
    }

    pub(crate) fn incorrect_instance_status(detail: &str) -> ApiError {
        ApiError::new(
            403,
            "IncorrectInstanceStatus",
            format!("The current status of the resource does not support this operation. {detail}"),
        )
    }

    /// An instance whose `OperationLocks` show `security` (ecs-api.md §4.2).
    pub(crate) fn locked_for_security(id: &str) -> ApiError {
        ApiError::new(
            403,
            "InstanceLockedForSecurity",
            format!(
                "The specified operation is denied as your instance {} is locked for security reasons.",
                quote_value(id)
            ),
        )
    }
}

/// Echoes a user value inside a message, shortened so a huge parameter cannot bloat the answer.
pub(crate) fn quote_value(value: &str) -> String {
    const MAX: usize = 120;
    if value.chars().count() <= MAX {
        format!("\"{value}\"")
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("\"{head}…\"")
    }
}

/// A fresh request id shaped like the real ones (upper-case UUID).
pub(crate) fn new_request_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase()
}

/// The host the real answer would name in `HostId`: the regional endpoint of the request's
/// `RegionId` when it has a plausible one, else the central endpoint.
pub(crate) fn host_id(region: Option<&str>) -> String {
    match region {
        Some(r)
            if !r.is_empty()
                && r.len() <= 64
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
        {
            format!("ecs.{r}.aliyuncs.com")
        }
        _ => "ecs.aliyuncs.com".to_owned(),
    }
}

/// The answer of an action: a JSON object, serialised once, without its `RequestId`. Actions
/// that answer with many instances serialise borrowed views straight into it, which is several
/// times faster than building a `serde_json::Value` tree first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Body(Vec<u8>);

impl Body {
    pub(crate) fn of<T: serde::Serialize>(object: &T) -> Body {
        match serde_json::to_vec(object) {
            Ok(bytes) if bytes.first() == Some(&b'{') => Body(bytes),
            _ => Body::empty(),
        }
    }

    pub(crate) fn empty() -> Body {
        Body(b"{}".to_vec())
    }

    /// The bytes sent: the object with `"RequestId"` as its first key.
    pub(crate) fn with_request_id(self, request_id: &str) -> Vec<u8> {
        let rest = self.0.get(1..).unwrap_or(b"}");
        let mut out = Vec::with_capacity(self.0.len() + request_id.len() + 16);
        out.extend_from_slice(b"{\"RequestId\":");
        out.extend_from_slice(&serde_json::to_vec(request_id).unwrap_or_else(|_| b"\"\"".to_vec()));
        if rest != b"}" {
            out.push(b',');
        }
        out.extend_from_slice(rest);
        out
    }

    #[cfg(test)]
    pub(crate) fn to_value(&self) -> serde_json::Value {
        serde_json::from_slice(&self.0).unwrap_or_default()
    }
}

/// Serialises an error answer.
pub(crate) fn error_body(error: &ApiError, request_id: &str, host_id: &str) -> Vec<u8> {
    let recommend = format!(
        "https://api.aliyun.com/troubleshoot?q={}&product=Ecs&requestId={request_id}",
        error.code
    );
    let body = serde_json::json!({
        "RequestId": request_id,
        "HostId": host_id,
        "Code": error.code,
        "Message": error.message,
        "Recommend": recommend,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn error_body_has_the_documented_keys() {
        let err = ApiError::instance_not_found("i-x");
        let body: Value =
            serde_json::from_slice(&error_body(&err, "REQ-1", "ecs.cn-hangzhou.aliyuncs.com"))
                .expect("json");
        assert_eq!(body["Code"], "InvalidInstanceId.NotFound");
        assert_eq!(body["RequestId"], "REQ-1");
        assert_eq!(body["HostId"], "ecs.cn-hangzhou.aliyuncs.com");
        assert_eq!(
            body["Recommend"],
            "https://api.aliyun.com/troubleshoot?q=InvalidInstanceId.NotFound&product=Ecs&requestId=REQ-1"
        );
        assert!(body["Message"].as_str().is_some_and(|m| m.contains("i-x")));
    }

    #[test]
    fn the_request_id_is_added_to_any_object() {
        let empty: Value =
            serde_json::from_slice(&Body::empty().with_request_id("R")).expect("json");
        assert_eq!(empty, serde_json::json!({"RequestId": "R"}));
        let body = Body::of(&serde_json::json!({"OrderId": "1", "X": {"Y": []}}));
        let full: Value = serde_json::from_slice(&body.with_request_id("R\"2")).expect("json");
        assert_eq!(
            full,
            serde_json::json!({"RequestId": "R\"2", "OrderId": "1", "X": {"Y": []}})
        );
        assert_eq!(Body::of(&[1, 2]), Body::empty(), "only objects are answers");
    }

    #[test]
    fn request_ids_look_like_the_real_ones() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id, id.to_uppercase());
        assert_ne!(id, new_request_id());
    }

    #[test]
    fn host_id_ignores_implausible_regions() {
        assert_eq!(host_id(Some("cn-shanghai")), "ecs.cn-shanghai.aliyuncs.com");
        assert_eq!(host_id(Some("evil.com/x")), "ecs.aliyuncs.com");
        assert_eq!(host_id(None), "ecs.aliyuncs.com");
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = "x".repeat(10_000);
        assert!(ApiError::invalid_parameter("A", &long).message.len() < 300);
    }
}
