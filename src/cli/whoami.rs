//! `renewctl whoami`: walks the credentials chain exactly as plan and apply do and says which
//! link supplied credentials, the access key id (masked) and when temporary ones expire. No ECS
//! request is made; a link that assumes a role does call STS or the metadata service, since that
//! is what supplying credentials means for it. Never prints a secret.

use anstream::print;

use super::args::GlobalArgs;
use super::context::resolve_credentials;
use crate::credentials::Identity;

pub async fn whoami(global: &GlobalArgs) -> anyhow::Result<u8> {
    let resolution = resolve_credentials(global).await?;
    print!("{}", Identity::of(&resolution, &resolution.lease).render());
    Ok(0)
}
