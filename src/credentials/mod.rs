//! Credentials: an access key pair and an optional STS token, with the secret parts redacted in
//! `Debug` so they cannot leak into logs or errors. For now one link of the chain: the
//! environment (`ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET`,
//! `ALIBABA_CLOUD_SECURITY_TOKEN`).

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

/// Why no credentials could be found.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "no credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET \
         (and ALIBABA_CLOUD_SECURITY_TOKEN for STS credentials){hint}"
    )]
    NotFound { hint: String },
    #[error("{0} is set but {1} is not: set both, or neither")]
    Incomplete(&'static str, &'static str),
}

const ENV_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
const ENV_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
const ENV_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

/// Reads credentials from an environment lookup (injected so tests need not touch the process
/// environment).
pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Credentials, CredentialsError> {
    let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    match (non_empty(ENV_ID), non_empty(ENV_SECRET)) {
        (Some(id), Some(secret)) => Ok(Credentials {
            access_key_id: id,
            access_key_secret: Secret::new(secret),
            security_token: non_empty(ENV_TOKEN).map(Secret::new),
            source: "environment",
        }),
        (Some(_), None) => Err(CredentialsError::Incomplete(ENV_ID, ENV_SECRET)),
        (None, Some(_)) => Err(CredentialsError::Incomplete(ENV_SECRET, ENV_ID)),
        (None, None) => Err(CredentialsError::NotFound {
            hint: String::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn reads_the_pair_and_token_and_redacts_secrets() {
        let creds = from_env(env(&[
            (ENV_ID, "LTAIexample"),
            (ENV_SECRET, "very-secret-value"),
            (ENV_TOKEN, "sts-token-value"),
        ]))
        .unwrap();
        assert_eq!(creds.access_key_id, "LTAIexample");
        assert_eq!(creds.access_key_secret.expose(), "very-secret-value");
        let debug = format!("{creds:?}");
        assert!(!debug.contains("very-secret-value"), "{debug}");
        assert!(!debug.contains("sts-token-value"), "{debug}");
        assert!(debug.contains("** redacted **"));
    }

    #[test]
    fn half_a_pair_is_an_error_naming_the_missing_variable() {
        let err = from_env(env(&[(ENV_ID, "LTAIexample")])).unwrap_err();
        assert!(err.to_string().contains(ENV_SECRET), "{err}");
        let err = from_env(env(&[])).unwrap_err();
        assert!(err.to_string().contains(ENV_ID), "{err}");
    }
}
