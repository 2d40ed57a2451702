//! AML monitoring: the compliance side of payment's events. From `payment.completed` and
//! `payment.on_hold` it keeps each payer's velocity state; a hold opens a case for a
//! compliance officer; `payment.released`, `.voided` and `.failed` close the payment's case
//! with the outcome.
//!
//! Each event is applied once: its inbox marker is part of the same transaction as its
//! changes. Events may arrive in any order: a payment's end is remembered even before its
//! hold is known, and a hold reported after the end opens its case already resolved, so no
//! case stays open for a payment that is settled.

use std::sync::Arc;

use async_trait::async_trait;
use finflow_shared::CaseId;
use finflow_shared::consumer::{BusMessage, ConsumeError, EventConsumer, InboxMarker, Outcome};
use finflow_shared::contracts::{EventRead, Field};
use finflow_shared::events::EventEnvelope;
use finflow_shared::events::payment::{
    PaymentCompleted, PaymentFailed, PaymentOnHold, PaymentReleased, PaymentSnapshot, PaymentVoided,
};
use finflow_shared::retry::RetryPolicy;
use time::OffsetDateTime;

use super::activity::ActivityChange;
use super::case::{AmlCase, PaymentEnd, Settlement};
use super::store::{AmlStore, AmlWriteError, CaseChange, MonitoringWrite};

pub const CONSUMER: &str = "kyc.aml-monitoring";

/// The payment's snapshot (kept on the case, description included), decoded whole from every
/// payment event: velocity sums the amounts per payer, currency and day; what happened is
/// told by the event's type, the snapshot's status is kept as it is.
macro_rules! payment_event {
    ($event:ty $(, $extra:expr)*) => {
        EventRead::whole::<$event>(&[
            Field::value("/payment_id"),
            Field::value("/payer_id"),
            Field::value("/payee_id"),
            Field::money("/amount", 4),
            Field::value("/currency"),
            Field::value("/status"),
            Field::value("/description").optional(),
            $($extra),*
        ])
    };
}

pub const READS: &[EventRead] = &[
    payment_event!(PaymentCompleted),
    payment_event!(PaymentOnHold, Field::value("/reasons")),
    payment_event!(PaymentReleased, Field::value("/case_id")),
    payment_event!(PaymentVoided, Field::value("/case_id")),
    payment_event!(PaymentFailed, Field::value("/reason")),
];

/// Writes retry this often when the case or the payment's record changed since it was read.
const WRITES: RetryPolicy = RetryPolicy::new(CONSUMER, 8);

/// A payment event, as monitoring reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentFact {
    /// Payment accepted a transfer: completed at once, or held with these reasons.
    Sent {
        payment: PaymentSnapshot,
        hold_reasons: Option<Vec<String>>,
    },
    /// A held payment ended.
    Ended {
        payment: PaymentSnapshot,
        settlement: Settlement,
    },
}

impl PaymentFact {
    /// The fact an envelope carries; `None` for events monitoring does not watch.
    pub fn of(event: &EventEnvelope) -> Result<Option<PaymentFact>, ConsumeError> {
        let malformed =
            |e: finflow_shared::events::EnvelopeError| ConsumeError::Malformed(e.to_string());
        let ended =
            |payment: PaymentSnapshot, outcome: PaymentEnd, detail: String| PaymentFact::Ended {
                payment,
                settlement: Settlement {
                    outcome,
                    settled_at: event.occurred_at,
                    detail: Some(detail),
                },
            };
        Ok(Some(if event.is::<PaymentCompleted>() {
            PaymentFact::Sent {
                payment: event
                    .decode::<PaymentCompleted>()
                    .map_err(malformed)?
                    .payment,
                hold_reasons: None,
            }
        } else if event.is::<PaymentOnHold>() {
            let held = event.decode::<PaymentOnHold>().map_err(malformed)?;
            PaymentFact::Sent {
                payment: held.payment,
                hold_reasons: Some(held.reasons),
            }
        } else if event.is::<PaymentReleased>() {
            let released = event.decode::<PaymentReleased>().map_err(malformed)?;
            ended(
                released.payment,
                PaymentEnd::Released,
                format!("released by payment for AML case {}", released.case_id),
            )
        } else if event.is::<PaymentVoided>() {
            let voided = event.decode::<PaymentVoided>().map_err(malformed)?;
            ended(
                voided.payment,
                PaymentEnd::Voided,
                format!("voided by payment for AML case {}", voided.case_id),
            )
        } else if event.is::<PaymentFailed>() {
            let failed = event.decode::<PaymentFailed>().map_err(malformed)?;
            ended(failed.payment, PaymentEnd::Failed, failed.reason)
        } else {
            return Ok(None);
        }))
    }
}

