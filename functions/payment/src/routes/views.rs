//! What the API shows of a payment.

use finflow_shared::{Money, PaymentId, UserId, WalletId};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::domain::Payment;

#[derive(Debug, Serialize)]
pub struct PaymentView {
    pub id: PaymentId,
    pub from_wallet_id: WalletId,
    pub to_wallet_id: WalletId,
    pub payer_id: UserId,
    pub payee_id: UserId,
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
            status: payment.status().as_str(),
            description: payment.description.clone(),
            hold_reasons: payment.state.hold_reasons().to_vec(),
            resolution: payment.state.resolution().map(str::to_owned),
            created_at: payment.created_at,
            updated_at: payment.updated_at,
        }
    }
}

/// A payment as `/api/v2` shows it: v1's view with `amount` an object holding the value and
/// its currency (`PaymentV2` in the document), built from v1's answer, which is also what an
/// idempotent replay returns.
pub fn payment_v2(v1: Value) -> Value {
    let Value::Object(mut fields) = v1 else {
        return v1;
    };
    if let (Some(value), Some(currency)) = (fields.remove("amount"), fields.remove("currency")) {
        fields.insert(
            "amount".into(),
            json!({ "value": value, "currency": currency }),
        );
    }
    Value::Object(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_holds_the_amount_with_its_currency() {
        let v1 = json!({ "id": 7, "amount": "12.5000", "currency": "EUR", "status": "COMPLETED" });
        assert_eq!(
            payment_v2(v1),
            json!({ "id": 7, "amount": { "value": "12.5000", "currency": "EUR" }, "status": "COMPLETED" })
        );
    }
}
