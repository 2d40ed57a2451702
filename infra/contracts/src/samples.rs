//! Representative events of every catalog type: every value of every enum, optional fields
//! present and absent, amounts at their extremes, envelopes with and without a cause. The
//! conformance tests validate them against the schemas; the consumer checks decode them.
//!
//! The lists of enum values are exhaustive matches: a new variant does not compile until it is
//! sampled here, and then the schema must list it too (or validation fails).

use finflow_shared::currency::Currency;
use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::events::aml::{AmlCaseResolved, CaseAction};
use finflow_shared::events::kyc::{DecidedBy, DocumentType, KycDecision, KycDecisionRecorded};
use finflow_shared::events::payment::{
    PaymentCompleted, PaymentFailed, PaymentOnHold, PaymentReleased, PaymentSnapshot,
    PaymentStatus, PaymentVoided,
};
use finflow_shared::events::user::{
    RoleChangedBy, UserCreated, UserKycUpdated, UserRoleChanged, UserSnapshot, UserTierChanged,
};
use finflow_shared::events::wallet::{
    WalletCreated, WalletDeposited, WalletStatus, WalletStatusChanged,
};
use finflow_shared::events::{Causality, DomainEvent, EventEnvelope};
use finflow_shared::jwt::Role;
use finflow_shared::money::{Money, PositiveAmount};
use finflow_shared::trace::TraceId;
use finflow_shared::{CaseId, PaymentId, UserId, WalletId};

/// Every unit variant of an enum, checked exhaustive at compile time.
macro_rules! every {
    ($ty:ident { $($variant:ident),+ $(,)? }) => {{
        // A new variant fails to compile here until the samples include it.
        fn exhaustive(value: $ty) {
            match value {
                $($ty::$variant)|+ => {}
            }
        }
        let all = [$($ty::$variant),+];
        all.iter().copied().for_each(exhaustive);
        all
    }};
}

fn decided_by() -> [DecidedBy; 2] {
    let all = [DecidedBy::Automatic, DecidedBy::Staff(UserId::new(7))];
    for value in all {
        match value {
            DecidedBy::Automatic | DecidedBy::Staff(_) => {}
        }
    }
    all
}

fn role_changed_by() -> [RoleChangedBy; 2] {
    let all = [
        RoleChangedBy::Staff(UserId::new(7)),
        RoleChangedBy::Operator("ops-oncall".into()),
    ];
    for value in &all {
        match value {
            RoleChangedBy::Staff(_) | RoleChangedBy::Operator(_) => {}
        }
    }
    all
}

fn money(text: &str) -> Money {
    Money::parse(text).expect("sample amounts are valid")
}

fn positive(text: &str) -> PositiveAmount {
    PositiveAmount::new(money(text)).expect("sample amounts are positive")
}

fn currency(code: &str) -> Currency {
    Currency::parse(code).expect("sample currencies are supported")
}

/// Cycles through `items` so that `n` samples cover each of them.
fn nth<T: Copy>(items: &[T], i: usize) -> T {
    items[i % items.len()]
}

/// Envelopes alternate between starting a chain and continuing one.
struct Wrapper {
    cause: EventEnvelope,
    count: usize,
}

impl Wrapper {
    fn wrap<E: DomainEvent>(&mut self, event: &E) -> EventEnvelope {
        self.count += 1;
        let causality = if self.count.is_multiple_of(2) {
            Causality::caused_by(&self.cause)
        } else {
            Causality::from_request(TraceId::generate())
        };
        EventEnvelope::new(event, &causality)
    }
}

