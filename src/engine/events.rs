//! What the use cases report as they go, for the shell to show (a progress counter, a line per
//! finished change, JSON events). The engine never formats them.

use crate::cloud::{ApiError, CallOutcome, EcsApi, InstancePage, InstanceQuery};
use crate::ecs::{Mutation, Price, PriceQuery};
use crate::observed::RenewalAttribute;
use crate::report::ApplyEvent;

/// A step of a use case that makes reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Reading the instances and their auto-renew attributes.
    Observing,
    /// Reading the price of each renewal.
    Pricing,
    /// Reading the planned instances again before applying, to refuse a stale plan.
    Rechecking,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Observing => "observing",
            Stage::Pricing => "pricing",
            Stage::Rechecking => "re-reading",
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// A request of `Stage` was answered (or gave up).
    Read(Stage),
    /// The stage is over.
    Done(Stage),
    /// Apply is about to send `calls` calls carrying `changes` changes.
    Applying { changes: usize, calls: usize },
    /// What apply reports as it goes: each change started and finished, the waits, the
    /// verification.
    Apply(ApplyEvent<'a>),
}

/// Where events go. `Sync`: reads run concurrently.
pub type Sink<'a> = &'a (dyn Fn(Event<'_>) + Sync);

/// A sink that drops every event (tests, benchmarks, callers that want only the result).
pub fn ignore(_: Event<'_>) {}

/// An `EcsApi` that reports `Event::Read(stage)` after each request it passes on, so the parts
/// it is given to (`observe`, `quotes`) stay free of events.
pub struct Tracked<'a, A> {
    pub api: &'a A,
    pub stage: Stage,
    pub sink: Sink<'a>,
}

impl<A: EcsApi> Tracked<'_, A> {
    fn tick<T>(&self, result: T) -> T {
        (self.sink)(Event::Read(self.stage));
        result
    }
}

impl<A: EcsApi> EcsApi for Tracked<'_, A> {
    async fn describe_instances(&self, query: &InstanceQuery) -> Result<InstancePage, ApiError> {
        self.tick(self.api.describe_instances(query).await)
    }

    async fn describe_auto_renew(
        &self,
        region: &str,
        instance_ids: &[String],
    ) -> Result<Vec<(String, RenewalAttribute)>, ApiError> {
        self.tick(self.api.describe_auto_renew(region, instance_ids).await)
    }

    async fn execute(&self, mutation: &Mutation) -> Result<CallOutcome, ApiError> {
        self.tick(self.api.execute(mutation).await)
    }

    async fn describe_renewal_price(
        &self,
        region: &str,
        instance_id: &str,
        query: PriceQuery,
    ) -> Result<Price, ApiError> {
        self.tick(
            self.api
                .describe_renewal_price(region, instance_id, query)
                .await,
        )
    }
}
