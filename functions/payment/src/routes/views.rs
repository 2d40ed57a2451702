//! What the API shows of a payment.

use finflow_shared::Money;
use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::Payment;

#[derive(Debug, Serialize)]
pub struct PaymentView {
    pub id: u64,
    pub from_wallet_id: u64,
    pub to_wallet_id: u64,
    pub payer_id: u64,
    pub payee_id: u64,
    pub amount: Money,
    pub currency: &'static str,
    pub status: &'static str,
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hold_reasons: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Payment> for PaymentView {
    fn from(payment: &Payment) -> Self {
        PaymentView {
            id: payment.id,
            from_wallet_id: payment.from_wallet_id,
            to_wallet_id: payment.to_wallet_id,
            payer_id: payment.payer_id,
            payee_id: payment.payee_id,
            amount: payment.amount.money(),
            currency: payment.currency.code(),
            status: payment.status.as_str(),
            description: payment.description.clone(),
            hold_reasons: payment.hold_reasons.clone(),
            resolution: payment.resolution.clone(),
            created_at: payment.created_at,
            updated_at: payment.updated_at,
        }
    }
}
