//! What the AML API shows of cases and of a user's activity.

use finflow_shared::{CaseId, Money, PaymentId, UserId, WalletId};
use serde::Serialize;
use time::OffsetDateTime;

use crate::aml::activity::UserActivity;
use crate::aml::case::{AmlCase, action_str};

#[derive(Debug, Serialize)]
pub struct DecisionView {
    /// release or void.
    pub action: &'static str,
    pub resolved_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    pub resolved_at: OffsetDateTime,
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CaseView {
    pub case_id: CaseId,
    /// open or resolved.
    pub status: &'static str,
    pub payment_id: PaymentId,
    /// The payment's status as far as compliance knows: ON_HOLD until payment reports its end.
    pub payment_status: &'static str,
    pub from_wallet_id: WalletId,
    pub to_wallet_id: WalletId,
    pub payer_id: UserId,
    pub payee_id: UserId,
    pub amount: Money,
    pub currency: &'static str,
    pub description: Option<String>,
    pub hold_reasons: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub held_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    /// The compliance officer's decision, if one was made.
    pub decision: Option<DecisionView>,
    /// How the payment ended (released, voided or failed); the case closed then.
    pub outcome: Option<&'static str>,
    pub outcome_detail: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
}

impl From<&AmlCase> for CaseView {
    fn from(case: &AmlCase) -> Self {
        let payment = &case.payment;
        let settlement = case.settlement.as_ref();
        CaseView {
            case_id: case.id,
            status: case.status().as_str(),
            payment_id: payment.payment_id,
            payment_status: settlement
                .map_or(payment.status, |s| s.outcome.payment_status())
                .as_str(),
            from_wallet_id: payment.from_wallet_id,
            to_wallet_id: payment.to_wallet_id,
            payer_id: payment.payer_id,
            payee_id: payment.payee_id,
            amount: payment.amount.money(),
            currency: payment.currency.code(),
            description: payment.description.clone(),
            hold_reasons: case.hold_reasons.clone(),
            held_at: case.held_at,
            opened_at: case.opened_at,
            decision: case.decision.as_ref().map(|d| DecisionView {
                action: action_str(d.action),
                resolved_by: d.resolved_by,
                resolved_at: d.resolved_at,
                note: d.note.clone(),
            }),
            outcome: settlement.map(|s| s.outcome.as_str()),
            outcome_detail: settlement.and_then(|s| s.detail.clone()),
            closed_at: case.closed_at(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DayView {
    pub day: String,
    pub currency: &'static str,
    pub sent_count: u64,
    pub sent_volume: Money,
}

/// A user's velocity state: what they sent per UTC day and currency, and their holds.
#[derive(Debug, Serialize)]
pub struct ActivityView {
    pub user_id: UserId,
    pub holds: u64,
    pub open_holds: u64,
    pub released: u64,
    pub voided: u64,
    pub failed: u64,
    pub days: Vec<DayView>,
}

impl From<&UserActivity> for ActivityView {
    fn from(activity: &UserActivity) -> Self {
        ActivityView {
            user_id: activity.user_id,
            holds: activity.holds,
            open_holds: activity.open_holds(),
            released: activity.released,
            voided: activity.voided,
            failed: activity.failed,
            days: activity
                .days
                .iter()
                .map(|d| DayView {
                    day: d.day.clone(),
                    currency: d.currency.code(),
                    sent_count: d.sent_count,
                    sent_volume: d.sent_volume,
                })
                .collect(),
        }
    }
}
