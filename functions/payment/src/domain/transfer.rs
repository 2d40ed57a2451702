//! The transfer decision: from what was read, the full write or a refusal. Pure: the use case
//! reads, [`decide_transfer`] decides (the rules, the tier limits, AML screening, the new
//! balances), the store writes exactly that. The transaction that follows is conditional on
//! the versions and bounds read here, so nothing can change in between unnoticed.

use finflow_shared::currency::Currency;
use finflow_shared::customer::AccountTier;
use finflow_shared::events::wallet::WalletStatus;
use finflow_shared::money::MoneyError;
use finflow_shared::{Money, PaymentId, PositiveAmount, UserId, WalletId};
use finflow_wallet::domain::{EntryKind, LedgerEntry, Wallet, WalletRuleError};
use time::OffsetDateTime;

use super::limits::{BalanceCap, TransferLimits, balance_cap, transfer_limits};
use super::payment::{Payment, PaymentState};
use super::screening::{TransferFacts, screen};

#[derive(Debug, Clone)]
pub struct TransferRequest {
    pub from_wallet_id: WalletId,
    pub to_wallet_id: WalletId,
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
    SourceNotActive(WalletStatus),
    #[error("Destination wallet is {0}")]
    DestinationNotActive(WalletStatus),
    #[error(
        "Currency mismatch: the transfer is in {requested}, the source wallet holds {source_currency} and the destination {destination}"
    )]
    CurrencyMismatch {
        requested: Currency,
        source_currency: Currency,
        destination: Currency,
    },
    #[error("Amount exceeds the {tier} tier's per-transaction limit of {limit}")]
    OverTransactionLimit { tier: AccountTier, limit: Money },
    #[error("Transfer would exceed the {tier} tier's daily limit of {limit}")]
    OverDailyLimit { tier: AccountTier, limit: Money },
    #[error("Insufficient funds")]
    InsufficientFunds,
    /// Worded as deposits word the same refusal (`WalletRuleError::BalanceLimit`).
    #[error(
        "Transfer would take the destination wallet's balance above the {tier} tier's maximum of {limit}"
    )]
    OverPayeeMaxBalance { tier: AccountTier, limit: Money },
    /// A wallet's own rule refused the movement (an amount beyond DECIMAL(20,4), say).
    #[error(transparent)]
    Wallet(#[from] WalletRuleError),
}

impl TransferError {
    /// A stable name for the kind of refusal, for metrics and dashboards.
    pub fn reason(&self) -> &'static str {
        match self {
            TransferError::AmountNotANumber => "amount_not_a_number",
            TransferError::AmountTooPrecise => "amount_too_precise",
            TransferError::AmountOutOfRange => "amount_out_of_range",
            TransferError::AmountNotPositive => "amount_not_positive",
            TransferError::SameWallet => "same_wallet",
            TransferError::SourceNotFound => "source_not_found",
            TransferError::DestinationNotFound => "destination_not_found",
            TransferError::SourceNotActive(_) => "source_not_active",
            TransferError::DestinationNotActive(_) => "destination_not_active",
            TransferError::CurrencyMismatch { .. } => "currency_mismatch",
            TransferError::OverTransactionLimit { .. } => "over_transaction_limit",
            TransferError::OverDailyLimit { .. } => "over_daily_limit",
            TransferError::InsufficientFunds => "insufficient_funds",
            TransferError::OverPayeeMaxBalance { .. } => "over_payee_max_balance",
            TransferError::Wallet(_) => "wallet_rule",
        }
    }

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

/// What the payer sent in the last `screening::WINDOW_MINUTES`, for screening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentActivity {
    pub count: u32,
    pub total: Money,
    pub new_counterparty: bool,
}

impl RecentActivity {
    /// The payer's transfers among `payments` made since `since`, and whether the payee's
    /// wallet would be a new counterparty.
    pub fn of<'a>(
        payments: impl IntoIterator<Item = &'a Payment>,
        payer: UserId,
        since: OffsetDateTime,
        new_counterparty: bool,
    ) -> Self {
        let recent: Vec<&Payment> = payments
            .into_iter()
            .filter(|p| p.payer_id == payer && p.created_at >= since)
            .collect();
        RecentActivity {
            count: recent.len() as u32,
            total: recent
                .iter()
                .try_fold(Money::ZERO, |sum, p| sum.checked_add(p.amount.money()))
                .unwrap_or(Money::ZERO),
            new_counterparty,
        }
    }
}

