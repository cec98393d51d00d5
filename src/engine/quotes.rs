//! Reads prices (DescribeRenewalPrice, one read per instance, all at once within the client's
//! bounds on requests in flight and per second): `price_all` for any list of asks (the check's
//! upcoming charges), `price_renewals` for a plan's renewals, recorded on the plan. Runs after the pure planner, which never reads anything; a failed read is not an error
//! of the plan: that renewal's price is unknown, with the reason, and never zero.
//! Reads only: nothing here changes the cloud.

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::cloud::EcsApi;
use crate::ecs::{Price, PriceQuery};
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
    let asks = plan
        .changes
        .iter()
        .enumerate()
        .filter_map(|(index, change)| {
            let renewal = change.renewal().filter(|_| wanted(change))?;
            Some(Ask {
                index,
                region: &change.region,
                instance_id: &change.instance_id,
                query: PriceQuery::for_renewal(renewal.period),
            })
        });
    let (answers, reads) = price_all(api, asks).await;
    let quotes = answers
        .into_iter()
        .map(|(index, answer)| {
            let quote = match answer {
                Ok(price) => Quote::Known(price),
                Err(why) => Quote::Unknown(why),
            };
            (index, quote)
        })
        .collect();
    set_prices(plan, quotes, reads);
}

/// One price to ask for: the caller's index, the instance, and the query (or why there is none).
pub struct Ask<'a> {
    pub index: usize,
    pub region: &'a str,
    pub instance_id: &'a str,
    pub query: Result<PriceQuery, String>,
}

/// Asks every price at once (within the client's bounds on requests in flight and per second):
/// each index with its price or why it is unknown, and how many reads were made. A query that
/// cannot be asked is unknown without a read.
pub async fn price_all<'a, A: EcsApi>(
    api: &A,
    asks: impl IntoIterator<Item = Ask<'a>>,
) -> (Vec<(usize, Result<Price, String>)>, u64) {
    let mut out = Vec::new();
    let reads = FuturesUnordered::new();
    for ask in asks {
        match ask.query {
            Err(why) => out.push((ask.index, Err(why))),
            Ok(query) => reads.push(async move {
                let answer = api
                    .describe_renewal_price(ask.region, ask.instance_id, query)
                    .await
                    .map_err(|e| e.to_string());
                (ask.index, answer)
            }),
        }
    }
    let count = reads.len() as u64;
    out.extend(reads.collect::<Vec<_>>().await);
    (out, count)
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
