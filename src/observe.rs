//! Builds the observed state through `EcsApi`, with the fewest reads (DESIGN.md §5): per region,
//! the first DescribeInstances page (PrePaid, 100 a page) tells `TotalCount`, the other pages
//! are fetched concurrently; the auto-renew attribute is read only for managed instances, 100
//! ids a call; ids listed by `ids` policies but not seen are looked up once more without the
//! charge filter. Reads only: nothing here changes the cloud.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;

use crate::cloud::{ApiError, EcsApi, InstancePage, InstanceQuery, MAX_BATCH, Paging};
use crate::desired::DesiredState;
use crate::observed::{ChargeType, InstanceSnapshot, ObservedState};
use crate::policy;

/// A region claiming more subscription instances than this is answering nonsense.
const MAX_PLAUSIBLE_TOTAL: u64 = 10_000_000;

/// Why the cloud could not be observed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("cannot observe region {region}: {source}")]
    Api {
        region: String,
        #[source]
        source: ApiError,
    },
    #[error("cannot observe region {region}: {message}")]
    Inconsistent { region: String, message: String },
}

fn api_error(region: &str) -> impl Fn(ApiError) -> ObserveError + '_ {
    move |source| ObserveError::Api {
        region: region.to_string(),
        source,
    }
}

fn prepaid_query(region: &str, paging: Paging) -> InstanceQuery {
    InstanceQuery {
        region: region.to_string(),
        paging,
        prepaid_only: true,
        instance_ids: None,
    }
}

/// Every subscription instance of one region, and the number of reads made.
async fn scan_region<A: EcsApi>(
    api: &A,
    region: &str,
) -> Result<(Vec<InstanceSnapshot>, u64), ObserveError> {
    let first = api
        .describe_instances(&prepaid_query(region, Paging::Page(1)))
        .await
        .map_err(api_error(region))?;
    let total = first.total_count;
    if total > MAX_PLAUSIBLE_TOTAL {
        return Err(ObserveError::Inconsistent {
            region: region.to_string(),
            message: format!("DescribeInstances reports TotalCount {total}, which is implausible"),
        });
    }
    let pages = total.div_ceil(MAX_BATCH as u64).max(1);
    let mut reads = 1;
    let rest = join_all((2..=pages).map(|page| {
        let query = prepaid_query(region, Paging::Page(page as u32));
        async move { api.describe_instances(&query).await }
    }))
    .await;
    reads += pages - 1;

    let mut by_id: BTreeMap<String, InstanceSnapshot> = BTreeMap::new();
    let mut add = |page: InstancePage| {
        for instance in page.instances {
            by_id.insert(instance.instance_id.clone(), instance);
        }
    };
    add(first);
    for page in rest {
        add(page.map_err(api_error(region))?);
    }

    if by_id.len() as u64 == total {
        return Ok((by_id.into_values().collect(), reads));
    }

    // The fleet changed while the pages were read (an instance appeared or went, shifting the
    // pages): read the region again, sequentially, with NextToken, which is consistent.
    let mut by_id: BTreeMap<String, InstanceSnapshot> = BTreeMap::new();
    let mut seen_tokens = BTreeSet::new();
    let mut token = None;
    loop {
        let page = api
            .describe_instances(&prepaid_query(region, Paging::Token(token.clone())))
            .await
            .map_err(api_error(region))?;
        reads += 1;
        let next = page.next_token.clone().filter(|t| !t.is_empty());
        for instance in page.instances {
            by_id.insert(instance.instance_id.clone(), instance);
        }
        match next {
            None => break,
            Some(next) => {
                if !seen_tokens.insert(next.clone()) {
                    return Err(ObserveError::Inconsistent {
                        region: region.to_string(),
                        message: "DescribeInstances returned the same NextToken twice".to_string(),
                    });
                }
                token = Some(next);
            }
        }
    }
    Ok((by_id.into_values().collect(), reads))
}

/// Observes the regions of `desired`.
pub async fn observe<A: EcsApi>(
    api: &A,
    desired: &DesiredState,
) -> Result<ObservedState, ObserveError> {
    let regions = desired.regions.clone();
    let scans = join_all(regions.iter().map(|region| scan_region(api, region))).await;

    let mut instances = Vec::new();
    let mut reads = 0;
    for scan in scans {
        let (found, calls) = scan?;
        instances.extend(found);
        reads += calls;
    }

    // Ids listed by `ids` policies that the PrePaid scan did not see: look them up without the
    // charge filter, in every region, so a pay-as-you-go instance is told apart from a typo.
    let seen: BTreeSet<&str> = instances.iter().map(|i| i.instance_id.as_str()).collect();
    let missing: Vec<String> = desired
        .policies
        .iter()
        .flat_map(|p| p.selector.ids.iter().flatten())
        .filter(|id| !seen.contains(id.as_str()))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut looked_up = Vec::new();
    if !missing.is_empty() {
        let lookups = regions.iter().flat_map(|region| {
            missing.chunks(MAX_BATCH).map(move |chunk| {
                let query = InstanceQuery {
                    region: region.clone(),
                    paging: Paging::Page(1),
                    prepaid_only: false,
                    instance_ids: Some(chunk.to_vec()),
                };
                async move { (region, api.describe_instances(&query).await) }
            })
        });
        for (region, result) in join_all(lookups).await {
            reads += 1;
            let page = result.map_err(api_error(region))?;
            for instance in page.instances {
                if !missing.contains(&instance.instance_id) {
                    continue;
                }
                if instance.charge_type == ChargeType::PrePaid {
                    // Created after the scan: observe it like the others.
                    instances.push(instance);
                } else {
                    looked_up.push(instance);
                }
            }
        }
    }
    let found: BTreeSet<String> = instances
        .iter()
        .chain(&looked_up)
        .map(|i| i.instance_id.clone())
        .collect();
    let not_found: Vec<String> = missing
        .into_iter()
        .filter(|id| !found.contains(id))
        .collect();

    // The auto-renew attribute of managed instances, 100 ids a call, per region.
    let mut managed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let matcher = policy::Matcher::new(desired);
    for instance in &instances {
        if matcher.is_matched(instance) {
            managed
                .entry(instance.region.as_str())
                .or_default()
                .push(instance.instance_id.clone());
        }
    }
    let reads_of_attributes = managed.iter().flat_map(|(region, ids)| {
        ids.chunks(MAX_BATCH).map(move |chunk| async move {
            (*region, api.describe_auto_renew(region, chunk).await)
        })
    });
    let mut attributes = BTreeMap::new();
    for (region, result) in join_all(reads_of_attributes).await {
        reads += 1;
        for (id, attribute) in result.map_err(api_error(region))? {
            attributes.insert(id, attribute);
        }
    }
    for instance in &mut instances {
        if let Some(attribute) = attributes.remove(&instance.instance_id) {
            instance.renewal = Some(attribute);
        }
    }

    instances.sort_by(|a, b| (&a.region, &a.instance_id).cmp(&(&b.region, &b.instance_id)));
    Ok(ObservedState {
        regions,
        instances,
        looked_up,
        not_found,
        read_calls: reads,
    })
}