/// What a transfer is decided on, as read from payment's own records.
#[derive(Debug, Clone)]
pub struct TransferReads {
    pub source: Option<Wallet>,
    pub destination: Option<Wallet>,
    pub payer_tier: AccountTier,
    /// Sets the most the payee's wallet may hold: the payee's tier, or the lowest one where
    /// its cap admits the credit anyway ([`needs_payee_tier`](super::needs_payee_tier)).
    pub payee_tier: AccountTier,
    pub activity: RecentActivity,
}

/// One wallet's side of a transfer: the wallet after it, and the ledger entry that says why.
#[derive(Debug, Clone, PartialEq)]
pub struct Movement {
    pub wallet: Wallet,
    pub entry: LedgerEntry,
}

/// What AML screening made of a transfer the rules allow.
#[derive(Debug, Clone)]
enum Screened {
    /// It completes: the payee's wallet after the credit.
    Cleared { credited: Wallet },
    /// It waits for a compliance decision; the money is held on the payer's side.
    Held { reasons: Vec<String> },
}

/// A transfer the rules allow: its outcome and new balances, not yet numbered.
#[derive(Debug, Clone)]
pub struct AllowedTransfer {
    payer: UserId,
    request: TransferRequest,
    source: Wallet,
    destination: Wallet,
    screened: Screened,
    daily_limit: Money,
    payee_room: Money,
    now: OffsetDateTime,
}

/// A transfer decided: every item its transaction writes but the event and the receipt.
#[derive(Debug, Clone)]
pub struct TransferPlan {
    pub payment: Payment,
    /// The payer's wallet after the debit (or the hold).
    pub source: Movement,
    /// The payee's wallet after the credit; `None` while the payment is held.
    pub destination: Option<Movement>,
    /// The payer's daily limit, which the transaction's counter enforces.
    pub daily_limit: Money,
    /// The highest balance the payee's wallet may hold before this transfer (its maximum
    /// balance less the amount): a condition on the payee's wallet in the transaction, for a
    /// held transfer too (a hold reserves nothing, but one the payee could not even receive
    /// now is refused).
    pub payee_room: Money,
}

/// Decides a transfer from what was read: a refusal, or the transfer as it will be written
/// (COMPLETED, or ON_HOLD when AML screening flags it).
pub fn decide_transfer(
    payer: UserId,
    request: &TransferRequest,
    reads: &TransferReads,
    now: OffsetDateTime,
) -> Result<AllowedTransfer, TransferError> {
    let limits = transfer_limits(reads.payer_tier);
    let payee_cap = balance_cap(reads.payee_tier);
    check_transfer(
        payer,
        request,
        reads.source.as_ref(),
        reads.destination.as_ref(),
        &limits,
        reads.payer_tier,
        &payee_cap,
    )?;
    let (Some(source), Some(destination)) = (&reads.source, &reads.destination) else {
        unreachable!("check_transfer refuses a missing wallet");
    };
    let amount = request.amount;
    let payee_room =
        payee_cap
            .room_before(amount.money())
            .ok_or(WalletRuleError::BalanceLimit {
                tier: payee_cap.tier,
                limit: payee_cap.max_balance,
            })?;
    let hold_reasons = screen(&TransferFacts {
        amount: amount.money(),
        per_transaction_limit: limits.per_transaction,
        daily_limit: limits.daily,
        recent_count: reads.activity.count,
        recent_total: reads.activity.total,
        new_counterparty: reads.activity.new_counterparty,
    });
    let (source_after, screened) = if hold_reasons.is_empty() {
        (
            source.debit(amount, now)?,
            Screened::Cleared {
                credited: destination.credit(amount, now)?,
            },
        )
    } else {
        (
            source.hold(amount, now)?,
            Screened::Held {
                reasons: hold_reasons,
            },
        )
    };
    Ok(AllowedTransfer {
        payer,
        request: request.clone(),
        source: source_after,
        destination: destination.clone(),
        screened,
        daily_limit: limits.daily,
        payee_room,
        now,
    })
}

