//! Builds the observed state through `EcsApi`, with the fewest reads (DESIGN.md §5): per region,
//! the first DescribeInstances page (PrePaid, 100 a page) tells `TotalCount`, the other pages
//! are fetched concurrently; the auto-renew attribute is read only for managed instances (and,
//! when asked, unmanaged ones expiring soon), 100 ids a call, overlapping with the pages; ids
//! listed by `ids` policies but not seen are looked up once more without the charge filter.
//! Reads only: nothing here changes the cloud.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures_util::StreamExt;
use futures_util::future::{Either, join_all};
use futures_util::stream::FuturesUnordered;

use crate::cloud::{ApiError, EcsApi, InstancePage, InstanceQuery, MAX_BATCH, Paging};
use crate::desired::DesiredState;
use crate::observed::{ChargeType, InstanceSnapshot, ObservedState, RenewalAttribute};
use crate::policy;

/// A region claiming more subscription instances than this is answering nonsense.
const MAX_PLAUSIBLE_TOTAL: u64 = 10_000_000;

/// Why the cloud could not be observed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// The API error is part of the message and not a `source`: an error chain printed with
    /// its causes would otherwise say it twice.
    #[error("cannot observe region {region}: {error}")]
    Api { region: String, error: ApiError },
    #[error("cannot observe region {region}: {message}")]
    Inconsistent { region: String, message: String },
}

