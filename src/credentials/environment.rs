//! The `environment` link: an access key pair, and optionally an STS token, in environment
//! variables. The official names come first (ecs-api.md §8.1); the older `ALICLOUD_*` names that
//! Terraform users already have exported are read when the official one is unset. Half a pair,
//! or a token without a pair, is a mistake worth stopping for: silently falling through to a
//! profile would act with an identity the user did not mean.

use super::source::{Detected, Source};
use super::vars::Environment;
use super::{Credentials, Secret};

pub(crate) const ID: [&str; 2] = ["ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY"];
pub(crate) const SECRET: [&str; 2] = ["ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECRET_KEY"];
pub(crate) const TOKEN: [&str; 2] = ["ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_SECURITY_TOKEN"];

pub(crate) fn detect(env: &Environment, link: &'static str) -> Detected {
    let id = env.first(&ID);
    let secret = env.first(&SECRET);
    let token = env.first(&TOKEN);
    match (id, secret) {
        (Some((id_name, id)), Some((secret_name, secret))) => {
            let mut detail = format!("{id_name} and {secret_name}");
            if let Some((token_name, _)) = token {
                detail.push_str(&format!(" with {token_name}"));
            }
            Detected::Configured {
                source: Box::new(Source::Fixed(Credentials {
                    access_key_id: id.to_string(),
                    access_key_secret: Secret::new(secret),
                    security_token: token.map(|(_, t)| Secret::new(t)),
                    source: link,
                })),
                detail,
            }
        }
        (Some((id_name, _)), None) => Detected::Invalid(format!(
            "{id_name} is set but neither {} nor {} is: set the secret too, or unset {id_name}",
            SECRET[0], SECRET[1]
        )),
        (None, Some((secret_name, _))) => Detected::Invalid(format!(
            "{secret_name} is set but neither {} nor {} is: set the key id too, or unset {secret_name}",
            ID[0], ID[1]
        )),
        (None, None) => match token {
            Some((token_name, _)) => Detected::Invalid(format!(
                "{token_name} is set but no access key pair is: an STS token needs its \
                 {} and {}",
                ID[0], SECRET[0]
            )),
            None => Detected::NotConfigured(format!("neither {} nor {} is set", ID[0], ID[1])),
        },
    }
}
