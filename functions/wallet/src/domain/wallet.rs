//! A wallet: one currency, one owner, a balance that never goes below zero, and a status
//! that only moves along legal transitions.

use finflow_shared::currency::Currency;
use finflow_shared::customer::AccountTier;
use finflow_shared::events::wallet::WalletStatus;
use finflow_shared::jwt::Role;
use finflow_shared::{Money, PositiveAmount};
use finflow_shared::{UserId, WalletId};
use time::OffsetDateTime;

use super::limits::TierLimits;

/// Who froze a wallet decides who may unfreeze it: a freeze by staff (compliance) is lifted
/// only by staff; an owner may lift their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrozenBy {
    Owner,
    Staff,
}

/// Where a wallet stands: the status the contract speaks of, with what each status needs to
/// know. Only a frozen wallet has a freezer; closed is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletState {
    Active,
    Frozen { by: FrozenBy },
    Closed,
}

impl WalletState {
    pub fn status(self) -> WalletStatus {
        match self {
            WalletState::Active => WalletStatus::Active,
            WalletState::Frozen { .. } => WalletStatus::Frozen,
            WalletState::Closed => WalletStatus::Closed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    pub id: WalletId,
    pub user_id: UserId,
    pub currency: Currency,
    pub state: WalletState,
    /// Spendable funds.
    pub balance: Money,
    /// Funds of outgoing payments on hold: no longer in `balance`, not yet anyone else's.
    /// Balances plus held amounts across all wallets equal what was deposited.
    pub held: Money,
    /// Grows by one with every change; writes are conditional on it.
    pub version: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletRuleError {
    #[error("Wallet is {0}")]
    NotActive(WalletStatus),
    #[error("A closed wallet cannot be reopened")]
    Closed,
    #[error("Only staff can unfreeze a wallet frozen by staff")]
    FrozenByStaff,
    #[error(
        "Only a wallet with a zero balance and nothing on hold can be closed; the balance is {0}"
    )]
    NotEmpty(Money),
    #[error("Insufficient funds")]
    InsufficientFunds,
    #[error("The amount would exceed DECIMAL(20,4)")]
    Overflow,
    #[error("The wallet holds less than the amount to settle")]
    HoldMissing,
    #[error("Deposit exceeds the {tier} tier's single deposit limit of {limit}")]
    DepositTooLarge { tier: AccountTier, limit: Money },
    #[error("Deposit would take the balance above the {tier} tier's maximum of {limit}")]
    BalanceLimit { tier: AccountTier, limit: Money },
}

/// The outcome of a status request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    Unchanged,
    Changed(Wallet),
}

