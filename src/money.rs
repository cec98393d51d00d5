//! Amounts of money: prices read from DescribeRenewalPrice, their totals, and the spending
//! limits of the desired state and the command line. The API sends prices as JSON floats
//! (ecs-api.md §3.5); each is rounded once, on the way in, to a whole number of millionths, and
//! every sum and comparison after that is exact integer arithmetic, so a total can never drift
//! past a limit by a rounding error. In JSON an amount is written as a number again.
//!
//! Currencies are the API's codes (`CNY`, `USD`), kept as text: renewctl never converts one into
//! another.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Millionths in one unit of currency.
const SCALE: i128 = 1_000_000;

/// The largest amount renewctl reads, in whole units. Far above any renewal or budget; a larger
/// number in an answer or a file is a mistake, and refusing it keeps sums far from overflow.
pub const MAX_UNITS: i128 = 1_000_000_000_000;

/// A signed amount of money, in millionths of a unit of its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i128);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// `units` whole units.
    pub fn from_units(units: i64) -> Amount {
        Amount(i128::from(units) * SCALE)
    }

    /// An amount from a float (as the API and YAML numbers give them), rounded to the nearest
    /// millionth; refused when not finite or beyond `MAX_UNITS`.
    pub fn from_f64(value: f64) -> Result<Amount, String> {
        if !value.is_finite() {
            return Err(format!("{value} is not an amount"));
        }
        if value.abs() > MAX_UNITS as f64 {
            return Err(format!(
                "{value} is beyond the largest amount renewctl reads"
            ));
        }
        // In range, so the product fits i128 and the cast is exact after rounding.
        Ok(Amount((value * SCALE as f64).round() as i128))
    }

    /// An amount from a whole number (a YAML or JSON integer).
    pub fn from_integer(value: i128) -> Result<Amount, String> {
        if value.abs() > MAX_UNITS {
            return Err(format!(
                "{value} is beyond the largest amount renewctl reads"
            ));
        }
        Ok(Amount(value * SCALE))
    }

    /// Reads a decimal such as `1000`, `1000.5` or `0.125` (at most six decimals, no sign, no
    /// exponent): how a flag writes an amount.
    pub fn parse(text: &str) -> Result<Amount, String> {
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || text.ends_with('.') {
            return Err(format!(
                "{text:?} is not an amount: write a number such as 1000 or 1250.50"
            ));
        }
        if fraction.len() > 6 {
            return Err(format!(
                "{text:?} has more than six decimals, finer than any price"
            ));
        }
        let whole: i128 = whole
            .parse()
            .ok()
            .filter(|w| *w <= MAX_UNITS)
            .ok_or_else(|| format!("{text:?} is beyond the largest amount renewctl reads"))?;
        let mut millionths: i128 = 0;
        for (i, b) in fraction.bytes().enumerate() {
            millionths += i128::from(b - b'0') * 10i128.pow(5 - i as u32);
        }
        Ok(Amount(whole * SCALE + millionths))
    }

    /// [`Amount::parse`] with an optional leading `-` (a balance in arrears).
    pub fn parse_signed(text: &str) -> Result<Amount, String> {
        match text.trim().strip_prefix('-') {
            Some(rest) => Amount::parse(rest).map(|a| Amount(-a.0)),
            None => Amount::parse(text),
        }
    }

    /// The difference (saturating, like the sum).
    pub fn saturating_sub(self, other: Amount) -> Amount {
        Amount(self.0.saturating_sub(other.0))
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The sum; amounts are bounded by `MAX_UNITS` each, so only an absurd number of them could
    /// overflow, and then the sum stays at the largest value (still above any limit).
    pub fn saturating_add(self, other: Amount) -> Amount {
        Amount(self.0.saturating_add(other.0))
    }

    /// As a float, for JSON: exact for every amount below about nine billion units.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }
}

/// `1000.00`, `0.125`, `-3.50`: at least two decimals, more only when they are not zero.
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let scale = SCALE as u128;
        let mut fraction = format!("{:06}", abs % scale);
        while fraction.len() > 2 && fraction.ends_with('0') {
            fraction.pop();
        }
        write!(f, "{sign}{}.{fraction}", abs / scale)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_f64())
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
        struct AmountVisitor;

        impl Visitor<'_> for AmountVisitor {
            type Value = Amount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount of money (a number)")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                Amount::from_integer(i128::from(v)).map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Amount::from_integer(i128::from(v)).map_err(E::custom)
            }

            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Amount, E> {
                Amount::from_integer(v).map_err(E::custom)
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Amount, E> {
                i128::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is beyond the largest amount")))
                    .and_then(|v| Amount::from_integer(v).map_err(E::custom))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                Amount::from_f64(v).map_err(E::custom)
            }
        }

        deserializer.deserialize_any(AmountVisitor)
    }
}

/// An amount in a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Amount,
    pub currency: String,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// A currency code as the API and ISO 4217 write them: three capital letters.
pub fn is_currency_code(text: &str) -> bool {
    text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_rounded_once_to_millionths_and_summed_exactly() {
        // 0.1 + 0.2 is not 0.3 in floats; in amounts it is.
        let sum = Amount::from_f64(0.1)
            .unwrap()
            .saturating_add(Amount::from_f64(0.2).unwrap());
        assert_eq!(sum, Amount::from_f64(0.3).unwrap());
        assert_eq!(sum.to_string(), "0.30");
        assert_eq!(Amount::from_f64(90.12).unwrap().to_f64(), 90.12);
    }

    #[test]
    fn display_keeps_two_decimals_and_only_meaningful_others() {
        assert_eq!(Amount::from_units(1000).to_string(), "1000.00");
        assert_eq!(Amount::parse("0.125").unwrap().to_string(), "0.125");
        assert_eq!(Amount::from_f64(-3.5).unwrap().to_string(), "-3.50");
        assert_eq!(Amount::ZERO.to_string(), "0.00");
    }

    #[test]
    fn parse_reads_plain_decimals_only() {
        assert_eq!(
            Amount::parse("1250.5").unwrap(),
            Amount::from_f64(1250.5).unwrap()
        );
        assert_eq!(Amount::parse(" 7 ").unwrap(), Amount::from_units(7));
        for bad in [
            "",
            "-5",
            "1e3",
            "1.",
            ".5",
            "12,50",
            "1.0000001",
            "abc",
            "1.2.3",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad:?} was read");
        }
        assert!(Amount::parse("1000000000001").is_err());
    }

    #[test]
    fn non_finite_and_huge_numbers_are_refused() {
        assert!(Amount::from_f64(f64::NAN).is_err());
        assert!(Amount::from_f64(f64::INFINITY).is_err());
        assert!(Amount::from_f64(1e13).is_err());
        assert!(Amount::from_integer(10i128.pow(13)).is_err());
    }

    #[test]
    fn json_round_trip() {
        let money = Money {
            amount: Amount::parse("1234.56").unwrap(),
            currency: "CNY".into(),
        };
        let text = serde_json::to_string(&money).unwrap();
        assert_eq!(text, r#"{"amount":1234.56,"currency":"CNY"}"#);
        assert_eq!(serde_json::from_str::<Money>(&text).unwrap(), money);
        assert_eq!(
            serde_json::from_str::<Amount>("100").unwrap(),
            Amount::from_units(100)
        );
        assert!(serde_json::from_str::<Amount>("\"100\"").is_err());
    }

    #[test]
    fn currency_codes() {
        assert!(is_currency_code("CNY"));
        assert!(!is_currency_code("cny"));
        assert!(!is_currency_code("CNYY"));
        assert!(!is_currency_code("¥"));
    }
}
