//! The ids FinFlow's records are known by, one type each, so that a payer passed where a wallet
//! was meant, or a payment id where a case id was, is a compile error rather than a wrong row.
//!
//! Each is a whole number in JSON and in DynamoDB, exactly as the bare `u64` it replaces
//! (`#[serde(transparent)]`): events, API documents and stored items are unchanged. Only a
//! store reading an item or a route reading a path makes one from a number; domain code passes
//! them along and compares them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(u64);

        impl $name {
            pub const fn new(id: u64) -> Self {
                $name(id)
            }

            /// The number, for keys, attributes and arithmetic on ids (never to pass as an id).
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        /// For code generic over ids (`PathId<Id>`, `whole_number`), where a bare `u64`
        /// (a KYC submission's id, which has no type of its own) also serves.
        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                $name(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map($name)
            }
        }
    };
}

id!(
    /// A user of auth (a customer or a staff member): a token's subject.
    UserId
);
id!(
    /// A wallet: one currency's balance of one user.
    WalletId
);
id!(
    /// A payment between two wallets.
    PaymentId
);
id!(
    /// An AML case: a held payment under review.
    CaseId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_bare_number_in_json_and_in_text() {
        let id = WalletId::new(42);
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        assert_eq!(serde_json::from_str::<WalletId>("42").unwrap(), id);
        assert_eq!(id.to_string(), "42");
        assert_eq!("42".parse::<WalletId>().unwrap(), id);
        assert!("-1".parse::<WalletId>().is_err());
        assert!(serde_json::from_str::<WalletId>("\"42\"").is_err());
    }
}
