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

/// The most a payee's wallet may hold: the tier's `max_balance`, the same limit deposits
/// enforce (`finflow_wallet::domain::tier_limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceCap {
    pub tier: AccountTier,
    pub max_balance: Money,
}

pub fn balance_cap(tier: AccountTier) -> BalanceCap {
    BalanceCap {
        tier,
        max_balance: finflow_wallet::domain::tier_limits(tier).max_balance,
    }
}

/// Whether a credit of `amount` to a wallet holding `balance` needs its owner's tier to be
/// decided: not when even the lowest tier's cap admits it (every tier's cap is at least
/// that). A transfer planned on the lowest cap conditions the payee's balance on its room,
/// so a credit that fills the wallet meanwhile makes it a conflict, read again with the tier.
pub fn needs_payee_tier(balance: Money, amount: Money) -> bool {
    !balance_cap(AccountTier::Bronze).admits(balance, amount)
}

impl BalanceCap {
    /// The highest balance a wallet may have before receiving `amount`; `None` when the amount
    /// alone is above the maximum.
    pub fn room_before(&self, amount: Money) -> Option<Money> {
        self.max_balance
            .checked_sub(amount)
            .ok()
            .filter(|room| !room.is_negative())
    }

    /// Whether a wallet holding `balance` may receive `amount`.
    pub fn admits(&self, balance: Money, amount: Money) -> bool {
        self.room_before(amount).is_some_and(|room| balance <= room)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_credit_above_the_lowest_cap_needs_the_payee_tier() {
        let m = |s: &str| Money::parse(s).unwrap();
        for tier in [AccountTier::Silver, AccountTier::Gold] {
            assert!(balance_cap(tier).max_balance >= balance_cap(AccountTier::Bronze).max_balance);
        }
        assert!(!needs_payee_tier(m("9000"), m("1000")));
        assert!(needs_payee_tier(m("9000"), m("1000.0001")));
        assert!(needs_payee_tier(m("0"), m("10000.0001")));
    }

    #[test]
    fn the_payee_cap_is_the_wallet_tiers_max_balance() {
        let cap = balance_cap(AccountTier::Bronze);
        assert_eq!(cap.max_balance.to_string(), "10000.0000");
        let m = |s: &str| Money::parse(s).unwrap();
        assert!(cap.admits(m("9000"), m("1000")), "exactly the maximum");
        assert!(!cap.admits(m("9000"), m("1000.0001")));
        assert!(!cap.admits(m("0"), m("10000.0001")));
        assert_eq!(cap.room_before(m("10000.0001")), None);
        assert_eq!(cap.room_before(m("250")), Some(m("9750")));
        assert!(balance_cap(AccountTier::Gold).admits(m("10000"), m("1000")));
    }
}
