//! An access key and its secret, as the RPC protocol signs with them. The secret is a [`Secret`]
//! that prints as `** redacted **` in `Debug` (a test proves it); where keys come from is the
//! credentials chain's business (`crate::credentials`).

use std::fmt;

/// A secret string: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret value, for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

/// An access key (long-lived, or temporary with a security token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub security_token: Option<Secret>,
    /// Which link of the chain supplied them (shown to users, never the secret).
    pub source: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret_or_the_token() {
        let creds = Credentials {
            access_key_id: "LTAIexample".into(),
            access_key_secret: Secret::new("very-secret-value"),
            security_token: Some(Secret::new("sts-token-value")),
            source: "environment",
        };
        let debug = format!("{creds:?} {:#?}", creds);
        assert!(!debug.contains("very-secret-value"), "{debug}");
        assert!(!debug.contains("sts-token-value"), "{debug}");
        assert!(debug.contains("** redacted **"));
        assert!(debug.contains("LTAIexample"));
    }
}
