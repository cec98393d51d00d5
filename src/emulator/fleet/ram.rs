//! The identity part of a fleet file: RAM roles that the emulated STS issues credentials for
//! (AssumeRole, AssumeRoleWithOIDC) and the instance metadata service of the ECS instance
//! renewctl pretends to run on. Checked here with field paths like the rest of the file.
//!
//! ```yaml
//! roles:
//!   - arn: acs:ram::1234567890123456:role/renewer
//!     max_session_duration: 3600         # seconds, 900..43200 (default 3600)
//!     trusted_keys: [LTAIcaller]         # who may AssumeRole it (default: every key)
//!     oidc: {provider_arn: acs:ram::1234567890123456:oidc-provider/ci, token: eyJ…}
//! metadata:
//!   role: EcsRenewer                     # the RAM role attached to the instance
//!   mode: normal                         # normal | hardened (token required) | v1-only (no token API)
//! ```

use super::document::{MetadataDoc, RoleDoc};

/// A RAM role that can be assumed.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub arn: String,
    pub max_session_duration: u32,
    /// `None`: any access key of the account may assume it.
    pub trusted_keys: Option<Vec<String>>,
    pub oidc: Option<OidcTrust>,
}

/// Which OIDC provider a role trusts, and the token it accepts (the emulator checks the token's
/// content instead of a JWT signature).
#[derive(Clone)]
pub(crate) struct OidcTrust {
    pub provider_arn: String,
    pub token: String,
}

impl std::fmt::Debug for OidcTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcTrust")
            .field("provider_arn", &self.provider_arn)
            .finish_non_exhaustive()
    }
}

/// How the metadata service treats tokens (ECS "hardened mode" is IMDSv2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetadataMode {
    /// Tokens are issued and honoured, but not required.
    Normal,
    /// Every metadata read needs a token.
    Hardened,
    /// An old image: `PUT /latest/api/token` does not exist.
    V1Only,
}

#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    pub role: String,
    pub mode: MetadataMode,
}

/// The longest session a role can allow (12 hours).
const MAX_SESSION: u32 = 43_200;
const MIN_SESSION: u32 = 900;

pub(super) fn check_roles(
    docs: Vec<RoleDoc>,
    mut problem: impl FnMut(String, String),
) -> Vec<Role> {
    let mut roles: Vec<Role> = Vec::new();
    for (index, doc) in docs.into_iter().enumerate() {
        let field = format!("roles[{index}]");
        if !is_role_arn(&doc.arn) {
            problem(
                format!("{field}.arn"),
                "a role ARN reads acs:ram::<account id>:role/<name>".to_string(),
            );
        }
        if roles.iter().any(|r| r.arn == doc.arn) {
            problem(
                format!("{field}.arn"),
                format!("role {} is listed twice", doc.arn),
            );
        }
        let max = doc.max_session_duration.unwrap_or(3600);
        if !(MIN_SESSION..=MAX_SESSION).contains(&max) {
            problem(
                format!("{field}.max_session_duration"),
                format!("seconds between {MIN_SESSION} and {MAX_SESSION}"),
            );
        }
        let oidc = doc.oidc.map(|o| {
            if o.token.len() < 4 {
                problem(
                    format!("{field}.oidc.token"),
                    "an OIDC token has at least 4 characters".to_string(),
                );
            }
            OidcTrust {
                provider_arn: o.provider_arn,
                token: o.token,
            }
        });
        roles.push(Role {
            arn: doc.arn,
            max_session_duration: max,
            trusted_keys: doc.trusted_keys,
            oidc,
        });
    }
    roles
}

pub(super) fn check_metadata(
    doc: Option<MetadataDoc>,
    mut problem: impl FnMut(String, String),
) -> Option<Metadata> {
    let doc = doc?;
    if doc.role.is_empty() || doc.role.contains('/') {
        problem(
            "metadata.role".to_string(),
            "the name of a RAM role, e.g. EcsRenewer".to_string(),
        );
    }
    let mode = match doc.mode.as_deref().unwrap_or("normal") {
        "normal" => MetadataMode::Normal,
        "hardened" => MetadataMode::Hardened,
        "v1-only" => MetadataMode::V1Only,
        other => {
            problem(
                "metadata.mode".to_string(),
                format!("{other:?} is not a mode; use normal, hardened or v1-only"),
            );
            MetadataMode::Normal
        }
    };
    Some(Metadata {
        role: doc.role,
        mode,
    })
}

/// `acs:ram::<digits>:role/<name>`.
fn is_role_arn(arn: &str) -> bool {
    arn.strip_prefix("acs:ram::")
        .and_then(|rest| rest.split_once(":role/"))
        .is_some_and(|(account, name)| {
            !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
        })
}

#[cfg(test)]
mod tests {
    use super::super::{Fleet, FleetError};

    #[test]
    fn roles_and_metadata_are_read_and_checked_with_paths() {
        let good = "access_keys: [{id: a, secret: b}]\nroles:\n  - {arn: 'acs:ram::1:role/r', oidc: {provider_arn: p, token: tttt}}\nmetadata: {role: R, mode: hardened}\n";
        let fleet = Fleet::from_yaml_str(good).expect("valid");
        assert_eq!(fleet.roles[0].max_session_duration, 3600);
        assert!(format!("{:?}", fleet.roles).contains("provider_arn"));
        assert!(
            !format!("{:?}", fleet.roles).contains("tttt"),
            "the token is a secret"
        );
        let bad = "access_keys: [{id: a, secret: b, expired_time: yesterday}]\nroles:\n  - {arn: 'role/r', max_session_duration: 10, oidc: {provider_arn: p, token: t}}\nmetadata: {role: 'a/b', mode: v3}\n";
        match Fleet::from_yaml_str(bad) {
            Err(FleetError::Invalid { problems, .. }) => {
                let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
                assert_eq!(
                    fields,
                    [
                        "access_keys[0].expired_time",
                        "roles[0].arn",
                        "roles[0].max_session_duration",
                        "roles[0].oidc.token",
                        "metadata.role",
                        "metadata.mode"
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
