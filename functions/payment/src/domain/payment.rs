//! A payment and its state machine. FinFlow decides a transfer before it writes it, so a
//! payment starts COMPLETED or ON_HOLD (the contract's PENDING is never stored); a hold ends
//! once, COMPLETED (released to the payee) or FAILED (the money back to the payer).

use finflow_shared::PositiveAmount;
use finflow_shared::currency::Currency;
use finflow_shared::events::payment::{PaymentSnapshot, PaymentStatus};
use finflow_shared::{PaymentId, UserId, WalletId};
use finflow_wallet::domain::{EntryKind, LedgerEntry, Wallet};
use time::OffsetDateTime;

/// How a hold ended: the money went to the payee, or back to the payer (voided, or released
/// to a wallet that could no longer receive it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldOutcome {
    Released,
    Returned,
}

/// Where a payment stands, with what each state knows: a held payment why it is held, a
/// settled hold also how and why it ended. A completed payment has no hold reasons, and
/// only a settled hold has a resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentState {
    Completed,
    OnHold {
        reasons: Vec<String>,
    },
    Settled {
        reasons: Vec<String>,
        outcome: HoldOutcome,
        resolution: String,
    },
}

impl PaymentState {
    /// The state that a stored status, hold reasons and resolution describe; `None` for a
    /// combination no payment can be in.
    pub fn from_parts(
        status: PaymentStatus,
        reasons: Vec<String>,
        resolution: Option<String>,
    ) -> Option<PaymentState> {
        match (status, resolution) {
            (PaymentStatus::Completed, None) if reasons.is_empty() => Some(PaymentState::Completed),
            (PaymentStatus::OnHold, None) if !reasons.is_empty() => {
                Some(PaymentState::OnHold { reasons })
            }
            (PaymentStatus::Completed, Some(resolution)) => Some(PaymentState::Settled {
                reasons,
                outcome: HoldOutcome::Released,
                resolution,
            }),
            (PaymentStatus::Failed, Some(resolution)) => Some(PaymentState::Settled {
                reasons,
                outcome: HoldOutcome::Returned,
                resolution,
            }),
            _ => None,
        }
    }

    pub fn status(&self) -> PaymentStatus {
        match self {
            PaymentState::Completed
            | PaymentState::Settled {
                outcome: HoldOutcome::Released,
                ..
            } => PaymentStatus::Completed,
            PaymentState::OnHold { .. } => PaymentStatus::OnHold,
            PaymentState::Settled {
                outcome: HoldOutcome::Returned,
                ..
            } => PaymentStatus::Failed,
        }
    }

    /// Why AML screening held it; empty unless it was held.
    pub fn hold_reasons(&self) -> &[String] {
        match self {
            PaymentState::Completed => &[],
            PaymentState::OnHold { reasons } | PaymentState::Settled { reasons, .. } => reasons,
        }
    }