fn api_error(region: &str) -> impl Fn(ApiError) -> ObserveError + '_ {
    move |error| ObserveError::Api {
        region: region.to_string(),
        error,
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

/// One finished request of a region's observation.
enum Done {
    Page(Result<InstancePage, ApiError>),
    Attributes(Result<Vec<(String, RenewalAttribute)>, ApiError>),
}

/// Everything observed in one region.
struct RegionObservation {
    /// With their auto-renew attribute when wanted.
    instances: Vec<InstanceSnapshot>,
    reads: u64,
}

async fn page_task<A: EcsApi>(api: &A, region: &str, page: u32) -> Done {
    Done::Page(
        api.describe_instances(&prepaid_query(region, Paging::Page(page)))
            .await,
    )
}

async fn attributes_task<A: EcsApi>(api: &A, region: &str, ids: Vec<String>) -> Done {
    Done::Attributes(api.describe_auto_renew(region, &ids).await)
}

/// The snapshots of one region as its pages arrive: in arrival order with an index by id, sized
/// from `TotalCount` up front, each auto-renew attribute written straight into its snapshot. (A
/// map of snapshots, then a vector of them, would hold a 100,000-instance fleet two or three
/// times over at its peak.)
struct RegionScan {
    list: Vec<InstanceSnapshot>,
    index: HashMap<String, usize>,
    /// Wanted ids whose attribute is not requested yet.
    pending: Vec<String>,
}

impl RegionScan {
    fn new(capacity: usize) -> RegionScan {
        RegionScan {
            list: Vec::with_capacity(capacity),
            index: HashMap::with_capacity(capacity),
            pending: Vec::new(),
        }
    }

    fn take_page(
        &mut self,
        page: InstancePage,
        wanted: &(dyn Fn(&InstanceSnapshot) -> bool + Sync),
    ) {
        for mut instance in page.instances {
            match self.index.get(&instance.instance_id) {
                // Seen on another page too (the fleet moved): keep what was read of it.
                Some(&at) => {
                    if let Some(seen) = self.list.get_mut(at) {
                        instance.renewal = seen.renewal.take();
                        *seen = instance;
                    }
                }
                None => {
                    if wanted(&instance) {
                        self.pending.push(instance.instance_id.clone());
                    }
                    self.index
                        .insert(instance.instance_id.clone(), self.list.len());
                    self.list.push(instance);
                }
            }
        }
    }

    fn set_attributes(&mut self, found: Vec<(String, RenewalAttribute)>) {
        for (id, attribute) in found {
            if let Some(instance) = self.index.get(&id).and_then(|&at| self.list.get_mut(at)) {
                instance.renewal = Some(attribute);
            }
        }
    }
}

/// Every subscription instance of one region, and the auto-renew attribute of those `wanted`.
///
/// The first page tells `TotalCount`; the other pages are requested at once, and attribute
/// reads start as soon as 100 wanted instances have been seen, while pages are still arriving:
/// the two kinds of read overlap instead of running one after the other, so the region takes
/// about one round trip more than its calls spread over the client's parallelism. Calls stay
/// minimal: ceil(pages) + ceil(wanted / 100).
async fn observe_region<A: EcsApi>(
    api: &A,
    region: &str,
    wanted: &(dyn Fn(&InstanceSnapshot) -> bool + Sync),
) -> Result<RegionObservation, ObserveError> {
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
    let mut reads = pages;

    let mut tasks = FuturesUnordered::new();
    for page in 2..=pages {
        tasks.push(Either::Left(page_task(api, region, page as u32)));
    }
    let mut pages_left = pages - 1;
    let mut scan = RegionScan::new(usize::try_from(total).unwrap_or(0));
    scan.take_page(first, wanted);
    loop {
        // Full batches go at once; the last, partial one when no page is left to fill it.
        while scan.pending.len() >= MAX_BATCH || (pages_left == 0 && !scan.pending.is_empty()) {
            let take = scan.pending.len().min(MAX_BATCH);
            let batch: Vec<String> = scan.pending.drain(..take).collect();
            reads += 1;
            tasks.push(Either::Right(attributes_task(api, region, batch)));
        }
        let Some(done) = tasks.next().await else {
            break;
        };
        match done {
            Done::Page(page) => {
                pages_left -= 1;
                scan.take_page(page.map_err(api_error(region))?, wanted);
            }
            Done::Attributes(found) => scan.set_attributes(found.map_err(api_error(region))?),
        }
    }

    if scan.list.len() as u64 != total {
        // The fleet changed while the pages were read (an instance appeared or went, shifting
        // the pages): read the region again, sequentially, with NextToken, which is
        // consistent, and read the attributes still missing.
        let (instances, token_reads) = rescan_region(api, region).await?;
        reads += token_reads;
        let mut rescan = RegionScan::new(instances.len());
        rescan.take_page(
            InstancePage {
                total_count: instances.len() as u64,
                next_token: None,
                instances,
                request_id: String::new(),
            },
            &|_| false,
        );
        for instance in &mut rescan.list {
            instance.renewal = scan
                .index
                .get(&instance.instance_id)
                .and_then(|&at| scan.list.get_mut(at))
                .and_then(|seen| seen.renewal.take());
        }
        let missing: Vec<String> = rescan
            .list
            .iter()
            .filter(|i| wanted(i) && i.renewal.is_none())
            .map(|i| i.instance_id.clone())
            .collect();
        for batch in missing.chunks(MAX_BATCH) {
            reads += 1;
            let found = api
                .describe_auto_renew(region, batch)
                .await
                .map_err(api_error(region))?;
            rescan.set_attributes(found);
        }
        return Ok(RegionObservation {
            instances: rescan.list,
            reads,
        });
    }
    Ok(RegionObservation {
        instances: scan.list,
        reads,
    })
}

/// Every subscription instance of one region, read page after page with NextToken.
async fn rescan_region<A: EcsApi>(
    api: &A,
    region: &str,
) -> Result<(Vec<InstanceSnapshot>, u64), ObserveError> {
    let mut reads = 0;
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

/// What to read beyond the minimum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObserveOptions {
    /// Also read the auto-renew attribute of unmanaged instances expiring before this time, so
    /// the plan can tell which of them nothing renews (the risk report). They join the managed
    /// instances' batches of 100, so this costs a call only when it fills a new batch.
    pub read_unmanaged_expiring_before: Option<jiff::Timestamp>,
}

/// Observes the regions of `desired`, reading only what planning needs.
pub async fn observe<A: EcsApi>(
    api: &A,
    desired: &DesiredState,
) -> Result<ObservedState, ObserveError> {
    observe_with(api, desired, &ObserveOptions::default()).await
}

/// Observes the regions of `desired`.
pub async fn observe_with<A: EcsApi>(
    api: &A,
    desired: &DesiredState,
    options: &ObserveOptions,
) -> Result<ObservedState, ObserveError> {
    let regions = desired.regions.clone();
    // Whose auto-renew attribute to read: managed instances, and unmanaged ones expiring soon
    // when asked (the risk report).
    let matcher = policy::Matcher::new(desired);
    let wanted = |instance: &InstanceSnapshot| {
        options
            .read_unmanaged_expiring_before
            .is_some_and(|horizon| instance.expired_time < horizon)
            || matcher.is_matched(instance)
    };
    let scans = join_all(
        regions
            .iter()
            .map(|region| observe_region(api, region, &wanted)),
    )
    .await;

    let mut reads = 0;
    let mut found_by_region = Vec::with_capacity(scans.len());
    for scan in scans {
        let region = scan?;
        reads += region.reads;
        found_by_region.push(region.instances);
    }
    let mut instances = if found_by_region.len() == 1 {
        found_by_region.pop().unwrap_or_default()
    } else {
        let mut all = Vec::with_capacity(found_by_region.iter().map(Vec::len).sum());
        for found in found_by_region {
            all.extend(found);
        }
        all
    };

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
    let mut late_prepaid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !missing.is_empty() {
        let lookups = regions.iter().flat_map(|region| {
            missing.chunks(MAX_BATCH).map(move |chunk| {
                let query = InstanceQuery::by_ids(region, chunk);
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
                    late_prepaid
                        .entry(region.clone())
                        .or_default()
                        .push(instance.instance_id.clone());
                    instances.push(instance);
                } else {
                    looked_up.push(instance);
                }
            }
        }
    }
    let mut attributes = BTreeMap::new();
    for (region, ids) in &late_prepaid {
        for batch in ids.chunks(MAX_BATCH) {
            reads += 1;
            attributes.extend(
                api.describe_auto_renew(region, batch)
                    .await
                    .map_err(api_error(region))?,
            );
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

    if !attributes.is_empty() {
        for instance in &mut instances {
            if let Some(attribute) = attributes.remove(&instance.instance_id) {
                instance.renewal = Some(attribute);
            }
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

/// Re-reads the given instances (by id, per region, without the charge filter) and the
/// auto-renew attribute of the subscription ones: what a saved plan is checked against before
/// apply. Returns the snapshots found and the reads made; an instance not returned is gone.
pub async fn observe_instances<A: EcsApi>(
    api: &A,
    ids_by_region: &BTreeMap<String, Vec<String>>,
) -> Result<(Vec<InstanceSnapshot>, u64), ObserveError> {
    let lookups = ids_by_region.iter().flat_map(|(region, ids)| {
        ids.chunks(MAX_BATCH).map(move |chunk| {
            let query = InstanceQuery::by_ids(region, chunk);
            async move { (region, api.describe_instances(&query).await) }
        })
    });
    let mut reads = 0;
    let mut instances: Vec<InstanceSnapshot> = Vec::new();
    for (region, result) in join_all(lookups).await {
        reads += 1;
        let page = result.map_err(api_error(region))?;
        let wanted = &ids_by_region[region];
        instances.extend(
            page.instances
                .into_iter()
                .filter(|i| wanted.contains(&i.instance_id)),
        );
    }

    let mut prepaid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for instance in &instances {
        if instance.charge_type == ChargeType::PrePaid {
            prepaid
                .entry(instance.region.clone())
                .or_default()
                .push(instance.instance_id.clone());
        }
    }
    let reads_of_attributes = prepaid.iter().flat_map(|(region, ids)| {
        ids.chunks(MAX_BATCH)
            .map(move |chunk| async move { (region, api.describe_auto_renew(region, chunk).await) })
    });
    let mut attributes = BTreeMap::new();
    for (region, result) in join_all(reads_of_attributes).await {
        reads += 1;
        for (id, attribute) in result.map_err(api_error(region))? {
            attributes.insert(id, attribute);
        }
    }
    for instance in &mut instances {
        instance.renewal = attributes.remove(&instance.instance_id);
    }
    Ok((instances, reads))
}

#[cfg(test)]
mod tests {
    //! `observe` against a scripted `EcsApi`: the paging decisions (concurrent pages, the
    //! NextToken re-read when the fleet moves, refusing nonsense) without a server. The real
    //! client against the emulator is tested in tests/.

    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;
    use crate::cloud::CallOutcome;
    use crate::observed::RenewalStatus;
    use crate::plan::Call;

    /// A region whose page answers are scripted, counting every request.
    struct Scripted {
        /// `TotalCount` the page answers claim.
        total: u64,
        /// What page-number paging returns: page n → ids.
        pages: BTreeMap<u32, Vec<String>>,
        /// What token paging returns: token → (ids, next token).
        tokens: BTreeMap<Option<String>, (Vec<String>, Option<String>)>,
        log: Mutex<Vec<String>>,
    }

    fn snapshot(id: &str) -> InstanceSnapshot {
        InstanceSnapshot {
            region: "cn-hangzhou".into(),
            instance_id: id.into(),
            instance_name: String::new(),
            charge_type: ChargeType::PrePaid,
            status: "Running".into(),
            expired_time: jiff::Timestamp::UNIX_EPOCH,
            tags: [("env".to_string(), "prod".to_string())].into(),
            locks: vec![],
            renewal: None,
        }
    }

    fn ids(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("i-{i:04}")).collect()
    }

    impl EcsApi for Scripted {
        async fn describe_instances(
            &self,
            query: &InstanceQuery,
        ) -> Result<InstancePage, ApiError> {
            let (found, next) = match &query.paging {
                Paging::Page(n) => {
                    self.log.lock().unwrap().push(format!("page {n}"));
                    (self.pages.get(n).cloned().unwrap_or_default(), None)
                }
                Paging::Token(t) => {
                    self.log.lock().unwrap().push(format!("token {t:?}"));
                    self.tokens.get(t).cloned().unwrap_or_default()
                }
            };
            Ok(InstancePage {
                total_count: self.total,
                next_token: next,
                instances: found.iter().map(|id| snapshot(id)).collect(),
                request_id: "r".into(),
            })
        }

        async fn describe_auto_renew(
            &self,
            _region: &str,
            ids: &[String],
        ) -> Result<Vec<(String, RenewalAttribute)>, ApiError> {
            self.log
                .lock()
                .unwrap()
                .push(format!("attributes {}", ids.len()));
            Ok(ids
                .iter()
                .map(|id| {
                    (
                        id.clone(),
                        RenewalAttribute {
                            status: RenewalStatus::Normal,
                            duration: 0,
                            period_unit: "Month".into(),
                        },
                    )
                })
                .collect())
        }

        async fn execute(&self, _call: &Call) -> Result<CallOutcome, ApiError> {
            unreachable!("observe never mutates")
        }

        async fn describe_renewal_price(
            &self,
            _: &str,
            _: &str,
            _: crate::plan::prices::PriceQuery,
        ) -> Result<crate::plan::Price, ApiError> {
            Err(ApiError::Config("observe never prices".into()))
        }
    }

    fn desired() -> DesiredState {
        crate::desired::parse(
            b"version: 1\nregions: [cn-hangzhou]\npolicies:\n  - name: p\n    match: {tags: {env: prod}}\n    renewal: manual\n",
            "t.yaml",
        )
        .expect("valid")
        .desired
    }

    #[allow(clippy::result_large_err)]
    fn run(api: &Scripted) -> Result<ObservedState, ObserveError> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(observe(api, &desired()))
    }

    #[test]
    fn pages_and_attribute_batches_are_the_minimum() {
        let api = Scripted {
            total: 250,
            pages: [(1, ids(0..100)), (2, ids(100..200)), (3, ids(200..250))].into(),
            tokens: BTreeMap::new(),
            log: Mutex::default(),
        };
        let state = run(&api).expect("observed");
        assert_eq!(state.instances.len(), 250);
        assert!(state.instances.iter().all(|i| i.renewal.is_some()));
        assert_eq!(state.read_calls, 6, "3 pages + 3 attribute calls");
        let log = api.log.lock().unwrap();
        let mut batches: Vec<&String> = log.iter().filter(|l| l.starts_with("attr")).collect();
        batches.sort();
        assert_eq!(
            batches,
            ["attributes 100", "attributes 100", "attributes 50"]
        );
    }

    #[test]
    fn a_fleet_that_moved_while_paging_is_read_again_by_token() {
        // Page 2 overlaps page 1 (an instance was deleted): 199 distinct ids, not 200.
        let api = Scripted {
            total: 200,
            pages: [(1, ids(0..100)), (2, ids(99..199))].into(),
            tokens: [
                (None, (ids(0..100), Some("t2".to_string()))),
                (Some("t2".to_string()), (ids(100..201), Some(String::new()))),
            ]
            .into(),
            log: Mutex::default(),
        };
        let state = run(&api).expect("observed");
        assert_eq!(state.instances.len(), 201, "the consistent re-read wins");
        assert!(state.instances.iter().all(|i| i.renewal.is_some()));
        let log = api.log.lock().unwrap();
        assert!(log.contains(&"token None".to_string()), "{log:?}");
        assert!(log.contains(&"token Some(\"t2\")".to_string()), "{log:?}");
    }

    #[test]
    fn a_repeated_next_token_is_an_error_not_a_loop() {
        let api = Scripted {
            total: 200,
            pages: [(1, ids(0..100))].into(),
            tokens: [
                (None, (ids(0..100), Some("again".to_string()))),
                (
                    Some("again".to_string()),
                    (ids(100..150), Some("again".to_string())),
                ),
            ]
            .into(),
            log: Mutex::default(),
        };
        let err = run(&api).unwrap_err();
        assert!(err.to_string().contains("same NextToken twice"), "{err}");
    }

    #[test]
    fn an_implausible_total_count_is_refused() {
        let api = Scripted {
            total: u64::MAX,
            pages: BTreeMap::new(),
            tokens: BTreeMap::new(),
            log: Mutex::default(),
        };
        let err = run(&api).unwrap_err();
        assert!(err.to_string().contains("implausible"), "{err}");
        assert_eq!(
            api.log.lock().unwrap().len(),
            1,
            "no further page requested"
        );
    }
}
