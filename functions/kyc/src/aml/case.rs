//! AML cases: one per payment that screening held. A case opens when payment reports the hold
//! (`payment.on_hold`); a compliance officer resolves it (release or void), which payment
//! carries out; and the case closes with the payment's end (`payment.released`, `.voided` or
//! `.failed`), whichever way that came about.
//!
//! A case is `open` until it is decided: by staff, or by the payment itself ending first (for
//! example when payment's events arrive out of order, or a release found the payee's wallet
//! closed). Then it is `resolved`, and stays so; its `outcome` records how the payment ended.

use finflow_shared::FieldError;
use finflow_shared::events::aml::{AmlCaseResolved, CaseAction};
use finflow_shared::events::payment::{PaymentSnapshot, PaymentStatus};
use finflow_shared::{CaseId, UserId};
use time::OffsetDateTime;

const MAX_NOTE_LENGTH: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    /// Waiting for a compliance officer.
    Open,
    /// Decided by staff, or overtaken by the payment's own end.
    Resolved,
}

impl CaseStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(CaseStatus::Open),
            "resolved" => Some(CaseStatus::Resolved),
            _ => None,
        }
    }
}

pub fn action_str(action: CaseAction) -> &'static str {
    match action {
        CaseAction::Release => "release",
        CaseAction::Void => "void",
    }
}

pub fn parse_action(text: &str) -> Option<CaseAction> {
    match text {
        "release" => Some(CaseAction::Release),
        "void" => Some(CaseAction::Void),
        _ => None,
    }
}

/// A compliance officer's decision on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: CaseAction,
    pub resolved_by: UserId,
    pub resolved_at: OffsetDateTime,
    pub note: Option<String>,
}

/// How a held payment ended, as payment reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEnd {
    /// `payment.released`: credited to the payee, COMPLETED.
    Released,
    /// `payment.voided`: returned to the payer, FAILED.
    Voided,
    /// `payment.failed`: could not be delivered and was returned to the payer, FAILED.
    Failed,
}

impl PaymentEnd {
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentEnd::Released => "released",
            PaymentEnd::Voided => "voided",
            PaymentEnd::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "released" => Some(PaymentEnd::Released),
            "voided" => Some(PaymentEnd::Voided),
            "failed" => Some(PaymentEnd::Failed),
            _ => None,
        }
    }

    pub fn payment_status(&self) -> PaymentStatus {
        match self {
            PaymentEnd::Released => PaymentStatus::Completed,
            PaymentEnd::Voided | PaymentEnd::Failed => PaymentStatus::Failed,
        }
    }
}