impl AllowedTransfer {
    /// The transfer as payment `id`: the payment and its ledger entries.
    pub fn numbered(self, id: PaymentId) -> TransferPlan {
        let (state, credited) = match self.screened {
            Screened::Cleared { credited } => (PaymentState::Completed, Some(credited)),
            Screened::Held { reasons } => (PaymentState::OnHold { reasons }, None),
        };
        let payment = Payment {
            id,
            from_wallet_id: self.source.id,
            to_wallet_id: self.destination.id,
            payer_id: self.payer,
            payee_id: self.destination.user_id,
            amount: self.request.amount,
            currency: self.request.currency,
            state,
            description: self.request.description,
            version: 1,
            created_at: self.now,
            updated_at: self.now,
        };
        let entry = |wallet: &Wallet, kind: EntryKind, description: &str| {
            payment.entry(wallet, kind, description, self.now)
        };
        let source_entry = if credited.is_none() {
            entry(&self.source, EntryKind::Debit, "held for compliance review")
        } else {
            entry(&self.source, EntryKind::Debit, "transfer sent")
        };
        let destination = credited.map(|credited| Movement {
            entry: entry(&credited, EntryKind::Credit, "transfer received"),
            wallet: credited,
        });
        TransferPlan {
            source: Movement {
                wallet: self.source,
                entry: source_entry,
            },
            destination,
            daily_limit: self.daily_limit,
            payee_room: self.payee_room,
            payment,
        }
    }
}

