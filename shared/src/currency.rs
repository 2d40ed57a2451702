//! The ISO 4217 currencies FinFlow holds wallets in.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Every currency a wallet may hold. Amounts in all of them use DECIMAL(20,4).
pub const SUPPORTED: [&str; 20] = [
    "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "INR", "JPY", "MXN",
    "NOK", "NZD", "PLN", "SEK", "SGD", "USD", "ZAR",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(&'static str);

impl Currency {
    /// Accepts a supported ISO 4217 code, in any letter case.
    pub fn parse(text: &str) -> Result<Self, String> {
        let code = text.trim().to_ascii_uppercase();
        SUPPORTED
            .iter()
            .find(|supported| **supported == code)
            .map(|code| Currency(code))
            .ok_or_else(|| {
                format!(
                    "must be a supported ISO 4217 currency code ({})",
                    SUPPORTED.join(", ")
                )
            })
    }

    pub fn code(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Currency::parse(&text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_codes_in_any_case() {
        assert_eq!(Currency::parse("usd").unwrap().code(), "USD");
        assert!(Currency::parse("XXX").is_err());
        assert!(Currency::parse("US").is_err());
    }
}