pub struct AmlMonitoring {
    store: Arc<dyn AmlStore>,
}

impl AmlMonitoring {
    pub fn new(store: Arc<dyn AmlStore>) -> Self {
        AmlMonitoring { store }
    }

    /// Applies `fact`, carried by the event `event_id` that payment committed at `at`.
    pub async fn apply(
        &self,
        fact: PaymentFact,
        event_id: uuid::Uuid,
        at: OffsetDateTime,
    ) -> Result<Outcome, ConsumeError> {
        let inbox = InboxMarker {
            consumer: CONSUMER,
            event_id,
        };
        match fact {
            PaymentFact::Sent {
                payment,
                hold_reasons: None,
            } => {
                let write = MonitoringWrite {
                    inbox,
                    activity: Some(ActivityChange::transfer(&payment, at, false)),
                    payment: None,
                    case: None,
                };
                self.write_once(write, Outcome::Applied).await
            }
            PaymentFact::Sent {
                payment,
                hold_reasons: Some(reasons),
            } => self.open_case(payment, reasons, inbox, at).await,
            PaymentFact::Ended {
                payment,
                settlement,
            } => self.close_case(payment, settlement, inbox).await,
        }
    }

    async fn open_case(
        &self,
        payment: PaymentSnapshot,
        reasons: Vec<String>,
        inbox: InboxMarker,
        held_at: OffsetDateTime,
    ) -> Result<Outcome, ConsumeError> {
        let mut case_id = None;
        let mut attempts = WRITES.attempts();
        while attempts.next().await.is_some() {
            let watched = self
                .store
                .watched_payment(payment.payment_id)
                .await
                .map_err(ConsumeError::failed)?;
            if watched.case_id.is_some() {
                // Another event already opened it: only remember this one.
                return self.write_once(inbox_only(inbox), Outcome::Ignored).await;
            }
            // One id for every attempt: only a committed case uses it.
            let id = match case_id {
                Some(id) => id,
                None => *case_id.insert(
                    self.store
                        .allocate_case_id()
                        .await
                        .map_err(ConsumeError::failed)?,
                ),
            };
            let case = AmlCase::open(
                id,
                payment.clone(),
                reasons.clone(),
                held_at,
                watched.settlement.clone(),
                OffsetDateTime::now_utc(),
            );
            let status = case.status();
            let write = MonitoringWrite {
                inbox,
                activity: Some(ActivityChange::transfer(&payment, held_at, true)),
                payment: Some(watched.with_case(id)),
                case: Some(CaseChange {
                    case,
                    previous: None,
                }),
            };
            match self.store.record(write).await {
                Ok(()) => {
                    tracing::info!(
                        case_id = id.get(),
                        payment_id = payment.payment_id.get(),
                        status = status.as_str(),
                        "AML case opened"
                    );
                    return Ok(Outcome::Applied);
                }
                Err(AmlWriteError::AlreadyApplied) => return Ok(Outcome::Duplicate),
                Err(AmlWriteError::Conflict) => continue,
                Err(AmlWriteError::Store(error)) => return Err(ConsumeError::failed(error)),
            }
        }
        Err(ConsumeError::Failed(format!(
            "payment {} kept changing; will retry",
            payment.payment_id
        )))
    }