/// Checks everything but the daily limit, which the transaction itself enforces.
///
/// `payee_cap` is the payee's maximum balance. The rule, for completed and held transfers
/// alike: a transfer is refused when the payee's balance plus the amount would exceed it now.
/// A hold reserves no room on the payee's side (held funds are not in the payee's balance, and
/// deposits do not know about them); releasing it checks the maximum again, and a release the
/// payee can no longer receive returns the money to the payer instead (see
/// `PaymentService::settle`). The transaction conditions the payee's stored balance on the same
/// bound, so concurrent credits cannot overshoot.
fn check_transfer(
    payer: UserId,
    request: &TransferRequest,
    source: Option<&Wallet>,
    destination: Option<&Wallet>,
    limits: &TransferLimits,
    tier: AccountTier,
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
    if source.status() != WalletStatus::Active {
        return Err(TransferError::SourceNotActive(source.status()));
    }
    if destination.status() != WalletStatus::Active {
        return Err(TransferError::DestinationNotActive(destination.status()));
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
    use finflow_shared::events::payment::PaymentStatus;
    use finflow_shared::jwt::Role;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn wallet(id: WalletId, user: UserId, balance: &str) -> Wallet {
        let mut wallet = Wallet::open(id, user, usd(), OffsetDateTime::now_utc());
        wallet.balance = Money::parse(balance).unwrap();
        wallet
    }

    fn request(amount: &str) -> TransferRequest {
        TransferRequest {
            from_wallet_id: WalletId::new(1),
            to_wallet_id: WalletId::new(2),
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
            UserId::new(7),
            request,
            Some(source),
            Some(destination),
            &transfer_limits(AccountTier::Bronze),
            AccountTier::Bronze,
            &balance_cap(AccountTier::Bronze),
        )
    }

    fn reads(source: Wallet, destination: Wallet, activity: RecentActivity) -> TransferReads {
        TransferReads {
            source: Some(source),
            destination: Some(destination),
            payer_tier: AccountTier::Bronze,
            payee_tier: AccountTier::Bronze,
            activity,
        }
    }

    const QUIET: RecentActivity = RecentActivity {
        count: 0,
        total: Money::ZERO,
        new_counterparty: false,
    };

    #[test]
    fn an_everyday_transfer_completes_with_both_sides_written() {
        let now = OffsetDateTime::now_utc();
        let plan = decide_transfer(
            UserId::new(7),
            &request("100.00"),
            &reads(
                wallet(WalletId::new(1), UserId::new(7), "500"),
                wallet(WalletId::new(2), UserId::new(8), "0"),
                QUIET,
            ),
            now,
        )
        .unwrap()
        .numbered(PaymentId::new(42));
        assert_eq!(plan.payment.state, PaymentState::Completed);
        assert_eq!(plan.source.wallet.balance.to_string(), "400.0000");
        let credit = plan
            .destination
            .expect("completed transfers credit the payee");
        assert_eq!(credit.wallet.balance.to_string(), "100.0000");
        assert_eq!(credit.entry.reference_id, "42");
        assert_eq!(plan.source.entry.reference_id, "42");
        assert_eq!(plan.daily_limit.to_string(), "2000.0000");
        assert_eq!(plan.payee_room.to_string(), "9900.0000");
    }

    #[test]
    fn a_flagged_transfer_holds_the_money_and_credits_nobody() {
        let busy = RecentActivity { count: 5, ..QUIET };
        let plan = decide_transfer(
            UserId::new(7),
            &request("100.00"),
            &reads(
                wallet(WalletId::new(1), UserId::new(7), "500"),
                wallet(WalletId::new(2), UserId::new(8), "0"),
                busy,
            ),
            OffsetDateTime::now_utc(),
        )
        .unwrap()
        .numbered(PaymentId::new(43));
        assert_eq!(plan.payment.status(), PaymentStatus::OnHold);
        assert!(plan.payment.state.hold_reasons()[0].starts_with("velocity"));
        assert!(plan.destination.is_none());
        assert_eq!(
            (
                plan.source.wallet.balance.to_string(),
                plan.source.wallet.held.to_string()
            ),
            ("400.0000".to_owned(), "100.0000".to_owned())
        );
    }

    #[test]
    fn a_refusal_is_decided_before_anything_is_numbered() {
        let refused = decide_transfer(
            UserId::new(7),
            &request("600"),
            &reads(
                wallet(WalletId::new(1), UserId::new(7), "500"),
                wallet(WalletId::new(2), UserId::new(8), "0"),
                QUIET,
            ),
            OffsetDateTime::now_utc(),
        );
        assert_eq!(refused.unwrap_err(), TransferError::InsufficientFunds);
        let missing = TransferReads {
            destination: None,
            ..reads(
                wallet(WalletId::new(1), UserId::new(7), "500"),
                wallet(WalletId::new(2), UserId::new(8), "0"),
                QUIET,
            )
        };
        let refused = decide_transfer(
            UserId::new(7),
            &request("1"),
            &missing,
            OffsetDateTime::now_utc(),
        );
        assert_eq!(refused.unwrap_err(), TransferError::DestinationNotFound);
    }

    #[test]
    fn the_seeds_frozen_source_message() {
        let source = wallet(WalletId::new(1), UserId::new(7), "500");
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
        let error = check(
            &request("50.00"),
            &frozen,
            &wallet(WalletId::new(2), UserId::new(8), "0"),
        )
        .unwrap_err();
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
        let (source, destination) = (
            wallet(WalletId::new(1), UserId::new(7), "100"),
            wallet(WalletId::new(2), UserId::new(8), "0"),
        );
        assert_eq!(
            check(&request("100.0001"), &source, &destination),
            Err(TransferError::InsufficientFunds)
        );
        assert!(matches!(
            check(
                &request("1000.0001"),
                &wallet(WalletId::new(1), UserId::new(7), "5000"),
                &destination
            ),
            Err(TransferError::OverTransactionLimit { .. })
        ));
        let mut same = request("1");
        same.to_wallet_id = WalletId::new(1);
        assert_eq!(
            check(&same, &source, &destination),
            Err(TransferError::SameWallet)
        );
        let someone_elses = wallet(WalletId::new(1), UserId::new(99), "100");
        assert_eq!(
            check(&request("1"), &someone_elses, &destination),
            Err(TransferError::SourceNotFound)
        );
        let mut euro = wallet(WalletId::new(2), UserId::new(8), "0");
        euro.currency = Currency::parse("EUR").unwrap();
        assert!(matches!(
            check(&request("1"), &source, &euro),
            Err(TransferError::CurrencyMismatch { .. })
        ));
        assert_eq!(check(&request("100"), &source, &destination), Ok(()));
    }

    #[test]
    fn refuses_what_would_take_the_payee_above_its_max_balance() {
        let source = wallet(WalletId::new(1), UserId::new(7), "1000");
        let error = check(
            &request("100.0001"),
            &source,
            &wallet(WalletId::new(2), UserId::new(8), "9900"),
        )
        .unwrap_err();
        assert_eq!(
            error,
            TransferError::OverPayeeMaxBalance {
                tier: AccountTier::Bronze,
                limit: Money::parse("10000").unwrap()
            }
        );
        assert!(!error.is_not_found(), "a 400, like every limit");
        assert_eq!(
            error.to_string(),
            "Transfer would take the destination wallet's balance above the bronze tier's maximum of 10000.0000"
        );
        assert_eq!(
            check(
                &request("100"),
                &source,
                &wallet(WalletId::new(2), UserId::new(8), "9900")
            ),
            Ok(()),
            "up to exactly the maximum"
        );
        // The payee's tier decides, not the payer's.
        let gold = check_transfer(
            UserId::new(7),
            &request("100.0001"),
            Some(&source),
            Some(&wallet(WalletId::new(2), UserId::new(8), "9900")),
            &transfer_limits(AccountTier::Bronze),
            AccountTier::Bronze,
            &balance_cap(AccountTier::Gold),
        );
        assert_eq!(gold, Ok(()));
    }
}
