//! The explain use case: observe and plan exactly as `plan` does, then take one instance's part
//! of it (`crate::explain`). Only that instance's renewal is priced. An instance the plan's
//! reads did not cover (pay-as-you-go, or unmanaged so its auto-renew attribute was not read)
//! is read once more, so the explanation always shows its observed state.

use jiff::Timestamp;

use super::{EngineError, quotes};
use crate::cloud::{EcsApi, InstanceQuery};
use crate::desired::Config;
use crate::explain::{self, Explanation};
use crate::observe::observe;
use crate::observed::{ChargeType, InstanceSnapshot};
use crate::plan;

/// Explains what the plan at `now` does to instance `id`, and why. `config_name` names the
/// config in the error for an instance found in none of its regions.
pub async fn explain<A: EcsApi>(
    api: &A,
    config: &Config,
    config_name: &str,
    id: &str,
    now: Timestamp,
) -> Result<Explanation, EngineError> {
    let observed = observe(api, &config.desired).await;
    let mut plan = plan::plan(&config.desired, &observed, now, &config.digest);
    // The plan's price for this instance's renewal: one read, not the whole plan's.
    quotes::price_renewals_where(api, &mut plan, |c| c.instance_id == id).await;
    let found = observed
        .instances
        .iter()
        .chain(&observed.looked_up)
        .find(|i| i.instance_id == id)
        .cloned();
    let mut instance = match found {
        Some(instance) => instance,
        None => look_up(api, config, config_name, id).await?,
    };
    if instance.renewal.is_none() && instance.charge_type == ChargeType::PrePaid {
        let read = api
            .describe_auto_renew(&instance.region, &[instance.instance_id.clone()])
            .await?;
        instance.renewal = read.into_iter().find(|(i, _)| i == id).map(|(_, a)| a);
    }
    Ok(explain::explain(&config.desired, &instance, &plan))
}

/// Not a subscription instance of the config's regions, or not there at all: asks each region
/// once, without the charge filter.
async fn look_up<A: EcsApi>(
    api: &A,
    config: &Config,
    config_name: &str,
    id: &str,
) -> Result<InstanceSnapshot, EngineError> {
    for region in &config.desired.regions {
        let page = api
            .describe_instances(&InstanceQuery::by_ids(region, &[id.to_string()]))
            .await?;
        if let Some(instance) = page.instances.into_iter().find(|i| i.instance_id == id) {
            return Ok(instance);
        }
    }
    Err(EngineError::NotFound(format!(
        "instance {id} exists in none of the regions of {config_name} ({}): check the id, or \
         add its region to `regions`",
        config.desired.regions.join(", ")
    )))
}
