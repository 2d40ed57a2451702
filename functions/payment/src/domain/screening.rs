//! Pre-transfer AML screening: which transfers go ON_HOLD for a compliance officer.
//!
//! Payment runs it before moving money, with facts from its own records (no call to another
//! service on the request path); a hold opens a case in AML (service E) through
//! `payment.on_hold`. Each rule that fires is a reason; any reason holds
//! the transfer. The rules, against the payer's tier limits:
//! - **structuring**: an amount at or above 90% of the per-transaction limit, the classic way
//!   to stay just under a reporting or limit threshold;
//! - **large to a new counterparty**: at least half the per-transaction limit to a wallet the
//!   payer has never paid before;
//! - **velocity**: the payer already made 5 or more transfers in the last 10 minutes;
//! - **rapid movement**: the last 10 minutes' transfers plus this one reach 80% of the daily
//!   limit.
//!
//! Small everyday transfers (the seed's 100.00 for a bronze user) pass every rule.

use finflow_shared::Money;
use rust_decimal::Decimal;

/// The window velocity and rapid movement look back over.
pub const WINDOW_MINUTES: i64 = 10;
const VELOCITY_COUNT: u32 = 5;

/// What payment knows when it screens a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferFacts {
    pub amount: Money,
    pub per_transaction_limit: Money,
    pub daily_limit: Money,
    /// The payer's transfers in the last `WINDOW_MINUTES`, before this one.
    pub recent_count: u32,
    pub recent_total: Money,
    /// The payer has never paid the destination wallet before.
    pub new_counterparty: bool,
}

/// The reasons to hold the transfer; empty means it may complete.
pub fn screen(facts: &TransferFacts) -> Vec<String> {
    let share = |limit: Money, percent: i64| limit.as_decimal() * Decimal::new(percent, 2);
    let amount = facts.amount.as_decimal();
    let mut reasons = Vec::new();
    if amount >= share(facts.per_transaction_limit, 90) {
        reasons.push("structuring: amount just under the per-transaction limit".to_owned());
    }
    if facts.new_counterparty && amount >= share(facts.per_transaction_limit, 50) {
        reasons.push("large amount to a new counterparty".to_owned());
    }
    if facts.recent_count >= VELOCITY_COUNT {
        reasons.push(format!(
            "velocity: {} transfers in {WINDOW_MINUTES} minutes",
            facts.recent_count
        ));
    }
    if facts.recent_total.as_decimal() + amount >= share(facts.daily_limit, 80) {
        reasons.push(format!(
            "rapid movement: {WINDOW_MINUTES}-minute total near the daily limit"
        ));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(amount: &str) -> TransferFacts {
        TransferFacts {
            amount: Money::parse(amount).unwrap(),
            per_transaction_limit: Money::parse("1000").unwrap(),
            daily_limit: Money::parse("2000").unwrap(),
            recent_count: 0,
            recent_total: Money::ZERO,
            new_counterparty: true,
        }
    }

    #[test]
    fn everyday_transfers_pass() {
        assert!(screen(&facts("100.00")).is_empty());
        assert!(screen(&facts("499.9999")).is_empty());
    }

    #[test]
    fn each_rule_fires_at_its_threshold() {
        assert_eq!(
            screen(&facts("900")).len(),
            2,
            "structuring and large-new-counterparty"
        );
        let known = TransferFacts {
            new_counterparty: false,
            ..facts("500")
        };
        assert!(screen(&known).is_empty());
        assert_eq!(
            screen(&facts("500")),
            ["large amount to a new counterparty"]
        );
        let busy = TransferFacts {
            recent_count: 5,
            new_counterparty: false,
            ..facts("1")
        };
        assert_eq!(screen(&busy).len(), 1);
        let rapid = TransferFacts {
            recent_total: Money::parse("1500").unwrap(),
            new_counterparty: false,
            ..facts("100")
        };
        assert_eq!(screen(&rapid).len(), 1);
    }
}
