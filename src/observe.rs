//! Builds the observed state through `EcsApi`, with the fewest reads (DESIGN.md §5): per region,
//! the first DescribeInstances page (PrePaid, 100 a page) tells `TotalCount`, the other pages
//! are fetched concurrently; the auto-renew attribute is read only for managed instances (and,
//! when asked, unmanaged ones expiring soon), 100 ids a call, overlapping with the pages; ids
//! listed by `ids` policies but not seen are looked up once more without the charge filter.
//! Reads only: nothing here changes the cloud.
//!
//! Blast radius (DESIGN.md §8): a region whose pages cannot be read is recorded as failed and
//! the other regions are observed all the same; an attribute read that fails leaves the
//! attributes of its 100 instances unknown, and an instance element that cannot be read is
//! kept as unreadable. The planner turns each into an error of the plan for those alone.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures_util::StreamExt;
use futures_util::future::{Either, join_all};
use futures_util::stream::FuturesUnordered;

use crate::cloud::{ApiError, EcsApi, InstancePage, InstanceQuery, MAX_BATCH, Paging};
use crate::desired::DesiredState;
use crate::observed::{
    ChargeType, InstanceSnapshot, ObservedState, RegionFailure, RenewalAttribute,
    UnreadableInstance,
};
use crate::policy;

/// A region claiming more subscription instances than this is answering nonsense.
const MAX_PLAUSIBLE_TOTAL: u64 = 10_000_000;

/// Why a region could not be observed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// The API error is part of the message and not a `source`: an error chain printed with
    /// its causes would otherwise say it twice.
    #[error("cannot observe region {region}: {error}")]
    Api { region: String, error: ApiError },
    #[error("cannot observe region {region}: {message}")]
    Inconsistent { region: String, message: String },
}

impl ObserveError {
    /// The region concerned.
    pub fn region(&self) -> &str {
        match self {
            ObserveError::Api { region, .. } | ObserveError::Inconsistent { region, .. } => region,
        }
    }

    /// What went wrong, without the region.
    pub fn reason(&self) -> String {
        match self {
            ObserveError::Api { error, .. } => error.to_string(),
            ObserveError::Inconsistent { message, .. } => message.clone(),
        }
    }
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
    Attributes(
        Vec<String>,
        Result<Vec<(String, RenewalAttribute)>, ApiError>,
    ),
}

/// Everything observed in one region.
struct RegionObservation {
    /// With their auto-renew attribute when wanted.
    instances: Vec<InstanceSnapshot>,
    unreadable: Vec<UnreadableInstance>,
    attribute_errors: BTreeMap<String, String>,
    reads: u64,
}

async fn page_task<A: EcsApi>(api: &A, region: &str, page: u32) -> Done {
    Done::Page(
        api.describe_instances(&prepaid_query(region, Paging::Page(page)))
            .await,
    )
}

async fn attributes_task<A: EcsApi>(api: &A, region: &str, ids: Vec<String>) -> Done {
    let result = api.describe_auto_renew(region, &ids).await;
    Done::Attributes(ids, result)
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
    /// Elements that could not be read, by id (a page read twice lists them twice).
    unreadable: BTreeMap<String, UnreadableInstance>,
    attribute_errors: BTreeMap<String, String>,
}

impl RegionScan {
    fn new(capacity: usize) -> RegionScan {
        RegionScan {
            list: Vec::with_capacity(capacity),
            index: HashMap::with_capacity(capacity),
            pending: Vec::new(),
            unreadable: BTreeMap::new(),
            attribute_errors: BTreeMap::new(),
        }
    }

    /// Instances seen, readable or not.
    fn seen(&self) -> u64 {
        (self.list.len() + self.unreadable.len()) as u64
    }

