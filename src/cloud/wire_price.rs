//! The wire type of a DescribeRenewalPrice answer (ecs-api.md §3.5) and its conversion to the
//! plan's `Price`. Only `PriceInfo.Price.TradePrice` (what is paid, after discounts) and
//! `Currency` are used; the rest (original price, discounts, rules, detail lines) is ignored.
//! Nothing is guessed: a missing, negative, non-finite or absurd price, or a currency that is
//! not a three-letter code, fails the answer, and the plan shows the price as unknown.

use serde::Deserialize;

use crate::ecs::Price;
use crate::money::{Amount, is_currency_code};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRenewalPriceResponse {
    pub request_id: String,
    /// An error code: present only in an error body (see `response::Answer`).
    #[serde(rename = "Code", default)]
    pub code_upper: Option<serde::de::IgnoredAny>,
    #[serde(rename = "code", default)]
    pub code_lower: Option<serde::de::IgnoredAny>,
    pub price_info: PriceInfo,
}

crate::rpc::response::impl_answer!(DescribeRenewalPriceResponse);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PriceInfo {
    pub price: PriceLine,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PriceLine {
    pub trade_price: f64,
    pub currency: String,
}

/// The price an answer gives, or why it is not one (a sentence for a decode error).
pub fn to_price(answer: DescribeRenewalPriceResponse) -> Result<Price, String> {
    let line = answer.price_info.price;
    let amount = Amount::from_f64(line.trade_price)
        .map_err(|why| format!("TradePrice {}: {why}", line.trade_price))?;
    if amount.is_negative() {
        return Err(format!("TradePrice {} is negative", line.trade_price));
    }
    if !is_currency_code(&line.currency) {
        return Err(format!(
            "Currency {:?} is not a currency code",
            line.currency
        ));
    }
    Ok(Price {
        trade_price: amount,
        currency: line.currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Result<Price, String> {
        serde_json::from_str::<DescribeRenewalPriceResponse>(json)
            .map_err(|e| e.to_string())
            .and_then(to_price)
    }

    #[test]
    fn the_documented_answer_gives_the_trade_price() {
        let price = decode(
            r#"{"RequestId":"r","PriceInfo":{"Price":{"OriginalPrice":100.0,"DiscountPrice":10.0,
            "TradePrice":90.0,"Currency":"CNY","DetailInfos":{"DetailInfo":[{"Resource":"instanceType",
            "OriginalPrice":100.0,"DiscountPrice":10.0,"TradePrice":90.0,"SubRules":{"Rule":[{"RuleId":1,
            "Description":"d"}]}}]}},"Rules":{"Rule":[{"RuleId":123,"Description":"x"}]},
            "RelatedPrice":{"MarketplaceImagePrice":{"OriginalPrice":0.0,"DiscountPrice":0.0,
            "TradePrice":0.0,"Currency":"CNY"}}}}"#,
        )
        .expect("decodes");
        assert_eq!(price.trade_price, Amount::from_units(90));
        assert_eq!(price.currency, "CNY");
    }

    #[test]
    fn odd_answers_are_refused_not_guessed() {
        for (json, why) in [
            (
                r#"{"RequestId":"r","PriceInfo":{"Price":{"Currency":"CNY"}}}"#,
                "TradePrice",
            ),
            (
                r#"{"RequestId":"r","PriceInfo":{"Price":{"TradePrice":"90","Currency":"CNY"}}}"#,
                "invalid type",
            ),
            (
                r#"{"RequestId":"r","PriceInfo":{"Price":{"TradePrice":-1.0,"Currency":"CNY"}}}"#,
                "negative",
            ),
            (
                r#"{"RequestId":"r","PriceInfo":{"Price":{"TradePrice":1e20,"Currency":"CNY"}}}"#,
                "largest",
            ),
            (
                r#"{"RequestId":"r","PriceInfo":{"Price":{"TradePrice":9.0,"Currency":""}}}"#,
                "currency code",
            ),
            (
                r#"{"RequestId":"r","PriceInfo":{"Price":{"TradePrice":9.0}}}"#,
                "Currency",
            ),
            (r#"{"RequestId":"r","PriceInfo":{}}"#, "Price"),
        ] {
            let err = decode(json).expect_err(json);
            assert!(err.contains(why), "{json}: {err}");
        }
    }
}
