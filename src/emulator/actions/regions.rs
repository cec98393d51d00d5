//! DescribeRegions (ecs-api.md §3.1): the fleet's regions with their local names and regional
//! endpoints. It has no `RegionId` parameter; the one the legacy SDK adds anyway is ignored.

use serde_json::{Value, json};

use crate::emulator::catalog::region_local_name;
use crate::emulator::fleet::canonical;
use crate::emulator::params::Params;
use crate::emulator::state::World;
use crate::emulator::wire::{ApiError, Body, quote_value};

pub(super) fn describe_regions(world: &World, params: &Params) -> Result<Body, ApiError> {
    if let Some(charge) = params.optional("InstanceChargeType")
        && canonical(
            charge,
            &["PrePaid", "PostPaid", "SpotWithPriceLimit", "SpotAsPriceGo"],
        )
        .is_none()
    {
        return Err(ApiError::new(
            404,
            "InvalidInstanceChargeType.NotFound",
            format!(
                "The InstanceChargeType does not exist in our records: {}.",
                quote_value(charge)
            ),
        ));
    }
    if let Some(kind) = params.optional("ResourceType")
        && !["instance", "disk", "reservedinstance", "scu"].contains(&kind)
    {
        return Err(ApiError::new(
            404,
            "InvalidResourceType.NotFound",
            format!(
                "The ResourceType provided does not exist in our records: {}.",
                quote_value(kind)
            ),
        ));
    }
    // Chinese is the API's default language; every other language gets the English names.
    let english = params
        .optional("AcceptLanguage")
        .is_some_and(|lang| !lang.to_ascii_lowercase().starts_with("zh"));
    let regions: Vec<Value> = world
        .region_names()
        .map(|id| {
            json!({
                "RegionId": id,
                "LocalName": region_local_name(id, english),
                "RegionEndpoint": format!("ecs.{id}.aliyuncs.com"),
                "Status": "available",
            })
        })
        .collect();
    Ok(Body::of(&json!({ "Regions": { "Region": regions } })))
}

#[cfg(test)]
mod tests {
    use crate::emulator::actions::test_support::*;

    #[test]
    fn lists_the_fleet_regions_with_endpoints() {
        let w = world();
        let body = ok(&w, "DescribeRegions", &[("AcceptLanguage", "en-US")]);
        let regions = body["Regions"]["Region"].as_array().expect("list");
        let ids: Vec<&str> = regions
            .iter()
            .filter_map(|r| r["RegionId"].as_str())
            .collect();
        assert_eq!(
            ids,
            ["cn-beijing", "cn-hangzhou", "cn-shanghai", "cn-shenzhen"]
        );
        assert_eq!(regions[1]["RegionEndpoint"], "ecs.cn-hangzhou.aliyuncs.com");
        assert_eq!(regions[1]["LocalName"], "China (Hangzhou)");
        let zh = ok(&w, "DescribeRegions", &[("RegionId", "cn-hangzhou")]);
        assert_eq!(zh["Regions"]["Region"][1]["LocalName"], "华东1（杭州）");
    }

    #[test]
    fn rejects_unknown_filters() {
        let w = world();
        assert_eq!(
            err(&w, "DescribeRegions", &[("InstanceChargeType", "Free")]),
            (404, "InvalidInstanceChargeType.NotFound".to_owned())
        );
    }
}