    fn take_page(
        &mut self,
        page: InstancePage,
        wanted: &(dyn Fn(&InstanceSnapshot) -> bool + Sync),
    ) {
        for bad in page.unreadable {
            self.unreadable.insert(bad.instance_id.clone(), bad);
        }
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

    fn set_attributes(
        &mut self,
        asked: Vec<String>,
        found: Result<Vec<(String, RenewalAttribute)>, ApiError>,
    ) {
        match found {
            Ok(found) => {
                for (id, attribute) in found {
                    if let Some(instance) =
                        self.index.get(&id).and_then(|&at| self.list.get_mut(at))
                    {
                        instance.renewal = Some(attribute);
                    }
                }
            }
            // These instances only: the rest of the region is planned as usual.
            Err(error) => {
                let why = error.to_string();
                for id in asked {
                    self.attribute_errors.insert(id, why.clone());
                }
            }
        }
    }

    fn finish(self, reads: u64) -> RegionObservation {
        RegionObservation {
            instances: self.list,
            unreadable: self.unreadable.into_values().collect(),
            attribute_errors: self.attribute_errors,
            reads,
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
            Done::Attributes(asked, found) => scan.set_attributes(asked, found),
        }
    }

    if scan.seen() != total {
        // The fleet changed while the pages were read (an instance appeared or went, shifting
        // the pages): read the region again, sequentially, with NextToken, which is
        // consistent, and read the attributes still missing.
        let (page, token_reads) = rescan_region(api, region).await?;
        reads += token_reads;
        let mut rescan = RegionScan::new(page.instances.len());
        rescan.take_page(page, &|_| false);
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
            let found = api.describe_auto_renew(region, batch).await;
            rescan.set_attributes(batch.to_vec(), found);
        }
        return Ok(rescan.finish(reads));
    }
    Ok(scan.finish(reads))
}

