//! What reporting learns from each cascade event: the facts it counts, decoded from the
//! catalog's payload types. Unknown types or versions are `None`.

use finflow_shared::PositiveAmount;
use finflow_shared::currency::Currency;
use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::events::aml::{AmlCaseResolved, CaseAction};
use finflow_shared::events::kyc::{DecidedBy, KycDecision, KycDecisionRecorded};
use finflow_shared::events::payment::{
    PaymentCompleted, PaymentFailed, PaymentOnHold, PaymentReleased, PaymentSnapshot,
    PaymentStatus, PaymentVoided,
};
use finflow_shared::events::user::{UserCreated, UserKycUpdated, UserSnapshot, UserTierChanged};
use finflow_shared::events::wallet::{
    WalletCreated, WalletDeposited, WalletStatus, WalletStatusChanged,
};
use finflow_shared::events::{EnvelopeError, EventEnvelope};
use finflow_shared::{PaymentId, UserId};
use time::{Date, UtcOffset};

/// How a held payment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEnd {
    /// `payment.released`: credited to the payee, now COMPLETED.
    Released,
    /// `payment.voided`: returned to the payer, now FAILED.
    Voided,
    /// `payment.failed`: released to a wallet that could not receive it, returned, now FAILED.
    Failed,
}

impl HoldEnd {
    pub fn status(&self) -> PaymentStatus {
        match self {
            HoldEnd::Released => PaymentStatus::Completed,
            HoldEnd::Voided | HoldEnd::Failed => PaymentStatus::Failed,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            HoldEnd::Released => "released",
            HoldEnd::Voided => "voided",
            HoldEnd::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// `payment.completed` or `payment.on_hold`: a payment made on `day` (UTC), counted
    /// under `status` (COMPLETED or ON_HOLD).
    PaymentMade {
        payment: PaymentSnapshot,
        status: PaymentStatus,
        day: Date,
    },
    /// `payment.released`, `.voided` or `.failed`: a held payment ended.
    HoldEnded {
        payment: PaymentSnapshot,
        end: HoldEnd,
    },
    UserRegistered {
        user: UserSnapshot,
    },
    TierChanged {
        user: UserSnapshot,
        previous: AccountTier,
    },
    KycStatusChanged {
        user: UserSnapshot,
        previous: KycStatus,
    },
    KycDecided {
        decision: KycDecision,
        decided_by: DecidedBy,
    },
    WalletOpened {
        user_id: UserId,
        currency: Currency,
    },
    WalletStatusChanged {
        user_id: UserId,
        currency: Currency,
        previous: WalletStatus,
        status: WalletStatus,
    },
    Deposited {
        user_id: UserId,
        currency: Currency,
        amount: PositiveAmount,
    },
    CaseResolved {
        action: CaseAction,
    },
}

impl Fact {
    /// The fact `event` carries, or `None` when reporting does not count it.
    pub fn of(event: &EventEnvelope) -> Result<Option<Fact>, EnvelopeError> {
        let day = event.occurred_at.to_offset(UtcOffset::UTC).date();
        let made = |payment: PaymentSnapshot, status: PaymentStatus| Fact::PaymentMade {
            payment,
            status,
            day,
        };
        let fact = if event.is::<PaymentCompleted>() {
            made(
                event.decode::<PaymentCompleted>()?.payment,
                PaymentStatus::Completed,
            )
        } else if event.is::<PaymentOnHold>() {
            made(
                event.decode::<PaymentOnHold>()?.payment,
                PaymentStatus::OnHold,
            )
        } else if event.is::<PaymentReleased>() {
            Fact::HoldEnded {
                payment: event.decode::<PaymentReleased>()?.payment,
                end: HoldEnd::Released,
            }
        } else if event.is::<PaymentVoided>() {
            Fact::HoldEnded {
                payment: event.decode::<PaymentVoided>()?.payment,
                end: HoldEnd::Voided,
            }
        } else if event.is::<PaymentFailed>() {
            Fact::HoldEnded {
                payment: event.decode::<PaymentFailed>()?.payment,
                end: HoldEnd::Failed,
            }
        } else if event.is::<UserCreated>() {
            Fact::UserRegistered {
                user: event.decode::<UserCreated>()?.user,
            }
        } else if event.is::<UserTierChanged>() {
            let changed = event.decode::<UserTierChanged>()?;
            Fact::TierChanged {
                user: changed.user,
                previous: changed.previous_tier,
            }
        } else if event.is::<UserKycUpdated>() {
            let updated = event.decode::<UserKycUpdated>()?;
            Fact::KycStatusChanged {
                user: updated.user,
                previous: updated.previous_kyc_status,
            }
        } else if event.is::<KycDecisionRecorded>() {
            let recorded = event.decode::<KycDecisionRecorded>()?;
            Fact::KycDecided {
                decision: recorded.decision,
                decided_by: recorded.decided_by,
            }
        } else if event.is::<WalletCreated>() {
            let created = event.decode::<WalletCreated>()?;
            Fact::WalletOpened {
                user_id: created.user_id,
                currency: created.currency,
            }
        } else if event.is::<WalletStatusChanged>() {
            let changed = event.decode::<WalletStatusChanged>()?;
            Fact::WalletStatusChanged {
                user_id: changed.user_id,
                currency: changed.currency,
                previous: changed.previous_status,
                status: changed.status,
            }
        } else if event.is::<WalletDeposited>() {
            let deposited = event.decode::<WalletDeposited>()?;
            Fact::Deposited {
                user_id: deposited.user_id,
                currency: deposited.currency,
                amount: deposited.amount,
            }
        } else if event.is::<AmlCaseResolved>() {
            Fact::CaseResolved {
                action: event.decode::<AmlCaseResolved>()?.action,
            }
        } else {
            return Ok(None);
        };
        Ok(Some(fact))
    }

    /// The payment whose record the fact creates or moves.
    pub fn payment_id(&self) -> Option<PaymentId> {
        match self {
            Fact::PaymentMade { payment, .. } | Fact::HoldEnded { payment, .. } => {
                Some(payment.payment_id)
            }
            _ => None,
        }
    }
}
