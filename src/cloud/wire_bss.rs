//! The wire type of a BSS QueryAccountBalance answer (bss.md §3) and its conversion. The BSS
//! envelope carries `Code` even on success (`"200"`, with `Success: true`), so success is read
//! from `Success`, not from the presence of a code. Every figure is a string; parsed as a
//! decimal, tolerating a thousands separator and a leading `-` (arrears), never as a float.

use serde::Deserialize;

use crate::money::{Amount, is_currency_code};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryAccountBalanceResponse {
    pub request_id: String,
    #[serde(default)]
    pub success: bool,
    pub data: BalanceData,
}

impl crate::rpc::response::Answer for QueryAccountBalanceResponse {
    fn carries_code(&self) -> bool {
        // A success envelope's `Code` is "200": only `Success: false` makes it an error body.
        !self.success
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BalanceData {
    pub available_amount: String,
    pub currency: String,
}

/// What the account can spend: `AvailableAmount`, in `Currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBalance {
    pub available: Amount,
    pub currency: String,
}

/// The balance an answer gives, or why it is not one.
pub fn to_balance(answer: QueryAccountBalanceResponse) -> Result<AccountBalance, String> {
    let data = answer.data;
    let currency = data.currency.trim().to_ascii_uppercase();
    if !is_currency_code(&currency) {
        return Err(format!(
            "Currency {:?} is not a currency code",
            data.currency
        ));
    }
    let text = data.available_amount.trim().replace(',', "");
    let available = Amount::parse_signed(&text)
        .map_err(|why| format!("AvailableAmount {:?}: {why}", data.available_amount))?;
    Ok(AccountBalance {
        available,
        currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(amount: &str, currency: &str) -> QueryAccountBalanceResponse {
        QueryAccountBalanceResponse {
            request_id: "r".into(),
            success: true,
            data: BalanceData {
                available_amount: amount.into(),
                currency: currency.into(),
            },
        }
    }

    #[test]
    fn figures_are_decimal_strings() {
        let b = to_balance(answer("1,234.50", "cny")).unwrap();
        assert_eq!(
            (b.available.to_string(), b.currency.as_str()),
            ("1234.50".into(), "CNY")
        );
        let arrears = to_balance(answer("-11.19", "USD")).unwrap();
        assert_eq!(arrears.available.to_string(), "-11.19");
        assert!(to_balance(answer("lots", "CNY")).is_err());
        assert!(to_balance(answer("1.00", "yuan")).is_err());
    }
}