/// The end of a held payment: what happened, when payment committed it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub outcome: PaymentEnd,
    pub settled_at: OffsetDateTime,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResolveRefusal {
    #[error("AML case {0} is already resolved")]
    AlreadyResolved(CaseId),
    #[error("Compliance officers may not resolve cases about their own payments")]
    OwnPayment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmlCase {
    pub id: CaseId,
    /// The payment as it was held.
    pub payment: PaymentSnapshot,
    pub hold_reasons: Vec<String>,
    /// When payment held the transfer (the event's time).
    pub held_at: OffsetDateTime,
    /// When compliance opened the case.
    pub opened_at: OffsetDateTime,
    pub decision: Option<Decision>,
    /// How the payment ended; the case is closed once this is known.
    pub settlement: Option<Settlement>,
    /// 1 when opened, one more with each change: the optimistic-concurrency guard.
    pub version: u64,
}

impl AmlCase {
    /// The case for a held payment. When payment already reported the payment's end (its
    /// events can arrive in any order), the case opens resolved and closed: there is nothing
    /// left for a person to decide.
    pub fn open(
        id: CaseId,
        payment: PaymentSnapshot,
        hold_reasons: Vec<String>,
        held_at: OffsetDateTime,
        known_end: Option<Settlement>,
        now: OffsetDateTime,
    ) -> AmlCase {
        AmlCase {
            id,
            payment,
            hold_reasons,
            held_at,
            opened_at: now,
            decision: None,
            settlement: known_end,
            version: 1,
        }
    }

    pub fn status(&self) -> CaseStatus {
        if self.decision.is_none() && self.settlement.is_none() {
            CaseStatus::Open
        } else {
            CaseStatus::Resolved
        }
    }

    pub fn closed_at(&self) -> Option<OffsetDateTime> {
        self.settlement.as_ref().map(|s| s.settled_at)
    }

    /// A compliance officer decides the open case. Nobody decides a case about a payment they
    /// sent or received.
    pub fn resolve(
        &self,
        action: CaseAction,
        officer: UserId,
        note: Option<String>,
        now: OffsetDateTime,
    ) -> Result<AmlCase, ResolveRefusal> {
        if self.status() != CaseStatus::Open {
            return Err(ResolveRefusal::AlreadyResolved(self.id));
        }
        if officer == self.payment.payer_id || officer == self.payment.payee_id {
            return Err(ResolveRefusal::OwnPayment);
        }
        Ok(AmlCase {
            decision: Some(Decision {
                action,
                resolved_by: officer,
                resolved_at: now,
                note,
            }),
            version: self.version + 1,
            ..self.clone()
        })
    }

    /// The event that asks payment to carry out the decision.
    pub fn resolution_event(&self) -> Option<AmlCaseResolved> {
        self.decision.as_ref().map(|decision| AmlCaseResolved {
            case_id: self.id,
            payment_id: self.payment.payment_id,
            action: decision.action,
            resolved_by: decision.resolved_by,
            note: decision.note.clone(),
        })
    }

    /// Closes the case with the payment's end; `None` when it is already closed (the first
    /// report stands, so a redelivered or replayed event changes nothing).
    pub fn settle(&self, settlement: Settlement) -> Option<AmlCase> {
        if self.settlement.is_some() {
            return None;
        }
        Some(AmlCase {
            settlement: Some(settlement),
            version: self.version + 1,
            ..self.clone()
        })
    }
}

/// A staff resolution request, every field checked: the action, and an optional note
/// (trimmed; blank means none).
pub fn parse_resolution(
    action: &str,
    note: Option<&str>,
) -> Result<(CaseAction, Option<String>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let action = parse_action(action);
    if action.is_none() {
        errors.push(FieldError::new("action", "must be one of release, void"));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_LENGTH) {
        errors.push(FieldError::new("note", "must be at most 500 characters"));
    }
    match action {
        Some(action) if errors.is_empty() => Ok((action, note.map(str::to_owned))),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use finflow_shared::currency::Currency;
    use finflow_shared::{Money, PaymentId, PositiveAmount, WalletId};
    use time::macros::datetime;

    use super::*;

    const PAYER: UserId = UserId::new(10);
    const PAYEE: UserId = UserId::new(11);
    const OFFICER: UserId = UserId::new(99);

    fn snapshot() -> PaymentSnapshot {
        PaymentSnapshot {
            payment_id: PaymentId::new(7),
            from_wallet_id: WalletId::new(1),
            to_wallet_id: WalletId::new(2),
            payer_id: PAYER,
            payee_id: PAYEE,
            amount: PositiveAmount::new(Money::parse("950").unwrap()).unwrap(),
            currency: Currency::parse("USD").unwrap(),
            status: PaymentStatus::OnHold,
            description: None,
        }
    }

    fn held() -> AmlCase {
        AmlCase::open(
            CaseId::new(3),
            snapshot(),
            vec!["structuring".into()],
            datetime!(2026-01-01 10:00 UTC),
            None,
            datetime!(2026-01-01 10:00:01 UTC),
        )
    }

    fn end(outcome: PaymentEnd) -> Settlement {
        Settlement {
            outcome,
            settled_at: datetime!(2026-01-01 11:00 UTC),
            detail: None,
        }
    }

    #[test]
    fn a_held_payment_opens_a_case_for_a_person() {
        let case = held();
        assert_eq!((case.status(), case.version), (CaseStatus::Open, 1));
        assert_eq!(case.closed_at(), None);
        assert_eq!(case.resolution_event(), None);
    }

    #[test]
    fn staff_resolve_once_and_the_decision_becomes_the_event() {
        let now = datetime!(2026-01-01 10:30 UTC);
        let resolved = held()
            .resolve(
                CaseAction::Release,
                OFFICER,
                Some("known payee".into()),
                now,
            )
            .unwrap();
        assert_eq!(
            (resolved.status(), resolved.version),
            (CaseStatus::Resolved, 2)
        );
        assert_eq!(
            resolved.resolution_event().unwrap(),
            AmlCaseResolved {
                case_id: CaseId::new(3),
                payment_id: PaymentId::new(7),
                action: CaseAction::Release,
                resolved_by: OFFICER,
                note: Some("known payee".into()),
            }
        );
        assert_eq!(
            resolved.resolve(CaseAction::Void, OFFICER, None, now),
            Err(ResolveRefusal::AlreadyResolved(CaseId::new(3)))
        );
    }

    #[test]
    fn nobody_resolves_a_case_about_their_own_payment() {
        let now = datetime!(2026-01-01 10:30 UTC);
        for party in [PAYER, PAYEE] {
            assert_eq!(
                held().resolve(CaseAction::Release, party, None, now),
                Err(ResolveRefusal::OwnPayment)
            );
        }
    }

    #[test]
    fn the_payments_end_closes_the_case_once() {
        // After a staff decision: still resolved, now closed with the outcome.
        let decided = held()
            .resolve(
                CaseAction::Void,
                OFFICER,
                None,
                datetime!(2026-01-01 10:30 UTC),
            )
            .unwrap();
        let closed = decided.settle(end(PaymentEnd::Voided)).unwrap();
        assert_eq!((closed.status(), closed.version), (CaseStatus::Resolved, 3));
        assert_eq!(closed.closed_at(), Some(datetime!(2026-01-01 11:00 UTC)));
        assert_eq!(closed.decision, decided.decision);
        assert_eq!(
            closed.settle(end(PaymentEnd::Failed)),
            None,
            "first report stands"
        );

        // Without one (the payment failed on its own): the case is no longer open.
        let failed = held().settle(end(PaymentEnd::Failed)).unwrap();
        assert_eq!(failed.status(), CaseStatus::Resolved);
        assert_eq!(
            failed.resolve(
                CaseAction::Release,
                OFFICER,
                None,
                datetime!(2026-01-01 12:00 UTC)
            ),
            Err(ResolveRefusal::AlreadyResolved(CaseId::new(3))),
            "nothing is left to decide"
        );
    }

    #[test]
    fn a_hold_reported_after_the_payments_end_opens_no_open_case() {
        let case = AmlCase::open(
            CaseId::new(4),
            snapshot(),
            vec![],
            datetime!(2026-01-01 10:00 UTC),
            Some(end(PaymentEnd::Released)),
            datetime!(2026-01-01 11:00:01 UTC),
        );
        assert_eq!(case.status(), CaseStatus::Resolved);
        assert_eq!(case.decision, None);
        assert_eq!(case.settle(end(PaymentEnd::Released)), None);
    }

    #[test]
    fn resolution_requests_are_checked_field_by_field() {
        assert_eq!(
            parse_resolution("release", Some("  ok  ")).unwrap(),
            (CaseAction::Release, Some("ok".into()))
        );
        assert_eq!(
            parse_resolution("void", Some("   ")).unwrap(),
            (CaseAction::Void, None)
        );
        let errors = parse_resolution("approve", Some(&"x".repeat(501))).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["action", "note"]);
        assert!(
            parse_resolution("Release", None).is_err(),
            "exact values only"
        );
    }

    #[test]
    fn names_round_trip() {
        for status in [CaseStatus::Open, CaseStatus::Resolved] {
            assert_eq!(CaseStatus::parse(status.as_str()), Some(status));
        }
        for end in [PaymentEnd::Released, PaymentEnd::Voided, PaymentEnd::Failed] {
            assert_eq!(PaymentEnd::parse(end.as_str()), Some(end));
        }
        assert_eq!(
            PaymentEnd::Released.payment_status(),
            PaymentStatus::Completed
        );
        assert_eq!(PaymentEnd::Voided.payment_status(), PaymentStatus::Failed);
        for action in [CaseAction::Release, CaseAction::Void] {
            assert_eq!(parse_action(action_str(action)), Some(action));
        }
    }
}
