//! `renewctl explain i-…`: observes and plans exactly as `plan` does, then shows one
//! instance's part of it (see `crate::explain`). An instance that the plan's reads did not
//! cover (pay-as-you-go, or unmanaged so its auto-renew attribute was not read) is read once
//! more, so the explanation always shows its observed state.

use anstream::print;
use anyhow::bail;

use super::args::{ExplainArgs, GlobalArgs};
use super::context::{client_from_env, load_config};
use crate::cloud::{EcsApi, InstanceQuery};
use crate::explain;
use crate::observe::observe;
use crate::{plan, price};

pub async fn explain(global: &GlobalArgs, args: &ExplainArgs) -> anyhow::Result<u8> {
    let config = load_config(&args.config.config)?;
    let client = client_from_env(global).await?;
    let observed = observe(&client, &config.desired).await;
    let now = jiff::Timestamp::now();
    let mut plan = plan::plan(&config.desired, &observed, now, &config.digest);

    let id = args.instance_id.as_str();
    // The plan's price for this instance's renewal: one read, not the whole plan's.
    price::price_renewals_where(&client, &mut plan, |c| c.instance_id == id).await;
    let found = observed
        .instances
        .iter()
        .chain(&observed.looked_up)
        .find(|i| i.instance_id == id)
        .cloned();
    let mut instance = match found {
        Some(instance) => instance,
        None => {
            // Not a subscription instance of these regions, or not there at all: ask once
            // without the charge filter.
            let mut found = None;
            for region in &config.desired.regions {
                let page = client
                    .describe_instances(&InstanceQuery::by_ids(region, &[id.to_string()]))
                    .await?;
                if let Some(i) = page.instances.into_iter().find(|i| i.instance_id == id) {
                    found = Some(i);
                    break;
                }
            }
            match found {
                Some(instance) => instance,
                None => bail!(
                    "instance {id} exists in none of the regions of {} ({}): check the id, or \
                     add its region to `regions`",
                    args.config.config.display(),
                    config.desired.regions.join(", ")
                ),
            }
        }
    };
    if instance.renewal.is_none() && instance.charge_type == crate::observed::ChargeType::PrePaid {
        let read = client
            .describe_auto_renew(&instance.region, &[instance.instance_id.clone()])
            .await?;
        instance.renewal = read.into_iter().find(|(i, _)| i == id).map(|(_, a)| a);
    }

    let explanation = explain::explain(&config.desired, &instance, &plan);
    print!("{}", crate::render::explain::render(&explanation, now));
    Ok(0)
}