    /// Why a held payment ended as it did.
    pub fn resolution(&self) -> Option<&str> {
        match self {
            PaymentState::Settled { resolution, .. } => Some(resolution),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub from_wallet_id: WalletId,
    pub to_wallet_id: WalletId,
    pub payer_id: UserId,
    pub payee_id: UserId,
    pub amount: PositiveAmount,
    pub currency: Currency,
    pub state: PaymentState,
    pub description: Option<String>,
    pub version: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payment {id} is {}, not ON_HOLD", .status.as_str())]
pub struct NotOnHold {
    pub id: PaymentId,
    pub status: PaymentStatus,
}

impl Payment {
    pub fn status(&self) -> PaymentStatus {
        self.state.status()
    }

    pub fn snapshot(&self) -> PaymentSnapshot {
        PaymentSnapshot {
            payment_id: self.id,
            from_wallet_id: self.from_wallet_id,
            to_wallet_id: self.to_wallet_id,
            payer_id: self.payer_id,
            payee_id: self.payee_id,
            amount: self.amount,
            currency: self.currency,
            status: self.status(),
            description: self.description.clone(),
        }
    }

    /// The ledger entry of this payment on `wallet`, as it stands after the movement.
    pub fn entry(
        &self,
        wallet: &Wallet,
        kind: EntryKind,
        description: &str,
        at: OffsetDateTime,
    ) -> LedgerEntry {
        LedgerEntry {
            id: uuid::Uuid::now_v7().to_string(),
            wallet_id: wallet.id,
            kind,
            amount: self.amount,
            balance_after: wallet.balance,
            reference_type: "payment".into(),
            reference_id: self.id.to_string(),
            description: Some(description.to_owned()),
            created_at: at,
        }
    }

    /// Ends a hold, once.
    pub fn settle(
        &self,
        outcome: HoldOutcome,
        resolution: String,
        now: OffsetDateTime,
    ) -> Result<Payment, NotOnHold> {
        let PaymentState::OnHold { reasons } = &self.state else {
            return Err(NotOnHold {
                id: self.id,
                status: self.status(),
            });
        };
        Ok(Payment {
            state: PaymentState::Settled {
                reasons: reasons.clone(),
                outcome,
                resolution,
            },
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use finflow_shared::Money;

    fn held() -> Payment {
        let now = OffsetDateTime::now_utc();
        Payment {
            id: PaymentId::new(1),
            from_wallet_id: WalletId::new(1),
            to_wallet_id: WalletId::new(2),
            payer_id: UserId::new(1),
            payee_id: UserId::new(2),
            amount: PositiveAmount::new(Money::parse("950").unwrap()).unwrap(),
            currency: Currency::parse("USD").unwrap(),
            state: PaymentState::OnHold {
                reasons: vec!["structuring".into()],
            },
            description: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_hold_settles_once() {
        let now = OffsetDateTime::now_utc();
        let released = held()
            .settle(HoldOutcome::Released, "released".into(), now)
            .unwrap();
        assert_eq!(
            (released.status(), released.version),
            (PaymentStatus::Completed, 2)
        );
        assert_eq!(released.state.hold_reasons(), ["structuring"]);
        assert_eq!(released.state.resolution(), Some("released"));
        assert_eq!(
            released.settle(HoldOutcome::Returned, "voided".into(), now),
            Err(NotOnHold {
                id: PaymentId::new(1),
                status: PaymentStatus::Completed
            })
        );
        let returned = held()
            .settle(HoldOutcome::Returned, "voided".into(), now)
            .unwrap();
        assert_eq!(returned.status(), PaymentStatus::Failed);
    }

    #[test]
    fn a_stored_state_is_one_a_payment_can_be_in() {
        let reasons = || vec!["velocity".to_owned()];
        let state = |status, reasons, resolution: Option<&str>| {
            PaymentState::from_parts(status, reasons, resolution.map(str::to_owned))
        };
        assert_eq!(
            state(PaymentStatus::Completed, vec![], None),
            Some(PaymentState::Completed)
        );
        assert_eq!(
            state(PaymentStatus::OnHold, reasons(), None).map(|s| s.status()),
            Some(PaymentStatus::OnHold)
        );
        assert_eq!(
            state(PaymentStatus::Failed, reasons(), Some("voided")).map(|s| s.status()),
            Some(PaymentStatus::Failed)
        );
        assert_eq!(
            state(PaymentStatus::Completed, reasons(), Some("released")).map(|s| s.status()),
            Some(PaymentStatus::Completed)
        );
        // Completed with hold reasons but no resolution, a hold without a reason, a FAILED
        // that no hold explains, and PENDING, which is never stored.
        assert_eq!(state(PaymentStatus::Completed, reasons(), None), None);
        assert_eq!(state(PaymentStatus::OnHold, vec![], None), None);
        assert_eq!(state(PaymentStatus::Failed, reasons(), None), None);
        assert_eq!(state(PaymentStatus::Pending, vec![], None), None);
    }
}
