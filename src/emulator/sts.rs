//! The emulated STS (`Version=2015-04-01`, ecs-api.md §8.5), served on the same listener as ECS
//! and told apart by `Version` (the real one lives at `sts.aliyuncs.com`; a client reaches this
//! one through `ALIBABA_CLOUD_STS_ENDPOINT`). Two actions:
//!
//! - **AssumeRole**, authenticated like any call (the gateway has checked the signature and
//!   passes the caller), for a role of the fleet file that trusts the caller's key;
//! - **AssumeRoleWithOIDC**, anonymous: the role must trust the named OIDC provider, and the
//!   token must be the one the fleet file gives it (content check instead of JWT validation).
//!
//! Both answer `Credentials` with an `Expiration` of now + `DurationSeconds` (900 up to the
//! role's maximum, default 3600) and register the key, so the ECS API accepts it until then.
//! The error codes for bad OIDC input are [UNCONFIRMED]: plausible names in STS's style.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::fleet::Role;
use super::keys::KeyStore;
use super::params::Params;
use super::wire::{ApiError, Body, quote_value};

/// `Version` of the STS API.
pub(crate) const VERSION: &str = "2015-04-01";

/// The actions served, as named on the wire.
pub(crate) const ACTIONS: [&str; 2] = ["AssumeRole", "AssumeRoleWithOIDC"];

/// Actions that carry no signature.
pub(crate) fn is_anonymous(action: &str) -> bool {
    action == "AssumeRoleWithOIDC"
}

