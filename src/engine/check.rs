//! The check use case (`renewctl check`, read-only): observe as `plan` does (and unmanaged
//! instances expiring within the largest window), plan without prices (the drift), then price
//! each automatic renewal charge due within the horizon (DescribeRenewalPrice of its auto-renew
//! period) and read the account's balance once (BSS QueryAccountBalance). Never calls a
//! mutating action. A balance that cannot be read is a warning in the report, not a failure.

use jiff::Timestamp;

use super::EngineError;
use super::events::{Event, Sink, Stage, Tracked};
use super::quotes::{Ask, price_all};
use crate::cloud::{BillingApi, EcsApi};
use crate::desired::Config;
use crate::ecs::Site;
use crate::plan::{self, PlanOptions};
use crate::watch::{self, Balance, Report, Settings};

/// Whether the balance is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceRead {
    Read,
    /// `--no-balance`: for accounts without BSS permission, or billed to another.
    Skip,
}

/// Checks the fleet of `config` at `now`.
pub async fn check<A: EcsApi + BillingApi>(
    api: &A,
    config: &Config,
    balance: BalanceRead,
    now: Timestamp,
    sink: Sink<'_>,
) -> Result<Report, EngineError> {
    let desired = &config.desired;
    let settings = Settings::of(desired);
    let observed =
        super::plan::observe_fleet(api, desired, now, settings.horizon_days(), sink).await?;
    let options = PlanOptions {
        risk_window_days: settings.horizon_days(),
        ..PlanOptions::default()
    };
    let plan = plan::plan_with(desired, &observed, now, &config.digest, &options);
    let mut report = watch::assess(desired, &observed, &plan, &settings, now);

    let pricing = Tracked {
        api,
        stage: Stage::Pricing,
        sink,
    };
    let asks = report
        .charges
        .iter()
        .enumerate()
        .map(|(index, charge)| Ask {
            index,
            region: &charge.region,
            instance_id: &charge.instance_id,
            query: watch::price_query(charge),
        });
    let (prices, _) = price_all(&pricing, asks).await;
    sink(Event::Done(Stage::Pricing));
    watch::set_prices(&mut report, prices);

    let balance = match balance {
        BalanceRead::Skip => Balance::NotRead {
            why: "not read (--no-balance)".to_string(),
        },
        BalanceRead::Read => read_balance(api, desired.site, &report).await,
    };
    watch::set_balance(&mut report, balance, &settings);
    Ok(report)
}

/// The balance from the BSS endpoint of the account's site: the declared one, else the one the
/// charges' prices say, else the China site's and, if it answers `NotApplicable` (bss.md §1:
/// the other site's endpoint refuses the account), the international one.
async fn read_balance<A: BillingApi>(api: &A, declared: Option<Site>, report: &Report) -> Balance {
    let from_prices = report
        .charges
        .iter()
        .find_map(|c| c.price.as_ref())
        .and_then(|p| Site::of_currency(&p.currency));
    let first = declared.or(from_prices).unwrap_or(Site::China);
    let mut answer = api.query_account_balance(first).await;
    if declared.is_none()
        && let Err(err) = &answer
        && err.code() == Some("NotApplicable")
    {
        let other = if first == Site::China {
            Site::International
        } else {
            Site::China
        };
        answer = api.query_account_balance(other).await;
    }
    match answer {
        Ok(balance) => Balance::Known {
            available: balance.available,
            currency: balance.currency,
        },
        Err(err) => Balance::Unreadable {
            error: err.to_string(),
        },
    }
}