    async fn close_case(
        &self,
        payment: PaymentSnapshot,
        settlement: Settlement,
        inbox: InboxMarker,
    ) -> Result<Outcome, ConsumeError> {
        let mut attempts = WRITES.attempts();
        while attempts.next().await.is_some() {
            let watched = self
                .store
                .watched_payment(payment.payment_id)
                .await
                .map_err(ConsumeError::failed)?;
            if watched.settlement.is_some() {
                // The payment's end is known already; the first report stands.
                return self.write_once(inbox_only(inbox), Outcome::Ignored).await;
            }
            let case = match watched.case_id {
                Some(id) => Some(
                    self.store
                        .case(id)
                        .await
                        .map_err(ConsumeError::failed)?
                        .ok_or_else(|| {
                            ConsumeError::Failed(format!("AML case {id} is referenced but missing"))
                        })?,
                ),
                None => None,
            };
            let change = case.as_ref().and_then(|case| {
                case.settle(settlement.clone()).map(|settled| CaseChange {
                    case: settled,
                    previous: Some(case.status()),
                })
            });
            let write = MonitoringWrite {
                inbox,
                activity: Some(ActivityChange::hold_ended(&payment, settlement.outcome)),
                payment: Some(watched.with_settlement(settlement.clone())),
                case: change,
            };
            match self.store.record(write).await {
                Ok(()) => {
                    tracing::info!(
                        case_id = watched.case_id.map(CaseId::get),
                        payment_id = payment.payment_id.get(),
                        outcome = settlement.outcome.as_str(),
                        "held payment ended; AML case closed"
                    );
                    return Ok(Outcome::Applied);
                }
                Err(AmlWriteError::AlreadyApplied) => return Ok(Outcome::Duplicate),
                Err(AmlWriteError::Conflict) => continue,
                Err(AmlWriteError::Store(error)) => return Err(ConsumeError::failed(error)),
            }
        }
        Err(ConsumeError::Failed(format!(
            "payment {} kept changing; will retry",
            payment.payment_id
        )))
    }

    /// A write with nothing to re-read on conflict: the inbox decides duplicate or not.
    async fn write_once(
        &self,
        write: MonitoringWrite,
        outcome: Outcome,
    ) -> Result<Outcome, ConsumeError> {
        match self.store.record(write).await {
            Ok(()) => Ok(outcome),
            Err(AmlWriteError::AlreadyApplied) => Ok(Outcome::Duplicate),
            Err(error) => Err(ConsumeError::Failed(error.to_string())),
        }
    }
}

fn inbox_only(inbox: InboxMarker) -> MonitoringWrite {
    MonitoringWrite {
        inbox,
        activity: None,
        payment: None,
        case: None,
    }
}

#[async_trait]
impl EventConsumer for AmlMonitoring {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn reads(&self) -> &'static [EventRead] {
        READS
    }

    async fn consume(&self, message: &BusMessage) -> Result<Outcome, ConsumeError> {
        let event = &message.detail;
        match PaymentFact::of(event)? {
            Some(fact) => self.apply(fact, event.event_id, event.occurred_at).await,
            None => Ok(Outcome::Ignored),
        }
    }
}

#[cfg(test)]
mod tests {
    use finflow_shared::Money;
    use finflow_shared::events::payment::PaymentStatus;
    use finflow_shared::events::{Causality, DomainEvent};
    use finflow_shared::trace::TraceId;
    use finflow_shared::{PaymentId, UserId};
    use time::macros::datetime;

    use super::*;
    use crate::aml::case::CaseStatus;
    use crate::aml::cases::AmlCases;
    use crate::aml::memory::MemoryAmlStore;
    use crate::aml::memory::fixtures::{PAYER, officer, payment};

    fn setup() -> (Arc<MemoryAmlStore>, AmlMonitoring) {
        let store = Arc::new(MemoryAmlStore::default());
        (store.clone(), AmlMonitoring::new(store))
    }

