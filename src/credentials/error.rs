//! Why credentials could not be had. Every message names the link and, for a resolution, lists
//! every link tried and why it did not supply credentials, so a user sees at once whether the
//! environment, a profile or the metadata service is to blame. Messages never hold a secret:
//! they are built from variable names, paths, profile names and service error codes.

use std::fmt;

use super::chain::Tried;

/// What a user should look at when nothing supplied credentials.
const HOW_TO: &str = "Set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, \
configure an OIDC role (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, \
ALIBABA_CLOUD_OIDC_TOKEN_FILE), run `aliyun configure`, or run on an ECS instance with a RAM role; \
see \"Credentials\" in the README.";

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// No link was configured.
    #[error("no credentials found. Tried, in order:\n{}\n{HOW_TO}", TriedList(.tried))]
    NotFound { tried: Vec<Tried> },
    /// A link was configured but could not supply credentials; the chain stopped there.
    #[error("credentials from the {link} link failed: {message}\nTried, in order:\n{}", TriedList(.tried))]
    LinkFailed {
        link: &'static str,
        message: String,
        tried: Vec<Tried>,
    },
    /// Temporary credentials expired and the link that supplied them could not renew them.
    #[error(
        "the temporary credentials from the {link} link expired and could not be refreshed: {message}"
    )]
    Refresh { link: &'static str, message: String },
}

struct TriedList<'a>(&'a [Tried]);

impl fmt::Display for TriedList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, tried) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {}: {}", tried.link.name(), tried.outcome)?;
        }
        Ok(())
    }
}
