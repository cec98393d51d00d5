//! Reads the price of every renewal of a plan (DescribeRenewalPrice, one read per renewal, all at
//! once within the client's bounds on requests in flight and per second) and records them on the
//! plan. Runs after the pure planner, which never reads anything; a failed read is not an error
//! of the plan: that renewal's price is unknown, with the reason, and never zero.
//! Reads only: nothing here changes the cloud.

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::cloud::EcsApi;
use crate::ecs::PriceQuery;
use crate::plan::cost::{Quote, set_prices};
use crate::plan::{Change, Plan};

/// Why prices are unknown under `--no-prices`.
pub const NOT_READ: &str = "prices were not read (--no-prices)";

/// Prices every renewal of `plan`, counting the reads in `summary.read_calls`.
pub async fn price_renewals<A: EcsApi>(api: &A, plan: &mut Plan) {
    price_renewals_where(api, plan, |_| true).await;
}

/// Prices the renewals of `plan` that `wanted` picks (`explain` prices one instance's).
pub async fn price_renewals_where<A: EcsApi>(
    api: &A,
    plan: &mut Plan,
    wanted: impl Fn(&Change) -> bool,
) {
    let mut quotes = Vec::new();
    let reads = FuturesUnordered::new();
    for (index, change) in plan.changes.iter().enumerate() {
        let Some(renewal) = change.renewal().filter(|_| wanted(change)) else {
            continue; // not a renewal, or not asked for
        };
        match PriceQuery::for_renewal(renewal.period) {
            Err(why) => quotes.push((index, Quote::Unknown(why))),
            Ok(query) => reads.push(async move {
                let answer = api
                    .describe_renewal_price(&change.region, &change.instance_id, query)
                    .await;
                (index, answer)
            }),
        }
    }
    let count = reads.len() as u64;
    let answers: Vec<_> = reads.collect().await;
    for (index, answer) in answers {
        quotes.push((
            index,
            match answer {
                Ok(price) => Quote::Known(price),
                Err(err) => Quote::Unknown(err.to_string()),
            },
        ));
    }
    set_prices(plan, quotes, count);
}

/// Marks every renewal's price unknown without reading it (`--no-prices`).
pub fn skip_prices(plan: &mut Plan) {
    let quotes = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.quote().is_some())
        .map(|(i, _)| (i, Quote::Unknown(NOT_READ.to_string())))
        .collect();
    set_prices(plan, quotes, 0);
}