    fn envelope<E: DomainEvent>(event: &E, at: OffsetDateTime) -> EventEnvelope {
        let mut envelope = EventEnvelope::new(event, &Causality::from_request(TraceId::generate()));
        envelope.occurred_at = at;
        envelope
    }

    async fn deliver(monitoring: &AmlMonitoring, event: &EventEnvelope) -> Outcome {
        let fact = PaymentFact::of(event).unwrap().expect("a watched event");
        monitoring
            .apply(fact, event.event_id, event.occurred_at)
            .await
            .unwrap()
    }

    fn on_hold(id: PaymentId, amount: &str) -> EventEnvelope {
        envelope(
            &PaymentOnHold {
                payment: payment(id, amount, PaymentStatus::OnHold),
                reasons: vec!["structuring: amount just under the per-transaction limit".into()],
            },
            datetime!(2026-05-04 09:00 UTC),
        )
    }

    fn released(id: PaymentId, amount: &str, case_id: CaseId) -> EventEnvelope {
        envelope(
            &PaymentReleased {
                payment: payment(id, amount, PaymentStatus::Completed),
                case_id,
            },
            datetime!(2026-05-04 09:05 UTC),
        )
    }

    fn failed_event(id: PaymentId, amount: &str) -> EventEnvelope {
        envelope(
            &PaymentFailed {
                payment: payment(id, amount, PaymentStatus::Failed),
                reason: "wallet 2 cannot receive it".into(),
            },
            datetime!(2026-05-04 09:06 UTC),
        )
    }

    #[tokio::test]
    async fn a_completed_transfer_counts_once_and_opens_no_case() {
        let (store, monitoring) = setup();
        let completed = envelope(
            &PaymentCompleted {
                payment: payment(PaymentId::new(1), "100.25", PaymentStatus::Completed),
            },
            datetime!(2026-05-04 23:59 UTC),
        );
        assert_eq!(deliver(&monitoring, &completed).await, Outcome::Applied);
        assert_eq!(deliver(&monitoring, &completed).await, Outcome::Duplicate);
        assert!(store.all_cases().is_empty());
        let activity = store.activity(PAYER).await.unwrap();
        assert_eq!(activity.days.len(), 1);
        let day = &activity.days[0];
        assert_eq!(
            (day.day.as_str(), day.sent_count, day.sent_volume),
            ("2026-05-04", 1, Money::parse("100.25").unwrap())
        );
        assert_eq!(activity.holds, 0);
    }

    #[tokio::test]
    async fn a_hold_opens_one_case_that_staff_resolve_and_the_release_closes() {
        let (store, monitoring) = setup();
        let hold = on_hold(PaymentId::new(7), "950");
        assert_eq!(deliver(&monitoring, &hold).await, Outcome::Applied);
        assert_eq!(deliver(&monitoring, &hold).await, Outcome::Duplicate);
        let cases = store.all_cases();
        assert_eq!(cases.len(), 1, "one case per hold");
        let case = &cases[0];
        assert_eq!(
            (case.status(), case.payment.payment_id),
            (CaseStatus::Open, PaymentId::new(7))
        );
        assert_eq!(case.held_at, datetime!(2026-05-04 09:00 UTC));
        assert!(case.hold_reasons[0].starts_with("structuring"));

        let staff = AmlCases::new(store.clone());
        let causality = Causality::from_request(TraceId::generate());
        staff
            .resolve(
                &officer(),
                case.id,
                "release",
                Some("known payee"),
                &causality,
            )
            .await
            .unwrap();
        assert_eq!(store.events().len(), 1);

        let release = released(PaymentId::new(7), "950", case.id);
        assert_eq!(deliver(&monitoring, &release).await, Outcome::Applied);
        assert_eq!(deliver(&monitoring, &release).await, Outcome::Duplicate);
        let closed = store.case(case.id).await.unwrap().unwrap();
        assert_eq!(closed.status(), CaseStatus::Resolved);
        assert_eq!(
            closed.settlement.as_ref().unwrap().outcome,
            PaymentEnd::Released
        );
        assert_eq!(closed.closed_at(), Some(datetime!(2026-05-04 09:05 UTC)));
        assert!(closed.decision.is_some(), "the decision is kept");

        let activity = store.activity(PAYER).await.unwrap();
        assert_eq!(
            (activity.holds, activity.released, activity.open_holds()),
            (1, 1, 0)
        );
        assert_eq!(activity.days[0].sent_count, 1, "the hold counted once");
    }

