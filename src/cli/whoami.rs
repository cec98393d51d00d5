//! `renewctl whoami`: walks the credentials chain exactly as plan and apply do and says which
//! link supplied credentials, the access key id (masked) and when temporary ones expire. Never
//! prints a secret. With `-c FILE` it also shows the file's site and the ECS host each of its
//! regions will use; with `--probe-site` it asks the account which site it is on (BSS first,
//! then the currency of one price), prints the `site:` line to add, and fails when the file
//! declares the other one.
//!
//! Without `--probe-site` no ECS request is made; a link that assumes a role does call STS or
//! the metadata service, since that is what supplying credentials means for it.

use anstream::{print, println};

use super::args::{GlobalArgs, WhoamiArgs};
use super::context::{client, load_config, resolve_credentials, routing};
use crate::credentials::Identity;
use crate::engine;

pub async fn whoami(global: &GlobalArgs, args: &WhoamiArgs) -> anyhow::Result<u8> {
    let resolution = resolve_credentials(global).await?;
    print!("{}", Identity::of(&resolution, &resolution.lease).render());
    let Some(path) = &args.config else {
        return Ok(0);
    };
    let config = load_config(global, path)?;
    let desired = &config.desired;
    let routing = routing(Some(desired));
    println!(
        "site: {}",
        match desired.site {
            Some(site) => format!("{site} ({})", site.label()),
            None => "not declared (only what both sites accept is planned)".to_string(),
        }
    );
    println!("endpoints:");
    for region in &desired.regions {
        let host = match &global.endpoint {
            Some(url) => url.clone(),
            None => routing.target(region).map(|t| t.base)?,
        };
        println!("  {region}: {host}");
    }
    if !args.probe_site {
        return Ok(0);
    }
    let client = client(global, routing, resolution.provider)?;
    match engine::site::detect(&client, &desired.regions).await? {
        None => {
            println!(
                "the account's site: unknown (no subscription instance in {} to price)",
                desired.regions.join(", ")
            );
            Ok(0)
        }
        Some(probe) => {
            println!(
                "the account's site: {} ({})",
                probe.site.label(),
                probe.evidence
            );
            match desired.site {
                None => {
                    println!("add to {}: site: {}", path.display(), probe.site);
                    Ok(0)
                }
                Some(declared) => {
                    engine::site::check(declared, &probe)?;
                    Ok(0)
                }
            }
        }
    }
}
