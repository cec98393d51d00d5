//! The emulated BSS OpenAPI (`Version=2017-12-14`, bss.md §1, §3), served on the same listener
//! as ECS and told apart by `Version` (the real one lives at `business.aliyuncs.com` on the China
//! site and `business.ap-southeast-1.aliyuncs.com` on the international one; a client reaches
//! this one through `--bss-endpoint`). One action, **QueryAccountBalance**: the fleet's
//! `balance:` as `Data.AvailableAmount`, in the site's currency, every figure a string with two
//! decimals as the official examples show; the BSS envelope `{Code, Message, Success, Data}`.
//! A fleet without `balance:` has no limit: it answers a large round figure.

use serde_json::json;

use super::state::World;
use super::wire::{ApiError, Body};

/// `Version` of the BSS OpenAPI.
pub(crate) const VERSION: &str = "2017-12-14";

/// The actions served, as named on the wire.
pub(crate) const ACTIONS: [&str; 1] = ["QueryAccountBalance"];

/// The balance a fleet without `balance:` reports.
const UNLIMITED: f64 = 1_000_000.0;

pub(crate) fn dispatch(world: &World, action: &str) -> Result<Body, ApiError> {
    if action != "QueryAccountBalance" {
        return Err(super::actions::api_not_found());
    }
    let amount = format!("{:.2}", world.balance.unwrap_or(UNLIMITED));
    Ok(Body::of(&json!({
        "Code": "200",
        "Message": "Successful!",
        "Success": true,
        "Data": {
            "AvailableAmount": amount,
            "AvailableCashAmount": amount,
            "CreditAmount": "0.00",
            "MybankCreditAmount": "0.00",
            "QuotaLimit": "0.00",
            "Currency": world.site.currency(),
        },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::actions::test_support::world;

    #[test]
    fn the_balance_is_the_fleets_in_the_sites_currency() {
        let w = world();
        let mut w = w.write().expect("lock");
        w.balance = Some(1234.5);
        let body = dispatch(&w, "QueryAccountBalance")
            .expect("answered")
            .to_value();
        assert_eq!(body["Data"]["AvailableAmount"], "1234.50");
        assert_eq!(body["Data"]["Currency"], "CNY");
        assert_eq!(body["Success"], true);
        assert!(dispatch(&w, "QueryAvailableInstances").is_err());
    }
}
