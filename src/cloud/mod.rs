//! The cloud edge: the `EcsApi` trait that `observe` and `apply` speak, and its one real
//! implementation, an HTTP client over reqwest that signs requests the way the official SDKs do.
//! Wire types never leave this module: callers see `InstanceSnapshot`s and typed `ApiError`s.

pub mod client;
pub mod wire;
pub mod wire_bss;
pub mod wire_price;

use std::future::Future;

use crate::ecs::{Mutation, Price, PriceQuery};
use crate::observed::{InstanceSnapshot, RenewalAttribute, UnreadableInstance};

pub use crate::rpc::request::SignatureScheme;
pub use crate::rpc::{ApiError, ErrorClass, retry};
pub use client::{BSS_VERSION, ClientConfig, EcsClient, Endpoint};
pub use wire_bss::AccountBalance;

pub use crate::ecs::MAX_BATCH;

/// How DescribeInstances is paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// `PageNumber` (1-based) with `PageSize=100`: pages can be fetched concurrently once the
    /// first page has told `TotalCount`.
    Page(u32),
    /// `MaxResults=100` with the `NextToken` of the previous page (`None` for the first page):
    /// sequential, but consistent while the fleet changes.
    Token(Option<String>),
}

/// One DescribeInstances request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceQuery {
    pub region: String,
    pub paging: Paging,
    /// `InstanceChargeType=PrePaid` when true; no charge filter otherwise.
    pub prepaid_only: bool,
    /// `InstanceIds` (at most 100, sent as a JSON array string) when given.
    pub instance_ids: Option<Vec<String>>,
}

impl InstanceQuery {
    /// The instances of `region` with these ids (at most 100), whatever their billing: one page.
    pub fn by_ids(region: &str, ids: &[String]) -> InstanceQuery {
        InstanceQuery {
            region: region.to_string(),
            paging: Paging::Page(1),
            prepaid_only: false,
            instance_ids: Some(ids.to_vec()),
        }
    }
}

/// One page of DescribeInstances. The snapshots carry no renewal attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstancePage {
    pub total_count: u64,
    pub next_token: Option<String>,
    pub instances: Vec<InstanceSnapshot>,
    /// Instances of the page whose element could not be read in full.
    pub unreadable: Vec<UnreadableInstance>,
    pub request_id: String,
}

/// What a mutating call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    pub request_id: String,
    /// RenewInstance's `OrderId` (the API sends it as a string or a bare number).
    pub order_id: Option<String>,
}

/// The billing (BSS OpenAPI) actions renewctl reads. The endpoint is the account's site's, not
/// a region's (bss.md §1).
pub trait BillingApi: Send + Sync {
    /// QueryAccountBalance: what the account can spend.
    fn query_account_balance(
        &self,
        site: crate::ecs::Site,
    ) -> impl Future<Output = Result<AccountBalance, ApiError>> + Send;
}

/// The ECS actions renewctl uses. Every method is one request (plus retries within the client's
/// retry policy); batching and paging decisions belong to the callers.
pub trait EcsApi: Send + Sync {
    /// DescribeInstances.
    fn describe_instances(
        &self,
        query: &InstanceQuery,
    ) -> impl Future<Output = Result<InstancePage, ApiError>> + Send;

    /// DescribeInstanceAutoRenewAttribute for at most 100 ids of one region.
    fn describe_auto_renew(
        &self,
        region: &str,
        instance_ids: &[String],
    ) -> impl Future<Output = Result<Vec<(String, RenewalAttribute)>, ApiError>> + Send;

    /// Sends one mutating request (ModifyInstanceAutoRenewAttribute or RenewInstance), with
    /// exactly the parameters `Mutation::params` makes of it.
    fn execute(
        &self,
        mutation: &Mutation,
    ) -> impl Future<Output = Result<CallOutcome, ApiError>> + Send;

    /// DescribeRenewalPrice: what renewing one instance for `query` would cost. A read.
    fn describe_renewal_price(
        &self,
        region: &str,
        instance_id: &str,
        query: PriceQuery,
    ) -> impl Future<Output = Result<Price, ApiError>> + Send;
}
