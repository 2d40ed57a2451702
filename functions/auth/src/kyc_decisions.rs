//! The reverse cascade: KYC's decisions become the user's `kyc_status`. Each
//! `kyc.decision_recorded` is applied in one transaction with the inbox marker and, when the
//! status changes, the `user.kyc_updated` event that carries it on to every other service.

use std::sync::Arc;

use async_trait::async_trait;
use finflow_shared::consumer::{BusMessage, ConsumeError, EventConsumer, InboxMarker, Outcome};
use finflow_shared::contracts::{EventRead, Field};
use finflow_shared::events::kyc::KycDecisionRecorded;
use finflow_shared::events::user::UserKycUpdated;
use finflow_shared::events::{Causality, EventEnvelope};
use finflow_shared::retry::RetryPolicy;
use time::OffsetDateTime;

use crate::domain::KycDecisionEffect;
use crate::store::{EventWriteError, UserStore};

pub const CONSUMER: &str = "auth.kyc_decisions";
/// The decision, decoded whole: each decision maps to a KYC status (`manual_review` leaves it
/// pending), applied in `sequence` order.
pub const READS: &[EventRead] = &[EventRead::whole::<KycDecisionRecorded>(&[
    Field::value("/user_id"),
    Field::matches("/decision", &["verified", "rejected", "manual_review"]),
    Field::value("/sequence"),
    Field::decoded("/document_type"),
])];
/// Concurrent changes to one user (a tier change, another decision) are rare and brief; after
/// this many re-reads the message goes back to the queue, which retries it later.
const WRITES: RetryPolicy = RetryPolicy::new(CONSUMER, 5);

pub struct KycDecisionConsumer {
    store: Arc<dyn UserStore>,
}

impl KycDecisionConsumer {
    pub fn new(store: Arc<dyn UserStore>) -> Self {
        KycDecisionConsumer { store }
    }

    /// One read-decide-write attempt; `None` when the user changed concurrently.
    async fn attempt(
        &self,
        envelope: &EventEnvelope,
        decision: &KycDecisionRecorded,
        inbox: InboxMarker,
    ) -> Result<Option<Outcome>, ConsumeError> {
        let failed = |e: &dyn std::fmt::Display| ConsumeError::Failed(e.to_string());
        let user = self
            .store
            .find_user(decision.user_id)
            .await
            .map_err(|e| failed(&e))?
            // KYC only decides for registered users; auth should know this one. Retrying lets
            // a transient inconsistency pass and sends a persistent one to the DLQ.
            .ok_or_else(|| {
                ConsumeError::Failed(format!("user {} is not known", decision.user_id))
            })?;
        let effect = user.apply_kyc_decision(
            decision.decision,
            decision.sequence,
            OffsetDateTime::now_utc(),
        );
        let (updated, event) = match effect {
            KycDecisionEffect::Stale => {
                let first_time = self
                    .store
                    .mark_processed(inbox)
                    .await
                    .map_err(|e| failed(&e))?;
                return Ok(Some(if first_time {
                    Outcome::Ignored
                } else {
                    Outcome::Duplicate
                }));
            }
            KycDecisionEffect::Recorded(updated) => (updated, None),
            KycDecisionEffect::Changed(updated) => {
                let event = EventEnvelope::new(
                    &UserKycUpdated {
                        user: updated.snapshot(),
                        previous_kyc_status: user.kyc_status,
                    },
                    &Causality::caused_by(envelope),
                );
                (updated, Some(event))
            }
        };
        match self
            .store
            .update_user_for_event(&updated, event.as_ref(), inbox)
            .await
        {
            Ok(()) => {
                tracing::info!(
                    user_id = updated.id.get(),
                    kyc_status = updated.kyc_status.as_str(),
                    sequence = decision.sequence,
                    changed = event.is_some(),
                    "KYC decision applied"
                );
                Ok(Some(Outcome::Applied))
            }
            Err(EventWriteError::AlreadyProcessed) => Ok(Some(Outcome::Duplicate)),
            Err(EventWriteError::Conflict) => Ok(None),
            Err(EventWriteError::Store(e)) => Err(failed(&e)),
        }
    }
}

