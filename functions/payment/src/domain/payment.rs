//! A payment and its state machine: PENDING → COMPLETED | FAILED | ON_HOLD, and
//! ON_HOLD → COMPLETED (released) | FAILED (voided).

use finflow_shared::PositiveAmount;
use finflow_shared::currency::Currency;
use finflow_shared::events::payment::{PaymentSnapshot, PaymentStatus};
use finflow_wallet::domain::{EntryKind, LedgerEntry, Wallet};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: u64,
    pub from_wallet_id: u64,
    pub to_wallet_id: u64,
    pub payer_id: u64,
    pub payee_id: u64,
    pub amount: PositiveAmount,
    pub currency: Currency,
    pub status: PaymentStatus,
    pub description: Option<String>,
    /// Why AML screening held it; empty unless it was held.
    pub hold_reasons: Vec<String>,
    /// Why a held payment ended as it did.
    pub resolution: Option<String>,
    pub version: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payment {id} is {status}, not ON_HOLD")]
pub struct NotOnHold {
    pub id: u64,
    pub status: &'static str,
}

impl Payment {
    pub fn snapshot(&self) -> PaymentSnapshot {
        PaymentSnapshot {
            payment_id: self.id,
            from_wallet_id: self.from_wallet_id,
            to_wallet_id: self.to_wallet_id,
            payer_id: self.payer_id,
            payee_id: self.payee_id,
            amount: self.amount,
            currency: self.currency,
            status: self.status,
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

    /// Ends a hold: COMPLETED when released, FAILED when voided or no longer deliverable.
    pub fn settle(
        &self,
        outcome: PaymentStatus,
        resolution: String,
        now: OffsetDateTime,
    ) -> Result<Payment, NotOnHold> {
        if self.status != PaymentStatus::OnHold
            || !matches!(outcome, PaymentStatus::Completed | PaymentStatus::Failed)
        {
            return Err(NotOnHold {
                id: self.id,
                status: self.status.as_str(),
            });
        }
        Ok(Payment {
            status: outcome,
            resolution: Some(resolution),
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
            id: 1,
            from_wallet_id: 1,
            to_wallet_id: 2,
            payer_id: 1,
            payee_id: 2,
            amount: PositiveAmount::new(Money::parse("950").unwrap()).unwrap(),
            currency: Currency::parse("USD").unwrap(),
            status: PaymentStatus::OnHold,
            description: None,
            hold_reasons: vec!["structuring".into()],
            resolution: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_hold_settles_once() {
        let now = OffsetDateTime::now_utc();
        let released = held()
            .settle(PaymentStatus::Completed, "released".into(), now)
            .unwrap();
        assert_eq!(
            (released.status, released.version),
            (PaymentStatus::Completed, 2)
        );
        assert!(
            released
                .settle(PaymentStatus::Failed, "voided".into(), now)
                .is_err()
        );
        assert!(
            held()
                .settle(PaymentStatus::OnHold, "again".into(), now)
                .is_err()
        );
    }
}
