//! How much each account tier may send. Payment learns the tier from auth's events.

use finflow_shared::Money;
use finflow_shared::customer::AccountTier;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferLimits {
    pub per_transaction: Money,
    /// Sum of a payer's transfers in one UTC day, held ones included.
    pub daily: Money,
}

pub fn transfer_limits(tier: AccountTier) -> TransferLimits {
    let money = |units: i64| Money::from_units(units * 10_000);
    match tier {
        AccountTier::Bronze => TransferLimits {
            per_transaction: money(1_000),
            daily: money(2_000),
        },
        AccountTier::Silver => TransferLimits {
            per_transaction: money(10_000),
            daily: money(25_000),
        },
        AccountTier::Gold => TransferLimits {
            per_transaction: money(100_000),
            daily: money(250_000),
        },
    }
}