#[async_trait]
impl EventConsumer for KycDecisionConsumer {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn reads(&self) -> &'static [EventRead] {
        READS
    }

    async fn consume(&self, message: &BusMessage) -> Result<Outcome, ConsumeError> {
        let envelope = &message.detail;
        if !envelope.is::<KycDecisionRecorded>() {
            return Ok(Outcome::Ignored);
        }
        let decision = envelope
            .decode::<KycDecisionRecorded>()
            .map_err(|e| ConsumeError::Malformed(e.to_string()))?;
        let inbox = InboxMarker {
            consumer: CONSUMER,
            event_id: envelope.event_id,
        };
        let mut attempts = WRITES.attempts();
        while attempts.next().await.is_some() {
            if let Some(outcome) = self.attempt(envelope, &decision, inbox).await? {
                return Ok(outcome);
            }
        }
        Err(ConsumeError::Failed(format!(
            "user {} kept changing concurrently",
            decision.user_id
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use finflow_shared::UserId;
    use finflow_shared::customer::KycStatus;
    use finflow_shared::dynamo::StoreError;
    use finflow_shared::events::kyc::{DecidedBy, DocumentType, KycDecision};
    use finflow_shared::trace::TraceId;
    use uuid::Uuid;

    use super::*;
    use crate::domain::{Email, Registration, Session, User};
    use crate::store::{RoleChangeRecord, WriteError};

    /// One user in memory, with the store's version condition and inbox, and a number of
    /// writes to fail as if someone else had changed the user first.
    struct OneUser {
        user: Mutex<User>,
        inbox: Mutex<HashSet<Uuid>>,
        events: Mutex<Vec<EventEnvelope>>,
        conflicts_to_inject: Mutex<u32>,
    }

    impl OneUser {
        fn new() -> Self {
            let user = Registration::parse("a@example.com", "password123", "Alice")
                .ok()
                .unwrap()
                .into_user(UserId::new(1), "hash".into(), OffsetDateTime::now_utc());
            OneUser {
                user: Mutex::new(user),
                inbox: Mutex::new(HashSet::new()),
                events: Mutex::new(Vec::new()),
                conflicts_to_inject: Mutex::new(0),
            }
        }
    }

    #[async_trait]
    impl UserStore for OneUser {
        async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
            let user = self.user.lock().unwrap().clone();
            Ok((user.id == id).then_some(user))
        }
        async fn update_user_for_event(
            &self,
            updated: &User,
            event: Option<&EventEnvelope>,
            inbox: InboxMarker,
        ) -> Result<(), EventWriteError> {
            if self.inbox.lock().unwrap().contains(&inbox.event_id) {
                return Err(EventWriteError::AlreadyProcessed);
            }
            let mut conflicts = self.conflicts_to_inject.lock().unwrap();
            let mut user = self.user.lock().unwrap();
            if *conflicts > 0 {
                *conflicts -= 1;
                // Someone else's change lands first.
                user.version += 1;
            }
            if user.version + 1 != updated.version {
                return Err(EventWriteError::Conflict);
            }
            *user = updated.clone();
            self.inbox.lock().unwrap().insert(inbox.event_id);
            self.events.lock().unwrap().extend(event.cloned());
            Ok(())
        }
        async fn mark_processed(&self, inbox: InboxMarker) -> Result<bool, StoreError> {
            Ok(self.inbox.lock().unwrap().insert(inbox.event_id))
        }
        async fn allocate_user_id(&self) -> Result<UserId, StoreError> {
            unimplemented!()
        }
        async fn create_user(&self, _: &User, _: &EventEnvelope) -> Result<(), WriteError> {
            unimplemented!()
        }
        async fn find_user_by_email(&self, _: &Email) -> Result<Option<User>, StoreError> {
            unimplemented!()
        }
        async fn update_user(&self, _: &User, _: &EventEnvelope) -> Result<(), WriteError> {
            unimplemented!()
        }
        async fn change_role(
            &self,
            _: &User,
            _: &RoleChangeRecord,
            _: &EventEnvelope,
        ) -> Result<(), WriteError> {
            unimplemented!()
        }
        async fn create_session(&self, _: &Session) -> Result<(), StoreError> {
            unimplemented!()
        }
        async fn find_session(&self, _: &str) -> Result<Option<Session>, StoreError> {
            unimplemented!()
        }
        async fn rotate_refresh_token(
            &self,
            _: &str,
            _: &str,
            _: &str,
        ) -> Result<bool, StoreError> {
            unimplemented!()
        }
        async fn revoke_session(&self, _: &str) -> Result<(), StoreError> {
            unimplemented!()
        }
    }

    fn message(decision: KycDecision, sequence: u64) -> BusMessage {
        let envelope = EventEnvelope::new(
            &KycDecisionRecorded {
                user_id: UserId::new(1),
                submission_id: 1,
                document_type: DocumentType::Passport,
                decision,
                risk_score: 25,
                reasons: vec![],
                decided_by: DecidedBy::Automatic,
                sequence,
            },
            &Causality::from_request(TraceId::generate()),
        );
        BusMessage {
            id: "m".into(),
            detail_type: envelope.event_type.clone(),
            source: envelope.source(),
            replay_name: None,
            detail: envelope,
        }
    }

    fn setup() -> (Arc<OneUser>, KycDecisionConsumer) {
        let store = Arc::new(OneUser::new());
        (store.clone(), KycDecisionConsumer::new(store))
    }

    #[tokio::test]
    async fn a_verification_updates_the_user_and_announces_it_in_the_same_trace() {
        let (store, consumer) = setup();
        let message = message(KycDecision::Verified, 1);
        assert_eq!(consumer.consume(&message).await.unwrap(), Outcome::Applied);
        let user = store.user.lock().unwrap().clone();
        assert_eq!((user.kyc_status, user.version), (KycStatus::Verified, 2));
        let events = store.events.lock().unwrap().clone();
        assert_eq!(events.len(), 1);
        let updated: UserKycUpdated = events[0].decode().unwrap();
        assert_eq!(updated.previous_kyc_status, KycStatus::Pending);
        assert_eq!(updated.user.kyc_status, KycStatus::Verified);
        assert_eq!(events[0].trace_id, message.detail.trace_id);
        assert_eq!(events[0].causation_id, Some(message.detail.event_id));
        // A redelivery acts once.
        assert_eq!(
            consumer.consume(&message).await.unwrap(),
            Outcome::Duplicate
        );
        assert_eq!(store.events.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_older_decision_arriving_late_is_ignored() {
        let (store, consumer) = setup();
        let review = message(KycDecision::ManualReview, 1);
        let rejected = message(KycDecision::Rejected, 2);
        assert_eq!(consumer.consume(&rejected).await.unwrap(), Outcome::Applied);
        assert_eq!(consumer.consume(&review).await.unwrap(), Outcome::Ignored);
        assert_eq!(consumer.consume(&review).await.unwrap(), Outcome::Duplicate);
        let user = store.user.lock().unwrap().clone();
        assert_eq!(
            (user.kyc_status, user.kyc_decision_sequence),
            (KycStatus::Rejected, 2)
        );
    }

    #[tokio::test]
    async fn manual_review_records_the_sequence_without_an_event() {
        let (store, consumer) = setup();
        let review = message(KycDecision::ManualReview, 1);
        assert_eq!(consumer.consume(&review).await.unwrap(), Outcome::Applied);
        let user = store.user.lock().unwrap().clone();
        assert_eq!(
            (user.kyc_status, user.kyc_decision_sequence),
            (KycStatus::Pending, 1)
        );
        assert!(store.events.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_concurrent_change_is_re_read_and_retried() {
        let (store, consumer) = setup();
        *store.conflicts_to_inject.lock().unwrap() = 2;
        let verified = message(KycDecision::Verified, 1);
        assert_eq!(consumer.consume(&verified).await.unwrap(), Outcome::Applied);
        let user = store.user.lock().unwrap().clone();
        assert_eq!((user.kyc_status, user.version), (KycStatus::Verified, 4));

        *store.conflicts_to_inject.lock().unwrap() = WRITES.max_attempts();
        let rejected = message(KycDecision::Rejected, 2);
        assert!(matches!(
            consumer.consume(&rejected).await,
            Err(ConsumeError::Failed(message)) if message == "user 1 kept changing concurrently"
        ));
    }

    #[tokio::test]
    async fn other_events_are_not_for_this_consumer() {
        let (_, consumer) = setup();
        let mut other = message(KycDecision::Verified, 1);
        other.detail.event_type = "kyc.something_else".into();
        assert_eq!(consumer.consume(&other).await.unwrap(), Outcome::Ignored);
    }
}
