//! Events about payments, produced by payment. Each carries the payment's full state, so a
//! consumer needs nothing else to act on it.

use serde::{Deserialize, Serialize};

use super::envelope::DomainEvent;
use crate::currency::Currency;
use crate::ids::{CaseId, PaymentId, UserId, WalletId};
use crate::money::PositiveAmount;

/// PENDING → COMPLETED | FAILED | ON_HOLD; ON_HOLD → COMPLETED (released) | FAILED (voided).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Pending,
    Completed,
    Failed,
    OnHold,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 4] = [
        PaymentStatus::Pending,
        PaymentStatus::Completed,
        PaymentStatus::Failed,
        PaymentStatus::OnHold,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Completed => "COMPLETED",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::OnHold => "ON_HOLD",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        PaymentStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentSnapshot {
    pub payment_id: PaymentId,
    pub from_wallet_id: WalletId,
    pub to_wallet_id: WalletId,
    pub payer_id: UserId,
    pub payee_id: UserId,
    pub amount: PositiveAmount,
    pub currency: Currency,
    pub status: PaymentStatus,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentCompleted {
    #[serde(flatten)]
    pub payment: PaymentSnapshot,
}

impl DomainEvent for PaymentCompleted {
    const TYPE: &'static str = "payment.completed";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "payment";
}

/// AML screening flagged the transfer: the amount left the payer's balance into held funds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOnHold {
    #[serde(flatten)]
    pub payment: PaymentSnapshot,
    pub reasons: Vec<String>,
}

impl DomainEvent for PaymentOnHold {
    const TYPE: &'static str = "payment.on_hold";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "payment";
}

/// A held payment was released by compliance and credited to the payee (now COMPLETED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReleased {
    #[serde(flatten)]
    pub payment: PaymentSnapshot,
    pub case_id: CaseId,
}

impl DomainEvent for PaymentReleased {
    const TYPE: &'static str = "payment.released";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "payment";
}

/// A held payment was voided by compliance and returned to the payer (now FAILED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentVoided {
    #[serde(flatten)]
    pub payment: PaymentSnapshot,
    pub case_id: CaseId,
}

impl DomainEvent for PaymentVoided {
    const TYPE: &'static str = "payment.voided";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "payment";
}

/// A payment failed after it was accepted (a held payment whose payee wallet can no longer
/// receive it); the amount went back to the payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFailed {
    #[serde(flatten)]
    pub payment: PaymentSnapshot,
    pub reason: String,
}

impl DomainEvent for PaymentFailed {
    const TYPE: &'static str = "payment.failed";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "payment";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Causality, EventEnvelope};
    use crate::money::Money;
    use crate::trace::TraceId;

    #[test]
    fn a_flattened_snapshot_round_trips_its_exact_amount() {
        let event = PaymentOnHold {
            payment: PaymentSnapshot {
                payment_id: PaymentId::new(1),
                from_wallet_id: WalletId::new(1),
                to_wallet_id: WalletId::new(2),
                payer_id: UserId::new(1),
                payee_id: UserId::new(2),
                amount: PositiveAmount::new(Money::parse("9999999999999999.9999").unwrap())
                    .unwrap(),
                currency: Currency::parse("USD").unwrap(),
                status: PaymentStatus::OnHold,
                description: None,
            },
            reasons: vec!["structuring".into()],
        };
        let envelope = EventEnvelope::new(&event, &Causality::from_request(TraceId::generate()));
        let wire = serde_json::to_string(&envelope).unwrap();
        let received: EventEnvelope = serde_json::from_str(&wire).unwrap();
        assert_eq!(received.decode::<PaymentOnHold>().unwrap(), event);
        assert_eq!(received.data["status"], "ON_HOLD");
    }
}