    #[tokio::test]
    async fn an_end_reported_before_its_hold_leaves_no_open_case() {
        let (store, monitoring) = setup();
        let release = released(PaymentId::new(8), "960", CaseId::new(3));
        assert_eq!(deliver(&monitoring, &release).await, Outcome::Applied);
        assert!(store.all_cases().is_empty());
        assert_eq!(
            deliver(&monitoring, &on_hold(PaymentId::new(8), "960")).await,
            Outcome::Applied
        );
        let cases = store.all_cases();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].status(), CaseStatus::Resolved);
        assert_eq!(
            cases[0].settlement.as_ref().unwrap().outcome,
            PaymentEnd::Released
        );
        let staff = AmlCases::new(store.clone());
        let open = staff
            .list(&officer(), Some(CaseStatus::Open), 20, None)
            .await
            .unwrap();
        assert!(open.cases.is_empty());
    }

    #[tokio::test]
    async fn a_payment_that_fails_on_its_own_closes_its_open_case() {
        let (store, monitoring) = setup();
        deliver(&monitoring, &on_hold(PaymentId::new(9), "990")).await;
        let id = store.all_cases()[0].id;
        assert_eq!(
            deliver(&monitoring, &failed_event(PaymentId::new(9), "990")).await,
            Outcome::Applied
        );
        // A later end for the same payment (e.g. a replay under a new id) changes nothing.
        assert_eq!(
            deliver(&monitoring, &released(PaymentId::new(9), "990", id)).await,
            Outcome::Ignored
        );
        let case = store.case(id).await.unwrap().unwrap();
        assert_eq!(case.status(), CaseStatus::Resolved);
        let settlement = case.settlement.unwrap();
        assert_eq!(settlement.outcome, PaymentEnd::Failed);
        assert_eq!(
            settlement.detail.as_deref(),
            Some("wallet 2 cannot receive it")
        );
        let resolve = AmlCases::new(store.clone())
            .resolve(
                &officer(),
                id,
                "void",
                None,
                &Causality::from_request(TraceId::generate()),
            )
            .await;
        assert_eq!(resolve.unwrap_err().status().as_u16(), 409);
        assert!(store.events().is_empty(), "nothing was emitted");
    }

    #[tokio::test]
    async fn concurrent_changes_are_retried_not_lost() {
        let (store, monitoring) = setup();
        *store.conflicts_to_inject.lock().unwrap() = 3;
        assert_eq!(
            deliver(&monitoring, &on_hold(PaymentId::new(11), "950")).await,
            Outcome::Applied
        );
        let cases = store.all_cases();
        assert_eq!(cases.len(), 1);
        assert_eq!(
            cases[0].id,
            CaseId::new(1),
            "retries reuse the allocated case id"
        );
    }

    #[tokio::test]
    async fn events_monitoring_does_not_watch_are_ignored() {
        use finflow_shared::events::aml::{AmlCaseResolved, CaseAction};
        let other = envelope(
            &AmlCaseResolved {
                case_id: CaseId::new(1),
                payment_id: PaymentId::new(1),
                action: CaseAction::Void,
                resolved_by: UserId::new(1),
                note: None,
            },
            datetime!(2026-05-04 09:00 UTC),
        );
        assert_eq!(PaymentFact::of(&other).unwrap(), None);
        let mut broken = on_hold(PaymentId::new(1), "1");
        broken.data = serde_json::json!({"payment_id": "x"});
        assert!(matches!(
            PaymentFact::of(&broken),
            Err(ConsumeError::Malformed(_))
        ));
    }
}
