//! The rules a transfer must pass before any money moves. Checked against the wallets as read;
//! the transaction that follows is conditional on exactly those versions, so nothing can
//! change in between.

use finflow_shared::currency::Currency;
use finflow_shared::events::wallet::WalletStatus;
use finflow_shared::money::MoneyError;
use finflow_shared::{Money, PositiveAmount};
use finflow_wallet::domain::Wallet;

use super::limits::{BalanceCap, TransferLimits};

#[derive(Debug, Clone)]
pub struct TransferRequest {
    pub from_wallet_id: u64,
    pub to_wallet_id: u64,
    pub amount: PositiveAmount,
    pub currency: Currency,
    pub description: Option<String>,
}

/// Why a transfer is refused. The messages are the API's, the seed's included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("Amount must be a decimal number")]
    AmountNotANumber,
    #[error("Amount must have at most 4 decimal places")]
    AmountTooPrecise,
    #[error("Amount is too large for DECIMAL(20,4)")]
    AmountOutOfRange,
    #[error("Amount must be greater than zero")]
    AmountNotPositive,
    #[error("Cannot transfer to the same wallet")]
    SameWallet,
    #[error("Source wallet not found")]
    SourceNotFound,
    #[error("Destination wallet not found")]
    DestinationNotFound,
    #[error("Source wallet is {0}")]
    SourceNotActive(&'static str),
    #[error("Destination wallet is {0}")]
    DestinationNotActive(&'static str),
    #[error(
        "Currency mismatch: the transfer is in {requested}, the source wallet holds {source_currency} and the destination {destination}"
    )]
    CurrencyMismatch {
        requested: Currency,
        source_currency: Currency,
        destination: Currency,
    },
    #[error("Amount exceeds the {tier} tier's per-transaction limit of {limit}")]
    OverTransactionLimit { tier: &'static str, limit: Money },
    #[error("Transfer would exceed the {tier} tier's daily limit of {limit}")]
    OverDailyLimit { tier: &'static str, limit: Money },
    #[error("Insufficient funds")]
    InsufficientFunds,
    /// Worded as deposits word the same refusal (`WalletRuleError::BalanceLimit`).
    #[error(
        "Transfer would take the destination wallet's balance above the {tier} tier's maximum of {limit}"
    )]
    OverPayeeMaxBalance { tier: &'static str, limit: Money },
}

impl TransferError {
    /// Only a missing (or someone else's) wallet is a 404; every other refusal is a 400.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            TransferError::SourceNotFound | TransferError::DestinationNotFound
        )
    }
}

/// Parses an amount from its JSON text exactly.
pub fn parse_amount(text: &str) -> Result<PositiveAmount, TransferError> {
    let money = Money::parse(text).map_err(|error| match error {
        MoneyError::NotANumber => TransferError::AmountNotANumber,
        MoneyError::TooPrecise => TransferError::AmountTooPrecise,
        MoneyError::OutOfRange => TransferError::AmountOutOfRange,
    })?;
    PositiveAmount::new(money).map_err(|_| TransferError::AmountNotPositive)
}

