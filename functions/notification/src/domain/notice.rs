//! What an event tells whom: its typed payload (decoded with `EventEnvelope::decode`) becomes a
//! `Notice` per user it is about. A payment tells its payer and its payee different things; a
//! hold tells only the payer (telling the payee would tip off the subject of a review).

use finflow_shared::currency::Currency;
use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::events::aml::AmlCaseResolved;
use finflow_shared::events::kyc::{DocumentType, KycDecision, KycDecisionRecorded};
use finflow_shared::events::payment::{
    PaymentCompleted, PaymentFailed, PaymentOnHold, PaymentReleased, PaymentSnapshot, PaymentVoided,
};
use finflow_shared::events::user::{UserCreated, UserKycUpdated, UserRoleChanged, UserTierChanged};
use finflow_shared::events::wallet::{
    WalletCreated, WalletDeposited, WalletStatus, WalletStatusChanged,
};
use finflow_shared::events::{DomainEvent, EventEnvelope};
use finflow_shared::jwt::Role;
use finflow_shared::{Money, PositiveAmount, UserId, WalletId};

use super::render::RenderError;

/// What one user is told about one event, before it is worded for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Welcome {
        name: String,
    },
    TierChanged {
        previous: AccountTier,
        tier: AccountTier,
    },
    /// Staff rights granted (`Staff`) or revoked (`Customer`): the owner hears of every change
    /// of what their account may do, so one they did not expect is noticed.
    RoleChanged {
        role: Role,
    },
    IdentityVerified,
    IdentityRejected,
    IdentityUnderReview {
        document: DocumentType,
    },
    WalletOpened {
        wallet_id: WalletId,
        currency: Currency,
    },
    WalletStatusChanged {
        wallet_id: WalletId,
        currency: Currency,
        status: WalletStatus,
        reason: Option<String>,
        by_owner: bool,
    },
    Deposited {
        wallet_id: WalletId,
        currency: Currency,
        amount: PositiveAmount,
        balance_after: Money,
        reference: String,
    },
    /// To the payer of a completed transfer.
    PaymentSent(PaymentSnapshot),
    /// To the payee of a completed or released transfer.
    PaymentReceived(PaymentSnapshot),
    /// To the payer of a held transfer.
    PaymentHeld(PaymentSnapshot),
    /// To the payer of a held transfer that was released.
    PaymentReleased(PaymentSnapshot),
    /// To the payer of a held transfer that was voided.
    PaymentVoided(PaymentSnapshot),
    /// To the payer of a transfer that failed after it was accepted.
    PaymentFailed {
        payment: PaymentSnapshot,
        reason: String,
    },
}

/// A notice and the user it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressed {
    pub user_id: UserId,
    pub notice: Notice,
}

fn decode<E: DomainEvent>(event: &EventEnvelope) -> Result<E, RenderError> {
    event
        .decode::<E>()
        .map_err(|e| RenderError::Malformed(e.to_string()))
}

fn to(user_id: UserId, notice: Notice) -> Addressed {
    Addressed { user_id, notice }
}

/// The payer's notice, and the payee's when there is one for a different user (a transfer
/// between one's own wallets tells its owner once).
fn payer_and_payee(
    payment: PaymentSnapshot,
    payer: fn(PaymentSnapshot) -> Notice,
    payee: fn(PaymentSnapshot) -> Notice,
) -> Vec<Addressed> {
    let mut out = vec![to(payment.payer_id, payer(payment.clone()))];
    if payment.payee_id != payment.payer_id {
        out.push(to(payment.payee_id, payee(payment)));
    }
    out
}

