//! The `cli-profile` link: a profile of the aliyun CLI's configuration file,
//! `~/.aliyun/config.json` (ecs-api.md §8.2), the file a laptop user already has after
//! `aliyun configure`. The profile is `--profile`, else `ALIBABA_CLOUD_PROFILE` (or the CLI's
//! `ALIBABACLOUD_PROFILE`, `ALICLOUD_PROFILE`), else the file's `current`, else `default`.
//! `ALIBABA_CLOUD_CREDENTIALS_FILE` names another file, as in the Terraform provider (the SDKs
//! use the same variable for their INI file, which renewctl does not read: such a file is
//! reported as not being the CLI's JSON). `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true` skips the
//! link.
//!
//! Modes: `AK`, `StsToken`, `RamRoleArn` (STS AssumeRole signed with the profile's key),
//! `EcsRamRole` (the metadata service) and `OIDC`. A missing default file is "not configured";
//! a file or profile asked for by name that is missing, unreadable, not JSON, or a profile
//! lacking what its mode needs, is an error naming the file, the profile and the field.

use std::path::PathBuf;

use serde::Deserialize;

use super::ecs_metadata::{self, MetadataRequest};
use super::io::{Clock, Files};
use super::oidc::default_session_name;
use super::source::{Detected, Source};
use super::sts::{self, DEFAULT_DURATION_SECONDS, MIN_DURATION_SECONDS, RoleRequest};
use super::vars::Environment;
use super::{Credentials, Secret};

const FILE_VAR: &str = "ALIBABA_CLOUD_CREDENTIALS_FILE";
const PROFILE_VARS: [&str; 3] = [
    "ALIBABA_CLOUD_PROFILE",
    "ALIBABACLOUD_PROFILE",
    "ALICLOUD_PROFILE",
];
const DISABLED_VAR: &str = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED";

/// The modes renewctl reads, for messages.
const SUPPORTED: &str = "AK, StsToken, RamRoleArn, EcsRamRole, OIDC";

// No Debug: secrets. Unknown keys are ignored: the CLI writes many (output_format, language…).
#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    current: String,
    #[serde(default)]
    profiles: Vec<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    access_key_secret: String,
    #[serde(default)]
    sts_token: String,
    #[serde(default)]
    sts_region: String,
    #[serde(default)]
    ram_role_arn: String,
    #[serde(default)]
    ram_session_name: String,
    #[serde(default)]
    role_session_name: String,
    #[serde(default)]
    expired_seconds: u64,
    #[serde(default)]
    external_id: String,
    #[serde(default)]
    ram_role_name: String,
    #[serde(default)]
    oidc_provider_arn: String,
    #[serde(default)]
    oidc_token_file: String,
}

/// Where the file is, and whether it was named explicitly.
fn config_path(env: &Environment) -> Result<(PathBuf, bool), String> {
    if let Some(path) = env.get(FILE_VAR) {
        return Ok((PathBuf::from(path), true));
    }
    let home = env
        .first(&["HOME", "USERPROFILE"])
        .map(|(_, h)| h)
        .ok_or_else(|| {
            "no home directory (HOME is not set), so no ~/.aliyun/config.json".to_string()
        })?;
    Ok((
        PathBuf::from(home).join(".aliyun").join("config.json"),
        false,
    ))
}

