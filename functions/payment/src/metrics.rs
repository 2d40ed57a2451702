//! Payment's metrics, recorded once a transfer is decided (namespace, dimensions and how they
//! reach CloudWatch: `finflow_shared::telemetry::metrics`). A replayed answer (a repeated
//! idempotency key) records nothing: the figures count money moved, not requests.

use metrics::Unit;
use rust_decimal::prelude::ToPrimitive;

use crate::domain::{Payment, TransferError};

/// Transfers recorded, by currency and status (COMPLETED, or ON_HOLD when AML screening held
/// it).
pub const TRANSFERS: &str = "Transfers";
/// The amounts of those transfers, by currency and status. CloudWatch keeps a metric's values
/// as doubles: the figure is an observation for dashboards, while the exact amounts stay in
/// the ledger.
pub const TRANSFER_AMOUNT: &str = "TransferAmount";
/// Transfers refused, by reason ([`TransferError::reason`]).
pub const TRANSFER_REFUSALS: &str = "TransferRefusals";
/// Transfer attempts that met a wallet changed since it was read, each then read and decided
/// again (a hot wallet's contention); the attempts' limit answers 409.
pub const TRANSFER_CONFLICTS: &str = "TransferConflicts";
/// Transfers AML screening held, by the rule that held them (one transfer can trip several).
pub const AML_HOLDS: &str = "AmlHolds";

/// Once per cold start, after `finflow_shared::telemetry::init`.
pub fn describe() {
    metrics::describe_counter!(TRANSFERS, Unit::Count, "transfers recorded");
    // No unit: an amount is in its currency, which is a dimension.
    metrics::describe_histogram!(TRANSFER_AMOUNT, "amounts transferred");
    metrics::describe_counter!(TRANSFER_REFUSALS, Unit::Count, "transfers refused");
    metrics::describe_counter!(AML_HOLDS, Unit::Count, "transfers held by AML screening");
    metrics::describe_counter!(TRANSFER_CONFLICTS, Unit::Count, "transfer attempts retried");
}

pub fn transfer_recorded(payment: &Payment) {
    let (currency, status) = (payment.currency.code(), payment.status().as_str());
    metrics::counter!(TRANSFERS, "Currency" => currency, "Status" => status).increment(1);
    let amount = payment
        .amount
        .money()
        .as_decimal()
        .to_f64()
        .unwrap_or_default();
    metrics::histogram!(TRANSFER_AMOUNT, "Currency" => currency, "Status" => status).record(amount);
    for rule in payment.state.hold_reasons() {
        metrics::counter!(AML_HOLDS, "Rule" => rule.clone()).increment(1);
    }
}

pub fn transfer_conflicted() {
    metrics::counter!(TRANSFER_CONFLICTS).increment(1);
}

pub fn transfer_refused(error: &TransferError) {
    metrics::counter!(TRANSFER_REFUSALS, "Reason" => error.reason()).increment(1);
}

#[cfg(test)]
mod tests {
    use finflow_shared::currency::Currency;
    use finflow_shared::{Money, PaymentId, PositiveAmount, UserId, WalletId};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use time::OffsetDateTime;

    use super::*;
    use crate::domain::PaymentState;

    /// A figure's name, its labels and its value.
    type Figure = (String, Vec<(String, String)>, DebugValue);

    fn recorded(record: impl FnOnce()) -> Vec<Figure> {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, record);
        let mut figures: Vec<_> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let labels = key
                    .key()
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                (key.key().name().to_owned(), labels, value)
            })
            .collect();
        figures.sort_by(|a, b| a.0.cmp(&b.0));
        figures
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_held_transfer_counts_by_currency_and_status_and_by_each_rule_that_held_it() {
        let now = OffsetDateTime::now_utc();
        let payment = Payment {
            id: PaymentId::new(1),
            from_wallet_id: WalletId::new(1),
            to_wallet_id: WalletId::new(2),
            payer_id: UserId::new(1),
            payee_id: UserId::new(2),
            amount: PositiveAmount::new(Money::parse("950.5").unwrap()).unwrap(),
            currency: Currency::parse("EUR").unwrap(),
            state: PaymentState::OnHold {
                reasons: vec!["structuring".into(), "velocity".into()],
            },
            description: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let figures = recorded(|| transfer_recorded(&payment));
        let names: Vec<&str> = figures.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names, [AML_HOLDS, AML_HOLDS, TRANSFER_AMOUNT, TRANSFERS]);
        let by_status = labels(&[("Currency", "EUR"), ("Status", "ON_HOLD")]);
        assert_eq!(
            (&figures[3].1, &figures[3].2),
            (&by_status, &DebugValue::Counter(1))
        );
        assert!(matches!(&figures[2].2, DebugValue::Histogram(v) if v[0].into_inner() == 950.5));
        let rules: Vec<&str> = figures[..2].iter().map(|f| f.1[0].1.as_str()).collect();
        assert_eq!(rules.len(), 2);
        assert!(rules.contains(&"structuring") && rules.contains(&"velocity"));
    }

    #[test]
    fn a_refusal_counts_under_its_reason() {
        let figures = recorded(|| transfer_refused(&TransferError::InsufficientFunds));
        assert_eq!(figures.len(), 1);
        assert_eq!(figures[0].1, labels(&[("Reason", "insufficient_funds")]));
    }
}