/// The notices an event gives, one per user it tells (possibly none: a KYC decision that
/// auth will report as `user.kyc_updated` tells nobody by itself).
pub fn notices(event: &EventEnvelope) -> Result<Vec<Addressed>, RenderError> {
    Ok(if event.is::<UserCreated>() {
        let e = decode::<UserCreated>(event)?;
        vec![to(e.user.user_id, Notice::Welcome { name: e.name })]
    } else if event.is::<UserTierChanged>() {
        let e = decode::<UserTierChanged>(event)?;
        vec![to(
            e.user.user_id,
            Notice::TierChanged {
                previous: e.previous_tier,
                tier: e.user.account_tier,
            },
        )]
    } else if event.is::<UserRoleChanged>() {
        let e = decode::<UserRoleChanged>(event)?;
        vec![to(e.user.user_id, Notice::RoleChanged { role: e.role })]
    } else if event.is::<UserKycUpdated>() {
        let e = decode::<UserKycUpdated>(event)?;
        match e.user.kyc_status {
            KycStatus::Verified => vec![to(e.user.user_id, Notice::IdentityVerified)],
            KycStatus::Rejected => vec![to(e.user.user_id, Notice::IdentityRejected)],
            // Back to pending is not news to the customer.
            KycStatus::Pending => Vec::new(),
        }
    } else if event.is::<KycDecisionRecorded>() {
        let e = decode::<KycDecisionRecorded>(event)?;
        match e.decision {
            KycDecision::ManualReview => vec![to(
                e.user_id,
                Notice::IdentityUnderReview {
                    document: e.document_type,
                },
            )],
            // Auth turns these into the user's kyc_status and `user.kyc_updated`, which is
            // what the customer is told about (once, from the account's own state).
            KycDecision::Verified | KycDecision::Rejected => Vec::new(),
        }
    } else if event.is::<WalletCreated>() {
        let e = decode::<WalletCreated>(event)?;
        vec![to(
            e.user_id,
            Notice::WalletOpened {
                wallet_id: e.wallet_id,
                currency: e.currency,
            },
        )]
    } else if event.is::<WalletStatusChanged>() {
        let e = decode::<WalletStatusChanged>(event)?;
        vec![to(
            e.user_id,
            Notice::WalletStatusChanged {
                wallet_id: e.wallet_id,
                currency: e.currency,
                status: e.status,
                reason: e.reason,
                by_owner: e.changed_by == e.user_id,
            },
        )]
    } else if event.is::<WalletDeposited>() {
        let e = decode::<WalletDeposited>(event)?;
        vec![to(
            e.user_id,
            Notice::Deposited {
                wallet_id: e.wallet_id,
                currency: e.currency,
                amount: e.amount,
                balance_after: e.balance_after,
                reference: e.reference,
            },
        )]
    } else if event.is::<PaymentCompleted>() {
        let e = decode::<PaymentCompleted>(event)?;
        payer_and_payee(e.payment, Notice::PaymentSent, Notice::PaymentReceived)
    } else if event.is::<PaymentOnHold>() {
        // The hold's reasons are never shown: they would tell how screening works.
        let e = decode::<PaymentOnHold>(event)?;
        vec![to(e.payment.payer_id, Notice::PaymentHeld(e.payment))]
    } else if event.is::<PaymentReleased>() {
        let e = decode::<PaymentReleased>(event)?;
        payer_and_payee(e.payment, Notice::PaymentReleased, Notice::PaymentReceived)
    } else if event.is::<PaymentVoided>() {
        // The payee never learned of the held payment, so its voiding is not news to them.
        let e = decode::<PaymentVoided>(event)?;
        vec![to(e.payment.payer_id, Notice::PaymentVoided(e.payment))]
    } else if event.is::<PaymentFailed>() {
        let e = decode::<PaymentFailed>(event)?;
        vec![to(
            e.payment.payer_id,
            Notice::PaymentFailed {
                payment: e.payment,
                reason: e.reason,
            },
        )]
    } else if event.is::<AmlCaseResolved>() {
        decode::<AmlCaseResolved>(event)?;
        Vec::new()
    } else {
        return Err(RenderError::Unknown {
            event_type: event.event_type.clone(),
            version: event.schema_version,
        });
    })
}
