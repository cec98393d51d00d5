//! The export use case: observe the subscription instances of some regions (optionally only
//! those carrying some tags), read the auto-renew attribute of each, and make the renewal.yaml
//! that declares exactly that (`crate::export`). The export parses its own output before it is
//! returned: it always validates.

use std::collections::BTreeMap;

use super::EngineError;
use crate::cloud::EcsApi;
use crate::desired::{self, DesiredState, Renewal, RenewalPolicy, Selector};
use crate::export::{self, Export};
use crate::observe::observe;

/// The export of `regions` (instances carrying every tag of `filter`), and its YAML text.
/// Fails when a region could not be read: an export must be whole, a region missing from it
/// would drop its policies.
pub async fn export<A: EcsApi>(
    api: &A,
    regions: Vec<String>,
    filter: BTreeMap<String, String>,
) -> Result<(Export, String), EngineError> {
    // One tag policy with the filter as its selector makes `observe` read the auto-renew
    // attribute of exactly the instances to export (an empty selector matches every one;
    // validation refuses that in files, and this one never goes through it).
    let probe = DesiredState::new(
        regions.clone(),
        vec![RenewalPolicy {
            name: "export".to_string(),
            selector: Selector {
                ids: None,
                tags: Some(filter.clone()),
            },
            renewal: Renewal::Manual,
            auto_renew_period: None,
            min_remaining: None,
            renew_period: None,
            protect: None,
        }],
    );
    let observed = observe(api, &probe).await;
    if let Some(failure) = observed.failed_regions.first() {
        // An export must be whole: a region missing from it would drop its policies.
        return Err(EngineError::ExportIncomplete {
            region: failure.region.clone(),
            reason: failure.reason.clone(),
        });
    }
    let exported = export::export(&regions, &filter, &observed.instances);
    let text = export::yaml::to_yaml(&exported);
    if let Err(err) = desired::parse(text.as_bytes(), "the export") {
        return Err(EngineError::Bug(format!(
            "the export does not validate, which is a bug in renewctl:\n{err}"
        )));
    }
    Ok((exported, text))
}
