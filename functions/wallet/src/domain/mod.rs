//! Wallet's domain: plain Rust, no AWS types.

pub mod ledger;
pub mod limits;
pub mod wallet;

pub use ledger::{EntryKind, LedgerEntry};
pub use limits::{TierLimits, tier_limits};
pub use wallet::{FrozenBy, StatusChange, Wallet, WalletRuleError, WalletState};