impl Wallet {
    pub fn open(id: WalletId, user_id: UserId, currency: Currency, now: OffsetDateTime) -> Wallet {
        Wallet {
            id,
            user_id,
            currency,
            state: WalletState::Active,
            balance: Money::ZERO,
            held: Money::ZERO,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn status(&self) -> WalletStatus {
        self.state.status()
    }

    /// Balance plus held funds: everything this wallet's owner still has a claim on.
    pub fn total(&self) -> Money {
        self.balance.checked_add(self.held).unwrap_or(self.balance)
    }

    fn require_active(&self) -> Result<(), WalletRuleError> {
        match self.state {
            WalletState::Active => Ok(()),
            other => Err(WalletRuleError::NotActive(other.status())),
        }
    }

    fn changed(&self, balance: Money, held: Money, now: OffsetDateTime) -> Wallet {
        Wallet {
            balance,
            held,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }

    /// Takes `amount` out of an active wallet's balance.
    pub fn debit(
        &self,
        amount: PositiveAmount,
        now: OffsetDateTime,
    ) -> Result<Wallet, WalletRuleError> {
        self.require_active()?;
        let balance = self
            .balance
            .checked_sub(amount.money())
            .ok()
            .filter(|balance| !balance.is_negative())
            .ok_or(WalletRuleError::InsufficientFunds)?;
        Ok(self.changed(balance, self.held, now))
    }

    /// Adds `amount` to an active wallet's balance.
    pub fn credit(
        &self,
        amount: PositiveAmount,
        now: OffsetDateTime,
    ) -> Result<Wallet, WalletRuleError> {
        self.require_active()?;
        let balance = self
            .balance
            .checked_add(amount.money())
            .map_err(|_| WalletRuleError::Overflow)?;
        Ok(self.changed(balance, self.held, now))
    }

    /// Moves `amount` from an active wallet's balance into held funds.
    pub fn hold(
        &self,
        amount: PositiveAmount,
        now: OffsetDateTime,
    ) -> Result<Wallet, WalletRuleError> {
        let debited = self.debit(amount, now)?;
        let held = self
            .held
            .checked_add(amount.money())
            .map_err(|_| WalletRuleError::Overflow)?;
        Ok(Wallet { held, ..debited })
    }

    /// Lets held funds go: to the payee (`returned: false`) or back to the balance.
    /// Allowed whatever the status, so a frozen payer's hold can still be settled.
    pub fn settle_hold(
        &self,
        amount: PositiveAmount,
        returned: bool,
        now: OffsetDateTime,
    ) -> Result<Wallet, WalletRuleError> {
        let held = self
            .held
            .checked_sub(amount.money())
            .ok()
            .filter(|held| !held.is_negative())
            .ok_or(WalletRuleError::HoldMissing)?;
        let balance = if returned {
            self.balance
                .checked_add(amount.money())
                .map_err(|_| WalletRuleError::Overflow)?
        } else {
            self.balance
        };
        Ok(self.changed(balance, held, now))
    }

    /// Applies a requested status. Legal: active ⇄ frozen, active or frozen → closed (only when
    /// empty); closed is final.
    pub fn change_status(
        &self,
        to: WalletStatus,
        actor: Role,
        now: OffsetDateTime,
    ) -> Result<StatusChange, WalletRuleError> {
        if self.status() == to {
            return Ok(StatusChange::Unchanged);
        }
        let state = match (self.state, to) {
            (WalletState::Closed, _) => return Err(WalletRuleError::Closed),
            (_, WalletStatus::Frozen) => WalletState::Frozen {
                by: if actor == Role::Staff {
                    FrozenBy::Staff
                } else {
                    FrozenBy::Owner
                },
            },
            (
                WalletState::Frozen {
                    by: FrozenBy::Staff,
                },
                WalletStatus::Active,
            ) if actor != Role::Staff => return Err(WalletRuleError::FrozenByStaff),
            (_, WalletStatus::Active) => WalletState::Active,
            (_, WalletStatus::Closed) => {
                if !self.balance.is_zero() || !self.held.is_zero() {
                    return Err(WalletRuleError::NotEmpty(self.balance));
                }
                WalletState::Closed
            }
        };
        Ok(StatusChange::Changed(Wallet {
            state,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }))
    }

    /// The wallet after a deposit within the tier's limits.
    pub fn deposit(
        &self,
        amount: PositiveAmount,
        limits: &TierLimits,
        tier: AccountTier,
        now: OffsetDateTime,
    ) -> Result<Wallet, WalletRuleError> {
        self.require_active()?;
        if amount.money() > limits.max_deposit {
            return Err(WalletRuleError::DepositTooLarge {
                tier,
                limit: limits.max_deposit,
            });
        }
        let balance = self
            .balance
            .checked_add(amount.money())
            .ok()
            .filter(|balance| *balance <= limits.max_balance)
            .ok_or(WalletRuleError::BalanceLimit {
                tier,
                limit: limits.max_balance,
            })?;
        Ok(self.changed(balance, self.held, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::limits::tier_limits;

    fn wallet() -> Wallet {
        Wallet::open(
            WalletId::new(1),
            UserId::new(7),
            Currency::parse("USD").unwrap(),
            OffsetDateTime::now_utc(),
        )
    }

    fn amount(text: &str) -> PositiveAmount {
        PositiveAmount::new(Money::parse(text).unwrap()).unwrap()
    }

    fn changed(change: StatusChange) -> Wallet {
        match change {
            StatusChange::Changed(wallet) => wallet,
            StatusChange::Unchanged => panic!("expected a change"),
        }
    }

    #[test]
    fn a_staff_freeze_is_lifted_only_by_staff() {
        let now = OffsetDateTime::now_utc();
        let frozen = changed(
            wallet()
                .change_status(WalletStatus::Frozen, Role::Staff, now)
                .unwrap(),
        );
        assert_eq!(
            frozen.state,
            WalletState::Frozen {
                by: FrozenBy::Staff
            }
        );
        assert_eq!(
            frozen.change_status(WalletStatus::Active, Role::Customer, now),
            Err(WalletRuleError::FrozenByStaff)
        );
        assert!(
            frozen
                .change_status(WalletStatus::Active, Role::Staff, now)
                .is_ok()
        );
        let self_frozen = changed(
            wallet()
                .change_status(WalletStatus::Frozen, Role::Customer, now)
                .unwrap(),
        );
        assert!(
            self_frozen
                .change_status(WalletStatus::Active, Role::Customer, now)
                .is_ok()
        );
    }

    #[test]
    fn closing_needs_an_empty_wallet_and_is_final() {
        let now = OffsetDateTime::now_utc();
        let funded = wallet()
            .deposit(
                amount("1"),
                &tier_limits(AccountTier::Bronze),
                AccountTier::Bronze,
                now,
            )
            .unwrap();
        assert!(matches!(
            funded.change_status(WalletStatus::Closed, Role::Customer, now),
            Err(WalletRuleError::NotEmpty(_))
        ));
        let closed = changed(
            wallet()
                .change_status(WalletStatus::Closed, Role::Customer, now)
                .unwrap(),
        );
        assert_eq!(
            closed.change_status(WalletStatus::Active, Role::Staff, now),
            Err(WalletRuleError::Closed)
        );
        assert_eq!(
            closed.change_status(WalletStatus::Closed, Role::Staff, now),
            Ok(StatusChange::Unchanged)
        );
    }

    #[test]
    fn a_hold_leaves_the_balance_and_settles_once() {
        let now = OffsetDateTime::now_utc();
        let funded = wallet()
            .deposit(
                amount("100"),
                &tier_limits(AccountTier::Bronze),
                AccountTier::Bronze,
                now,
            )
            .unwrap();
        let held = funded.hold(amount("40"), now).unwrap();
        assert_eq!(
            (held.balance.to_string(), held.held.to_string()),
            ("60.0000".into(), "40.0000".into())
        );
        assert_eq!(held.total(), funded.total());
        let released = held.settle_hold(amount("40"), false, now).unwrap();
        assert_eq!(
            (released.balance.to_string(), released.held.to_string()),
            ("60.0000".into(), "0.0000".into())
        );
        assert_eq!(
            released.settle_hold(amount("40"), true, now),
            Err(WalletRuleError::HoldMissing)
        );
        let returned = held.settle_hold(amount("40"), true, now).unwrap();
        assert_eq!(returned.balance, funded.balance);
        assert_eq!(
            funded.debit(amount("100.0001"), now),
            Err(WalletRuleError::InsufficientFunds)
        );
    }

    #[test]
    fn deposits_respect_status_and_tier_limits() {
        let now = OffsetDateTime::now_utc();
        let bronze = tier_limits(AccountTier::Bronze);
        let after = wallet()
            .deposit(amount("0.0001"), &bronze, AccountTier::Bronze, now)
            .unwrap();
        assert_eq!(
            (after.balance.to_string(), after.version),
            ("0.0001".to_owned(), 2)
        );
        assert!(matches!(
            wallet().deposit(amount("5000.0001"), &bronze, AccountTier::Bronze, now),
            Err(WalletRuleError::DepositTooLarge { .. })
        ));
        let near_max = wallet()
            .deposit(amount("5000"), &bronze, AccountTier::Bronze, now)
            .unwrap()
            .deposit(amount("5000"), &bronze, AccountTier::Bronze, now)
            .unwrap();
        assert!(matches!(
            near_max.deposit(amount("0.0001"), &bronze, AccountTier::Bronze, now),
            Err(WalletRuleError::BalanceLimit { .. })
        ));
        let frozen = changed(
            wallet()
                .change_status(WalletStatus::Frozen, Role::Customer, now)
                .unwrap(),
        );
        assert_eq!(
            frozen.deposit(amount("1"), &bronze, AccountTier::Bronze, now),
            Err(WalletRuleError::NotActive(WalletStatus::Frozen))
        );
    }
}