/// Every sample, as the envelope `EventEnvelope::new` builds for it.
pub fn all() -> Vec<EventEnvelope> {
    let kyc_statuses = every!(KycStatus {
        Pending,
        Verified,
        Rejected
    });
    let tiers = every!(AccountTier {
        Bronze,
        Silver,
        Gold
    });
    let wallet_statuses = every!(WalletStatus {
        Active,
        Frozen,
        Closed
    });
    let documents = every!(DocumentType {
        Passport,
        NationalId,
        DriversLicense
    });
    let decisions = every!(KycDecision {
        Verified,
        Rejected,
        ManualReview
    });
    let payment_statuses = every!(PaymentStatus {
        Pending,
        Completed,
        Failed,
        OnHold
    });
    let actions = every!(CaseAction { Release, Void });
    let deciders = decided_by();
    let roles = every!(Role { Customer, Staff });
    let role_changers = role_changed_by();
    let amounts = ["0.0001", "12.5", finflow_shared::money::MAX];
    let balances = ["0", "-0.0001", "1234.5678", finflow_shared::money::MAX];
    let texts = [Some("rent for March".to_owned()), None];

    let mut out = Vec::new();
    let mut wrapper = Wrapper {
        cause: EventEnvelope::new(
            &AmlCaseResolved {
                case_id: CaseId::new(1),
                payment_id: PaymentId::new(1),
                action: CaseAction::Release,
                resolved_by: UserId::new(1),
                note: None,
            },
            &Causality::from_request(TraceId::generate()),
        ),
        count: 0,
    };

    for i in 0..3 {
        let user = UserSnapshot {
            user_id: UserId::new(1 + i as u64),
            kyc_status: nth(&kyc_statuses, i),
            account_tier: nth(&tiers, i),
            version: 1 + i as u64,
        };
        out.push(wrapper.wrap(&UserCreated {
            user: user.clone(),
            email: format!("user{i}@example.com"),
            name: "Ada Lovelace".into(),
        }));
        out.push(wrapper.wrap(&UserTierChanged {
            user: user.clone(),
            previous_tier: nth(&tiers, i + 1),
            changed_by: UserId::new(99),
        }));
        out.push(wrapper.wrap(&UserKycUpdated {
            user: user.clone(),
            previous_kyc_status: nth(&kyc_statuses, i + 1),
        }));
        out.push(wrapper.wrap(&UserRoleChanged {
            user,
            role: nth(&roles, i),
            previous_role: nth(&roles, i + 1),
            changed_by: role_changers[i % role_changers.len()].clone(),
        }));
    }

    // Every currency in every event that carries one.
    let currencies = finflow_shared::currency::SUPPORTED;
    for (i, code) in currencies.into_iter().enumerate() {
        let wallet_id = WalletId::new(10 + i as u64);
        out.push(wrapper.wrap(&WalletCreated {
            wallet_id,
            user_id: UserId::new(1),
            currency: currency(code),
            status: nth(&wallet_statuses, i),
        }));
        out.push(wrapper.wrap(&WalletStatusChanged {
            wallet_id,
            user_id: UserId::new(1),
            currency: currency(code),
            previous_status: nth(&wallet_statuses, i + 1),
            status: nth(&wallet_statuses, i),
            changed_by: UserId::new(1),
            reason: (i % 2 == 0).then(|| "suspicious login".to_owned()),
        }));
        out.push(wrapper.wrap(&WalletDeposited {
            wallet_id,
            user_id: UserId::new(1),
            currency: currency(code),
            amount: positive(nth(&amounts, i)),
            balance_after: money(nth(&balances, i)),
            reference: "top-up".into(),
        }));
    }

    for i in 0..4 {
        out.push(wrapper.wrap(&KycDecisionRecorded {
            user_id: UserId::new(1),
            submission_id: 20 + i as u64,
            document_type: nth(&documents, i),
            decision: nth(&decisions, i),
            risk_score: [0, 35, 100, 61][i],
            reasons: if i == 0 {
                Vec::new()
            } else {
                vec!["document:passport".into(), "country:high_risk".into()]
            },
            decided_by: nth(&deciders, i),
            sequence: 1 + i as u64,
        }));
    }

    for (i, code) in currencies.into_iter().enumerate() {
        // Every status with a description and without one within the first eight.
        let payment = PaymentSnapshot {
            payment_id: PaymentId::new(30 + i as u64),
            from_wallet_id: WalletId::new(10),
            to_wallet_id: WalletId::new(11),
            payer_id: UserId::new(1),
            payee_id: UserId::new(2),
            amount: positive(nth(&amounts, i)),
            currency: currency(code),
            status: nth(&payment_statuses, i),
            description: texts[(i / payment_statuses.len()) % texts.len()].clone(),
        };
        out.push(wrapper.wrap(&PaymentCompleted {
            payment: payment.clone(),
        }));
        out.push(wrapper.wrap(&PaymentOnHold {
            payment: payment.clone(),
            reasons: vec!["large_amount".into()],
        }));
        out.push(wrapper.wrap(&PaymentReleased {
            payment: payment.clone(),
            case_id: CaseId::new(40),
        }));
        out.push(wrapper.wrap(&PaymentVoided {
            payment: payment.clone(),
            case_id: CaseId::new(41),
        }));
        out.push(wrapper.wrap(&PaymentFailed {
            payment,
            reason: "payee wallet closed".into(),
        }));
    }

    for (i, action) in actions.into_iter().enumerate() {
        for note in &texts {
            out.push(wrapper.wrap(&AmlCaseResolved {
                case_id: CaseId::new(40 + i as u64),
                payment_id: PaymentId::new(30),
                action,
                resolved_by: UserId::new(99),
                note: note.clone(),
            }));
        }
    }
    out
}