pub(crate) fn detect(
    env: &Environment,
    files: &dyn Files,
    clock: &dyn Clock,
    profile_flag: Option<&str>,
    link: &'static str,
) -> Detected {
    let asked = profile_flag
        .map(|p| ("--profile", p))
        .or_else(|| env.first(&PROFILE_VARS));
    if env.is_true(DISABLED_VAR) {
        return match asked {
            Some((by, name)) => Detected::Invalid(format!(
                "{by} asks for profile {name:?}, but {DISABLED_VAR}=true disables profiles"
            )),
            None => Detected::NotConfigured(format!("disabled by {DISABLED_VAR}=true")),
        };
    }
    let (path, named) = match config_path(env) {
        Ok(found) => found,
        Err(why) => {
            return match asked {
                Some((by, name)) => {
                    Detected::Invalid(format!("{by} asks for profile {name:?}, but {why}"))
                }
                None => Detected::NotConfigured(why),
            };
        }
    };
    let shown = path.display().to_string();
    let bytes = match files.read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named && asked.is_none() => {
            return Detected::NotConfigured(format!("no aliyun CLI config at {shown}"));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let why = match (named, asked) {
                (true, _) => format!("{FILE_VAR} names {shown}, which does not exist"),
                (false, Some((by, name))) => {
                    format!(
                        "{by} asks for profile {name:?}, but there is no aliyun CLI config at {shown}"
                    )
                }
                (false, None) => format!("no aliyun CLI config at {shown}"),
            };
            return Detected::Invalid(why);
        }
        Err(e) => return Detected::Invalid(format!("cannot read {shown}: {e}")),
    };
    let file: ConfigFile = match serde_json::from_slice(&bytes) {
        Ok(file) => file,
        Err(e) => {
            return Detected::Invalid(format!(
                "{shown} is not an aliyun CLI config file (JSON with \"profiles\"): {e}{}",
                if named {
                    format!(
                        "; {FILE_VAR} must name the aliyun CLI's config.json (the SDKs' INI \
                         credentials file is not read)"
                    )
                } else {
                    String::new()
                }
            ));
        }
    };
    let (name, chosen_by) = match asked {
        Some((by, name)) => (name.to_string(), by.to_string()),
        None if !file.current.trim().is_empty() => {
            (file.current.trim().to_string(), "\"current\"".to_string())
        }
        None => ("default".to_string(), "the default".to_string()),
    };
    let Some(profile) = file.profiles.iter().find(|p| p.name == name) else {
        let names: Vec<String> = file
            .profiles
            .iter()
            .map(|p| format!("{:?}", p.name))
            .collect();
        return Detected::Invalid(format!(
            "{shown} has no profile {name:?} (chosen by {chosen_by}); it has {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    };
    match source_of(profile, env, clock, link) {
        Ok((source, how)) => Detected::Configured {
            source: Box::new(source),
            detail: format!("profile {name:?} of {shown}, mode {}", how),
        },
        Err(why) => Detected::Invalid(format!("profile {name:?} of {shown}: {why}")),
    }
}

/// The mode's source and a description of it, or what the profile lacks.
fn source_of(
    p: &Profile,
    env: &Environment,
    clock: &dyn Clock,
    link: &'static str,
) -> Result<(Source, String), String> {
    // The CLI treats a profile without a mode (written by old versions) as AK.
    let mode = if p.mode.trim().is_empty() {
        "AK"
    } else {
        p.mode.trim()
    };
    let need = |field: &'static str, value: &str| -> Result<String, String> {
        let value = value.trim();
        if value.is_empty() {
            Err(format!(
                "mode {mode} needs {field}, which is empty or missing"
            ))
        } else {
            Ok(value.to_string())
        }
    };
    let key = |with_token: bool| -> Result<Credentials, String> {
        Ok(Credentials {
            access_key_id: need("access_key_id", &p.access_key_id)?,
            access_key_secret: Secret::new(need("access_key_secret", &p.access_key_secret)?),
            security_token: if with_token {
                Some(Secret::new(need("sts_token", &p.sts_token)?))
            } else {
                None
            },
            source: link,
        })
    };
    let duration = || -> Result<u32, String> {
        match p.expired_seconds {
            0 => Ok(DEFAULT_DURATION_SECONDS),
            s if s < u64::from(MIN_DURATION_SECONDS) => Err(format!(
                "expired_seconds {s} is below the {MIN_DURATION_SECONDS} seconds STS grants at least"
            )),
            s => u32::try_from(s).map_err(|_| format!("expired_seconds {s} is too large")),
        }
    };
    let session = |value: &str| {
        let value = value.trim();
        if value.is_empty() {
            default_session_name(clock)
        } else {
            value.to_string()
        }
    };
    match mode {
        "AK" => Ok((Source::Fixed(key(false)?), "AK".to_string())),
        "StsToken" => Ok((Source::Fixed(key(true)?), "StsToken".to_string())),
        "RamRoleArn" => {
            let caller = key(false)?;
            let role_arn = need("ram_role_arn", &p.ram_role_arn)?;
            let sts = sts::endpoint(env, Some(&p.sts_region))?;
            let how = format!("RamRoleArn: STS AssumeRole of {role_arn} at {}", sts.url());
            let external_id = Some(p.external_id.trim().to_string()).filter(|e| !e.is_empty());
            Ok((
                Source::AssumeRole {
                    caller,
                    role: RoleRequest {
                        role_arn,
                        session_name: session(&p.ram_session_name),
                        duration_seconds: duration()?,
                        external_id,
                    },
                    sts,
                },
                how,
            ))
        }
        "EcsRamRole" => {
            let role = need("ram_role_name", &p.ram_role_name)?;
            let base = ecs_metadata::base_url(env)?;
            let how = format!("EcsRamRole: RAM role {role} from the metadata service at {base}");
            Ok((
                Source::EcsRole(MetadataRequest {
                    base,
                    role: Some(role),
                    imdsv1_disabled: env.is_true("ALIBABA_CLOUD_IMDSV1_DISABLED"),
                    optional: false,
                }),
                how,
            ))
        }
        "OIDC" => {
            let role_arn = need("ram_role_arn", &p.ram_role_arn)?;
            let provider_arn = need("oidc_provider_arn", &p.oidc_provider_arn)?;
            let token_file = need("oidc_token_file", &p.oidc_token_file)?;
            let sts = sts::endpoint(env, Some(&p.sts_region))?;
            let how = format!(
                "OIDC: STS AssumeRoleWithOIDC of {role_arn} at {} with provider {provider_arn} and the token in {token_file}",
                sts.url()
            );
            Ok((
                Source::Oidc {
                    role: RoleRequest {
                        role_arn,
                        // The SDK reads role_session_name for OIDC and ram_session_name for
                        // RamRoleArn (ecs-api.md §8.2).
                        session_name: session(&p.role_session_name),
                        duration_seconds: duration()?,
                        external_id: None,
                    },
                    provider_arn,
                    token_file: PathBuf::from(token_file),
                    sts,
                },
                how,
            ))
        }
        other => Err(format!(
            "mode {other} is not supported by renewctl (it reads {SUPPORTED}); choose another \
             profile with --profile or ALIBABA_CLOUD_PROFILE"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::io::{RealFiles, SystemClock};

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        // A directory cannot be read as a file: any error other than "not found" stops the chain.
        let dir = env!("CARGO_MANIFEST_DIR");
        let env = Environment::from_pairs([(FILE_VAR, dir)]);
        match detect(&env, &RealFiles, &SystemClock, None, "cli-profile") {
            Detected::Invalid(message) => {
                assert!(
                    message.starts_with(&format!("cannot read {dir}: ")),
                    "{message}"
                )
            }
            _ => panic!("a directory was read as a config file"),
        }
    }
}
