//! The plan use case: observe what the config manages (and, for the risk report, unmanaged
//! instances expiring within the window), plan at the given time, then read the price of each
//! renewal. Used by `plan`, `apply` from the config, `demo`, and any later entry point.

use jiff::{SignedDuration, Timestamp};

use super::events::{Event, Sink, Stage, Tracked};
use super::{EngineError, quotes};
use crate::cloud::EcsApi;
use crate::desired::{Config, DesiredState};
use crate::observe::{ObserveOptions, observe_with};
use crate::observed::ObservedState;
use crate::plan::{self, Plan, PlanOptions, SpendLimits};

/// Whether renewal prices are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prices {
    /// One DescribeRenewalPrice per renewal.
    Read,
    /// Not read (`--no-prices`): every renewal's price is unknown, with why.
    Skip,
}

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanRequest<'a> {
    pub config: &'a Config,
    pub options: PlanOptions,
    pub prices: Prices,
    /// Recorded in the plan, so that applying a saved plan checks them again. Checking them
    /// (`plan::spend::check`) is the caller's: `plan` shows a plan over its limits, `apply`
    /// refuses it.
    pub limits: SpendLimits,
    pub now: Timestamp,
}

impl<'a> PlanRequest<'a> {
    /// Default options, prices read, no limits.
    pub fn new(config: &'a Config, now: Timestamp) -> PlanRequest<'a> {
        PlanRequest {
            config,
            options: PlanOptions::default(),
            prices: Prices::Read,
            limits: SpendLimits::default(),
            now,
        }
    }
}

/// Observes, plans and prices. Fails only when no region at all could be read; a region, an
/// instance or an attribute that could not be read is a plan error, and the rest is planned.
pub async fn plan<A: EcsApi>(
    api: &A,
    request: &PlanRequest<'_>,
    sink: Sink<'_>,
) -> Result<Plan, EngineError> {
    let config = request.config;
    let observed = observe_fleet(
        api,
        &config.desired,
        request.now,
        request.options.risk_window_days,
        sink,
    )
    .await?;
    let mut plan = plan::plan_with(
        &config.desired,
        &observed,
        request.now,
        &config.digest,
        &request.options,
    );
    plan.limits = request.limits.clone();
    match request.prices {
        Prices::Read => {
            let pricing = Tracked {
                api,
                stage: Stage::Pricing,
                sink,
            };
            quotes::price_renewals(&pricing, &mut plan).await;
            sink(Event::Done(Stage::Pricing));
        }
        Prices::Skip => quotes::skip_prices(&mut plan),
    }
    // A declared site the prices contradict: the plan was made under the wrong rules.
    super::site::check_prices(&plan)?;
    Ok(plan)
}

/// Observes what `desired` manages, and unmanaged instances expiring within `horizon_days` of
/// `now` (for the risk report and the check's tiers). Fails only when no region at all could be
/// read: that is the account or the network, not one region's trouble.
pub(super) async fn observe_fleet<A: EcsApi>(
    api: &A,
    desired: &DesiredState,
    now: Timestamp,
    horizon_days: u32,
    sink: Sink<'_>,
) -> Result<ObservedState, EngineError> {
    let horizon = now
        .checked_add(SignedDuration::from_hours(i64::from(horizon_days) * 24))
        .ok();
    let observing = Tracked {
        api,
        stage: Stage::Observing,
        sink,
    };
    let observed = observe_with(
        &observing,
        desired,
        &ObserveOptions {
            read_unmanaged_expiring_before: horizon,
        },
    )
    .await;
    sink(Event::Done(Stage::Observing));
    if !observed.regions.is_empty() && observed.failed_regions.len() == observed.regions.len() {
        let failure = &observed.failed_regions[0];
        return Err(EngineError::NoRegionReadable {
            region: failure.region.clone(),
            reason: failure.reason.clone(),
            several: observed.regions.len() > 1,
        });
    }
    Ok(observed)
}