const DEFAULT_DURATION: i64 = 3600;
const MIN_DURATION: i64 = 900;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    assumed_role_user: AssumedRoleUser,
    credentials: CredentialsView,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AssumedRoleUser {
    assumed_role_id: String,
    arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CredentialsView {
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
}

/// Runs an STS action. `caller` is the authenticated access key id (None for anonymous ones).
pub(crate) fn dispatch(
    roles: &[Role],
    keys: &KeyStore,
    action: &str,
    params: &Params,
    caller: Option<&str>,
    now: Timestamp,
) -> Result<Body, ApiError> {
    let role_arn = required(params, "RoleArn")?;
    let session = required(params, "RoleSessionName")?;
    let session_ok = (2..=64).contains(&session.len())
        && session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if !session_ok {
        return Err(ApiError::new(
            400,
            "InvalidParameter.RoleSessionName",
            format!(
                "The parameter RoleSessionName {} is wrongly formed: 2 to 64 characters of letters, digits and . _ @ -.",
                quote_value(session)
            ),
        ));
    }
    let role = roles.iter().find(|r| r.arn == role_arn).ok_or_else(|| {
        ApiError::new(
            404,
            "EntityNotExist.Role",
            format!("The role not exists: {}.", quote_value(role_arn)),
        )
    })?;
    let duration = params
        .integer("DurationSeconds")?
        .unwrap_or(DEFAULT_DURATION);
    let max = i64::from(role.max_session_duration);
    if !(MIN_DURATION..=max).contains(&duration) {
        return Err(ApiError::new(
            400,
            "InvalidParameter.DurationSeconds",
            format!(
                "The Min/Max value of DurationSeconds is {MIN_DURATION}/{max} seconds; got {duration}."
            ),
        ));
    }
    match (action, caller) {
        ("AssumeRole", Some(caller)) => {
            let trusted = role
                .trusted_keys
                .as_ref()
                .is_none_or(|keys| keys.iter().any(|k| k == caller));
            if !trusted {
                return Err(ApiError::new(
                    403,
                    "NoPermission",
                    "You are not authorized to do this action. You should be authorized by RAM.",
                ));
            }
        }
        ("AssumeRoleWithOIDC", _) => {
            let provider = required(params, "OIDCProviderArn")?;
            let token = required(params, "OIDCToken")?;
            let trust = role
                .oidc
                .as_ref()
                .filter(|t| t.provider_arn == provider)
                .ok_or_else(|| {
                    ApiError::new(
                        404,
                        "EntityNotExist.OIDCProvider",
                        format!(
                            "The OIDC provider {} does not exist or is not trusted by the role.",
                            quote_value(provider)
                        ),
                    )
                })?;
            if !(4..=20_000).contains(&token.len()) || token != trust.token {
                // The message must not echo the token: it is a credential.
                return Err(ApiError::new(
                    400,
                    "AuthenticationFail.OIDCToken.Invalid",
                    "The OIDC token is invalid: its signature, issuer or audience does not match the provider.",
                ));
            }
        }
        _ => return Err(super::actions::api_not_found()),
    }
    let expires_at = now
        .checked_add(SignedDuration::from_secs(duration))
        .unwrap_or(now);
    let issued = keys.issue(expires_at);
    let account = role_arn
        .strip_prefix("acs:ram::")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_default();
    Ok(Body::of(&Answer {
        assumed_role_user: AssumedRoleUser {
            assumed_role_id: format!("3{account}:{session}"),
            arn: format!("{role_arn}/{session}"),
        },
        credentials: CredentialsView {
            access_key_id: issued.access_key_id,
            access_key_secret: issued.access_key_secret,
            security_token: issued.security_token,
            expiration: expires_at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        },
    }))
}

/// STS's wording for a missing parameter.
fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    params.optional(name).ok_or_else(|| {
        ApiError::new(
            400,
            &format!("Missing{name}"),
            format!("{name} is mandatory for this action."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::fleet::Fleet;

    fn setup() -> (Vec<Role>, KeyStore) {
        let fleet = Fleet::from_yaml_str(
            "access_keys: [{id: caller, secret: s}, {id: other, secret: s}]\nroles:\n  - {arn: 'acs:ram::1:role/r', trusted_keys: [caller], oidc: {provider_arn: p, token: good-token}}\n",
        )
        .expect("fleet");
        (fleet.roles.clone(), KeyStore::new(fleet.access_keys))
    }

    fn now() -> Timestamp {
        "2026-11-23T12:00:00Z".parse().expect("time")
    }

    fn code(result: Result<Body, ApiError>) -> String {
        result.expect_err("refused").code
    }

    #[test]
    fn assume_role_issues_a_key_the_store_accepts_until_it_expires() {
        let (roles, keys) = setup();
        let params = Params::from_query(
            "RoleArn=acs%3Aram%3A%3A1%3Arole%2Fr&RoleSessionName=s1&DurationSeconds=900",
        );
        let body = dispatch(&roles, &keys, "AssumeRole", &params, Some("caller"), now())
            .expect("issued")
            .to_value();
        let id = body["Credentials"]["AccessKeyId"].as_str().expect("id");
        assert_eq!(id, "STS.NUemulator000001");
        assert_eq!(body["Credentials"]["Expiration"], "2026-11-23T12:15:00Z");
        assert_eq!(body["AssumedRoleUser"]["Arn"], "acs:ram::1:role/r/s1");
        let key = keys.find(id).expect("registered");
        assert_eq!(
            key.security_token.as_deref(),
            body["Credentials"]["SecurityToken"].as_str()
        );
    }

    #[test]
    fn refusals_carry_sts_codes() {
        let (roles, keys) = setup();
        let run = |action: &str, query: &str, caller: Option<&str>| {
            dispatch(
                &roles,
                &keys,
                action,
                &Params::from_query(query),
                caller,
                now(),
            )
        };
        let role = "RoleArn=acs%3Aram%3A%3A1%3Arole%2Fr";
        assert_eq!(
            code(run("AssumeRole", "RoleSessionName=s1", Some("caller"))),
            "MissingRoleArn"
        );
        assert_eq!(
            code(run(
                "AssumeRole",
                &format!("{role}&RoleSessionName=a%20b"),
                Some("caller")
            )),
            "InvalidParameter.RoleSessionName"
        );
        assert_eq!(
            code(run(
                "AssumeRole",
                "RoleArn=acs%3Aram%3A%3A1%3Arole%2Fx&RoleSessionName=s1",
                Some("caller")
            )),
            "EntityNotExist.Role"
        );
        assert_eq!(
            code(run(
                "AssumeRole",
                &format!("{role}&RoleSessionName=s1&DurationSeconds=7200"),
                Some("caller")
            )),
            "InvalidParameter.DurationSeconds"
        );
        assert_eq!(
            code(run(
                "AssumeRole",
                &format!("{role}&RoleSessionName=s1"),
                Some("other")
            )),
            "NoPermission"
        );
        let oidc = format!("{role}&RoleSessionName=s1&OIDCProviderArn=p");
        assert_eq!(
            code(run(
                "AssumeRoleWithOIDC",
                &format!("{oidc}&OIDCToken=bad-token"),
                None
            )),
            "AuthenticationFail.OIDCToken.Invalid"
        );
        let wrong_provider =
            format!("{role}&RoleSessionName=s1&OIDCProviderArn=q&OIDCToken=good-token");
        assert_eq!(
            code(run("AssumeRoleWithOIDC", &wrong_provider, None)),
            "EntityNotExist.OIDCProvider"
        );
        assert!(
            run(
                "AssumeRoleWithOIDC",
                &format!("{oidc}&OIDCToken=good-token"),
                None
            )
            .is_ok()
        );
        let refused = run(
            "AssumeRoleWithOIDC",
            &format!("{oidc}&OIDCToken=bad-token"),
            None,
        )
        .expect_err("refused");
        assert!(
            !refused.message.contains("bad-token"),
            "{}",
            refused.message
        );
    }
}