/// Checks everything but the daily limit, which the transaction itself enforces.
///
/// `payee_cap` is the payee's maximum balance. The rule, for completed and held transfers
/// alike: a transfer is refused when the payee's balance plus the amount would exceed it now.
/// A hold reserves no room on the payee's side (held funds are not in the payee's balance, and
/// deposits do not know about them); releasing it checks the maximum again, and a release the
/// payee can no longer receive returns the money to the payer instead (see
/// `Payments::settle`). The transaction conditions the payee's stored balance on the same
/// bound, so concurrent credits cannot overshoot.
pub fn check_transfer(
    payer: u64,
    request: &TransferRequest,
    source: Option<&Wallet>,
    destination: Option<&Wallet>,
    limits: &TransferLimits,
    tier: &'static str,
    payee_cap: &BalanceCap,
) -> Result<(), TransferError> {
    if request.from_wallet_id == request.to_wallet_id {
        return Err(TransferError::SameWallet);
    }
    // Someone else's wallet is reported exactly like a missing one.
    let source = source
        .filter(|w| w.user_id == payer)
        .ok_or(TransferError::SourceNotFound)?;
    let destination = destination.ok_or(TransferError::DestinationNotFound)?;
    if source.status != WalletStatus::Active {
        return Err(TransferError::SourceNotActive(source.status.as_str()));
    }
    if destination.status != WalletStatus::Active {
        return Err(TransferError::DestinationNotActive(
            destination.status.as_str(),
        ));
    }
    if request.currency != source.currency || request.currency != destination.currency {
        return Err(TransferError::CurrencyMismatch {
            requested: request.currency,
            source_currency: source.currency,
            destination: destination.currency,
        });
    }
    if request.amount.money() > limits.per_transaction {
        return Err(TransferError::OverTransactionLimit {
            tier,
            limit: limits.per_transaction,
        });
    }
    if request.amount.money() > source.balance {
        return Err(TransferError::InsufficientFunds);
    }
    if !payee_cap.admits(destination.balance, request.amount.money()) {
        return Err(TransferError::OverPayeeMaxBalance {
            tier: payee_cap.tier,
            limit: payee_cap.max_balance,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::limits::{balance_cap, transfer_limits};
    use finflow_shared::customer::AccountTier;
    use finflow_shared::jwt::Role;
    use time::OffsetDateTime;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn wallet(id: u64, user: u64, balance: &str) -> Wallet {
        let mut wallet = Wallet::open(id, user, usd(), OffsetDateTime::now_utc());
        wallet.balance = Money::parse(balance).unwrap();
        wallet
    }

    fn request(amount: &str) -> TransferRequest {
        TransferRequest {
            from_wallet_id: 1,
            to_wallet_id: 2,
            amount: parse_amount(amount).unwrap(),
            currency: usd(),
            description: None,
        }
    }

    fn check(
        request: &TransferRequest,
        source: &Wallet,
        destination: &Wallet,
    ) -> Result<(), TransferError> {
        check_transfer(
            7,
            request,
            Some(source),
            Some(destination),
            &transfer_limits(AccountTier::Bronze),
            "bronze",
            &balance_cap(AccountTier::Bronze),
        )
    }

    #[test]
    fn the_seeds_frozen_source_message() {
        let source = wallet(1, 7, "500");
        let frozen = match source
            .change_status(
                WalletStatus::Frozen,
                Role::Customer,
                OffsetDateTime::now_utc(),
            )
            .unwrap()
        {
            finflow_wallet::domain::StatusChange::Changed(wallet) => wallet,
            _ => unreachable!(),
        };
        let error = check(&request("50.00"), &frozen, &wallet(2, 8, "0")).unwrap_err();
        assert_eq!(error.to_string(), "Source wallet is frozen");
    }

    #[test]
    fn amounts_are_parsed_exactly_or_refused() {
        assert_eq!(
            parse_amount("0.00001"),
            Err(TransferError::AmountTooPrecise)
        );
        assert_eq!(parse_amount("0"), Err(TransferError::AmountNotPositive));
        assert_eq!(parse_amount("-1"), Err(TransferError::AmountNotPositive));
        assert_eq!(parse_amount("abc"), Err(TransferError::AmountNotANumber));
        assert_eq!(parse_amount("0.0001").unwrap().to_string(), "0.0001");
    }

    #[test]
    fn refuses_what_cannot_be_moved() {
        let (source, destination) = (wallet(1, 7, "100"), wallet(2, 8, "0"));
        assert_eq!(
            check(&request("100.0001"), &source, &destination),
            Err(TransferError::InsufficientFunds)
        );
        assert!(matches!(
            check(&request("1000.0001"), &wallet(1, 7, "5000"), &destination),
            Err(TransferError::OverTransactionLimit { .. })
        ));
        let mut same = request("1");
        same.to_wallet_id = 1;
        assert_eq!(
            check(&same, &source, &destination),
            Err(TransferError::SameWallet)
        );
        let someone_elses = wallet(1, 99, "100");
        assert_eq!(
            check(&request("1"), &someone_elses, &destination),
            Err(TransferError::SourceNotFound)
        );
        let mut euro = wallet(2, 8, "0");
        euro.currency = Currency::parse("EUR").unwrap();
        assert!(matches!(
            check(&request("1"), &source, &euro),
            Err(TransferError::CurrencyMismatch { .. })
        ));
        assert_eq!(check(&request("100"), &source, &destination), Ok(()));
    }

    #[test]
    fn refuses_what_would_take_the_payee_above_its_max_balance() {
        let source = wallet(1, 7, "1000");
        let error = check(&request("100.0001"), &source, &wallet(2, 8, "9900")).unwrap_err();
        assert_eq!(
            error,
            TransferError::OverPayeeMaxBalance {
                tier: "bronze",
                limit: Money::parse("10000").unwrap()
            }
        );
        assert!(!error.is_not_found(), "a 400, like every limit");
        assert_eq!(
            error.to_string(),
            "Transfer would take the destination wallet's balance above the bronze tier's maximum of 10000.0000"
        );
        assert_eq!(
            check(&request("100"), &source, &wallet(2, 8, "9900")),
            Ok(()),
            "up to exactly the maximum"
        );
        // The payee's tier decides, not the payer's.
        let gold = check_transfer(
            7,
            &request("100.0001"),
            Some(&source),
            Some(&wallet(2, 8, "9900")),
            &transfer_limits(AccountTier::Bronze),
            "bronze",
            &balance_cap(AccountTier::Gold),
        );
        assert_eq!(gold, Ok(()));
    }
}
