//! What each account tier may hold. Upgrading a tier raises the limits at once: wallet learns
//! the tier from `user.tier_changed`, not from the caller's token.

use finflow_shared::Money;
use finflow_shared::customer::AccountTier;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierLimits {
    /// Open (not closed) wallets a user may have.
    pub max_wallets: u32,
    /// Highest balance any one wallet may reach.
    pub max_balance: Money,
    /// Largest single deposit.
    pub max_deposit: Money,
}

pub fn tier_limits(tier: AccountTier) -> TierLimits {
    let money = |units: i64| Money::from_units(units * 10_000);
    match tier {
        AccountTier::Bronze => TierLimits {
            max_wallets: 2,
            max_balance: money(10_000),
            max_deposit: money(5_000),
        },
        AccountTier::Silver => TierLimits {
            max_wallets: 5,
            max_balance: money(100_000),
            max_deposit: money(50_000),
        },
        AccountTier::Gold => TierLimits {
            max_wallets: 10,
            max_balance: money(1_000_000),
            max_deposit: money(500_000),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_tiers_allow_more() {
        let (bronze, silver, gold) = (
            tier_limits(AccountTier::Bronze),
            tier_limits(AccountTier::Silver),
            tier_limits(AccountTier::Gold),
        );
        assert!(bronze.max_wallets < silver.max_wallets && silver.max_wallets < gold.max_wallets);
        assert!(bronze.max_balance < silver.max_balance && silver.max_balance < gold.max_balance);
        assert_eq!(bronze.max_deposit.to_string(), "5000.0000");
    }
}