/// Every subscription instance of one region, read page after page with NextToken, as one page.
async fn rescan_region<A: EcsApi>(
    api: &A,
    region: &str,
) -> Result<(InstancePage, u64), ObserveError> {
    let mut reads = 0;
    let mut by_id: BTreeMap<String, InstanceSnapshot> = BTreeMap::new();
    let mut unreadable: BTreeMap<String, UnreadableInstance> = BTreeMap::new();
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
        for bad in page.unreadable {
            unreadable.insert(bad.instance_id.clone(), bad);
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
    let instances: Vec<InstanceSnapshot> = by_id.into_values().collect();
    let page = InstancePage {
        total_count: (instances.len() + unreadable.len()) as u64,
        next_token: None,
        instances,
        unreadable: unreadable.into_values().collect(),
        request_id: String::new(),
    };
    Ok((page, reads))
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
pub async fn observe<A: EcsApi>(api: &A, desired: &DesiredState) -> ObservedState {
    observe_with(api, desired, &ObserveOptions::default()).await
}

/// Observes the regions of `desired`. A region that cannot be read is recorded in
/// `failed_regions`; the others are observed all the same.
pub async fn observe_with<A: EcsApi>(
    api: &A,
    desired: &DesiredState,
    options: &ObserveOptions,
) -> ObservedState {
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
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    let mut unreadable = Vec::new();
    let mut attribute_errors = BTreeMap::new();
    let mut found_by_region = Vec::with_capacity(scans.len());
    for (region, scan) in regions.iter().zip(scans) {
        match scan {
            Ok(observation) => {
                reads += observation.reads;
                unreadable.extend(observation.unreadable);
                attribute_errors.extend(observation.attribute_errors);
                found_by_region.push(observation.instances);
            }
            Err(error) => {
                tracing::info!(region = region.as_str(), "region not observed: {error}");
                failed.insert(region.clone(), error.reason());
            }
        }
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
    // charge filter, in every region read, so a pay-as-you-go instance is told apart from a typo.
    let seen: BTreeSet<&str> = instances
        .iter()
        .map(|i| i.instance_id.as_str())
        .chain(unreadable.iter().map(|i| i.instance_id.as_str()))
        .collect();
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
        let readable: Vec<&String> = regions
            .iter()
            .filter(|r| !failed.contains_key(*r))
            .collect();
        let lookups = readable.into_iter().flat_map(|region| {
            missing.chunks(MAX_BATCH).map(move |chunk| {
                let query = InstanceQuery::by_ids(region, chunk);
                async move { (region, api.describe_instances(&query).await) }
            })
        });
        for (region, result) in join_all(lookups).await {
            reads += 1;
            let page = match result {
                Ok(page) => page,
                Err(error) => {
                    failed
                        .entry(region.clone())
                        .or_insert_with(|| error.to_string());
                    continue;
                }
            };
            for bad in page.unreadable {
                if missing.contains(&bad.instance_id) {
                    unreadable.push(bad);
                }
            }
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
            match api.describe_auto_renew(region, batch).await {
                Ok(found) => attributes.extend(found),
                Err(error) => {
                    for id in batch {
                        attribute_errors.insert(id.clone(), error.to_string());
                    }
                }
            }
        }
    }
    let found: BTreeSet<String> = instances
        .iter()
        .chain(&looked_up)
        .map(|i| i.instance_id.clone())
        .chain(unreadable.iter().map(|i| i.instance_id.clone()))
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
    // A region that failed after its scan (the id lookup) is dropped whole: half a region
    // would read as "not found".
    if !failed.is_empty() {
        instances.retain(|i| !failed.contains_key(&i.region));
        unreadable.retain(|i| !failed.contains_key(&i.region));
        looked_up.retain(|i| !failed.contains_key(&i.region));
    }
    instances.sort_by(|a, b| (&a.region, &a.instance_id).cmp(&(&b.region, &b.instance_id)));
    unreadable.sort_by(|a, b| (&a.region, &a.instance_id).cmp(&(&b.region, &b.instance_id)));
    let failed_regions = regions
        .iter()
        .filter_map(|region| {
            failed.get(region).map(|reason| RegionFailure {
                region: region.clone(),
                reason: reason.clone(),
            })
        })
        .collect();
    ObservedState {
        regions,
        instances,
        looked_up,
        not_found,
        read_calls: reads,
        unreadable,
        attribute_errors,
        failed_regions,
    }
}

/// A fresh look at given instances: what a saved plan is checked against before apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceLook {
    /// The snapshots found (with the auto-renew attribute of subscription ones); an instance of
    /// a region read that is not here is gone.
    pub instances: Vec<InstanceSnapshot>,
    /// Regions (or instances) that could not be read, and why: nothing can be said of them.
    pub unread: BTreeMap<String, String>,
    pub reads: u64,
}

/// Re-reads the given instances (by id, per region, without the charge filter) and the
/// auto-renew attribute of the subscription ones. A region whose read fails is reported in
/// `unread` (by region), an instance whose attribute read fails by instance id; the others are
/// read all the same.
pub async fn observe_instances<A: EcsApi>(
    api: &A,
    ids_by_region: &BTreeMap<String, Vec<String>>,
) -> InstanceLook {
    let lookups = ids_by_region.iter().flat_map(|(region, ids)| {
        ids.chunks(MAX_BATCH).map(move |chunk| {
            let query = InstanceQuery::by_ids(region, chunk);
            async move { (region, api.describe_instances(&query).await) }
        })
    });
    let mut look = InstanceLook::default();
    for (region, result) in join_all(lookups).await {
        look.reads += 1;
        let page = match result {
            Ok(page) => page,
            Err(error) => {
                look.unread
                    .entry(region.clone())
                    .or_insert_with(|| error.to_string());
                continue;
            }
        };
        let wanted = &ids_by_region[region];
        for bad in page.unreadable {
            if wanted.contains(&bad.instance_id) {
                look.unread.insert(bad.instance_id, bad.reason);
            }
        }
        look.instances.extend(
            page.instances
                .into_iter()
                .filter(|i| wanted.contains(&i.instance_id)),
        );
    }
    look.instances
        .retain(|i| !look.unread.contains_key(&i.region));

    let mut prepaid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for instance in &look.instances {
        if instance.charge_type == ChargeType::PrePaid {
            prepaid
                .entry(instance.region.clone())
                .or_default()
                .push(instance.instance_id.clone());
        }
    }
    let reads_of_attributes = prepaid.iter().flat_map(|(region, ids)| {
        ids.chunks(MAX_BATCH)
            .map(move |chunk| async move { (chunk, api.describe_auto_renew(region, chunk).await) })
    });
    let mut attributes = BTreeMap::new();
    for (asked, result) in join_all(reads_of_attributes).await {
        look.reads += 1;
        match result {
            Ok(found) => attributes.extend(found),
            Err(error) => {
                for id in asked {
                    look.unread.insert(id.clone(), error.to_string());
                }
            }
        }
    }
    for instance in &mut look.instances {
        instance.renewal = attributes.remove(&instance.instance_id);
    }
    look
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
                unreadable: Vec::new(),
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

        async fn execute(&self, _: &crate::ecs::Mutation) -> Result<CallOutcome, ApiError> {
            unreachable!("observe never mutates")
        }

        async fn describe_renewal_price(
            &self,
            _: &str,
            _: &str,
            _: crate::ecs::PriceQuery,
        ) -> Result<crate::ecs::Price, ApiError> {
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

    /// Observes; a failed region is the error.
    fn run(api: &Scripted) -> Result<ObservedState, String> {
        let state = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(observe(api, &desired()));
        match state.failed_regions.first() {
            Some(failure) => Err(failure.reason.clone()),
            None => Ok(state),
        }
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
