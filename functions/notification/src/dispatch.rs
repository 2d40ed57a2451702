//! The `notification-events` consumer: every catalog event, rendered per user and channel,
//! checked against the user's preferences, published to the channel's SNS topic, and
//! recorded with its delivery state.
//!
//! Delivery semantics: at least once to SNS, exactly once in the notification table.
//! - The table records an event's notifications together with the inbox marker, in one
//!   transaction, after publishing (a record says what was sent, so it is written once the
//!   sending is done).
//! - A crash (or a transient SNS error) between publishing and that transaction leaves no
//!   record; SQS redelivers the event, it renders the same notifications with the same ids
//!   (`notification_id` hashes event, user and channel) and publishes them again. So SNS may
//!   carry a notification twice, always under the same `notification_id` (a message
//!   attribute and a field of the message): channel workers drop the repeat by that id. SNS
//!   FIFO topics would dedupe by it for us, but only within five minutes (a redelivery after
//!   the visibility timeout, or a DLQ redrive, comes later), they take only FIFO SQS
//!   subscribers, and they cap throughput; the id is the guarantee either way.
//! - A redelivery after the transaction committed (the delete from SQS was lost) finds the
//!   records and publishes nothing; two deliveries racing both publish, and the inbox marker
//!   lets exactly one of them record.
//! - SNS rejecting a message for good (`InvalidParameter`) is recorded as `failed`; anything
//!   else fails the event, which SQS retries and finally moves to the DLQ.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use finflow_shared::UserId;
use finflow_shared::consumer::{BusMessage, ConsumeError, EventConsumer, InboxMarker, Outcome};
use finflow_shared::contracts::{EventRead, Field};
use finflow_shared::events::EventEnvelope;
use finflow_shared::events::aml::AmlCaseResolved;
use finflow_shared::events::kyc::KycDecisionRecorded;
use finflow_shared::events::payment::{
    PaymentCompleted, PaymentFailed, PaymentOnHold, PaymentReleased, PaymentVoided,
};
use finflow_shared::events::user::{UserCreated, UserKycUpdated, UserRoleChanged, UserTierChanged};
use finflow_shared::events::wallet::{WalletCreated, WalletDeposited, WalletStatusChanged};
use time::OffsetDateTime;

use crate::domain::{
    Delivery, Notification, Preferences, Record, RenderError, notification_id, render,
};
use crate::publisher::{ChannelPublisher, PublishError};
use crate::store::{NotificationStore, RecordOutcome};

pub const CONSUMER: &str = "notification.dispatch";

/// The values notification has a text for: the KYC outcomes it announces (back to pending
/// says nothing, knowingly), each wallet status, each document type, each decision, and each
/// payment status (a notice per status, picked by the event that carries it; PENDING is never
/// published). Tiers are printed by name, so a new tier needs no text.
const KYC_STATUSES: &[&str] = &["pending", "verified", "rejected"];
const WALLET_STATUSES: &[&str] = &["active", "frozen", "closed"];
const PAYMENT_STATUSES: &[&str] = &["PENDING", "COMPLETED", "FAILED", "ON_HOLD"];

/// A payment event, decoded whole: told to the payer (and payee) with the amount at four
/// decimal places, the currency and the payer's description.
macro_rules! payment_event {
    ($event:ty $(, $extra:expr)*) => {
        EventRead::whole::<$event>(&[
            Field::value("/payment_id"),
            Field::value("/payer_id"),
            Field::value("/payee_id"),
            Field::money("/amount", 4),
            Field::value("/currency"),
            Field::matches("/status", PAYMENT_STATUSES),
            Field::value("/description").optional(),
            $($extra),*
        ])
    };
}

/// Every event of the catalog, each decoded whole; the fields below are the ones its notices
/// use, every other field is only decoded.
pub const READS: &[EventRead] = &[
    EventRead::whole::<UserCreated>(&[
        Field::value("/user_id"),
        Field::value("/name"),
        Field::decoded("/kyc_status"),
        Field::decoded("/account_tier"),
    ]),
    EventRead::whole::<UserTierChanged>(&[
        Field::value("/user_id"),
        Field::decoded("/kyc_status"),
        Field::value("/account_tier"),
        Field::value("/previous_tier"),
    ]),
    EventRead::whole::<UserRoleChanged>(&[
        Field::value("/user_id"),
        Field::matches("/role", &["customer", "staff"]),
        Field::decoded("/kyc_status"),
        Field::decoded("/account_tier"),
        Field::decoded("/previous_role"),
        Field::decoded("/changed_by"),
    ]),
    EventRead::whole::<UserKycUpdated>(&[
        Field::value("/user_id"),
        Field::matches("/kyc_status", KYC_STATUSES),
        Field::decoded("/account_tier"),
        Field::decoded("/previous_kyc_status"),
    ]),
    EventRead::whole::<KycDecisionRecorded>(&[
        Field::value("/user_id"),
        Field::matches("/decision", &["verified", "rejected", "manual_review"]),
        Field::matches(
            "/document_type",
            &["passport", "national_id", "drivers_license"],
        ),
    ]),
    EventRead::whole::<WalletCreated>(&[
        Field::value("/wallet_id"),
        Field::value("/user_id"),
        Field::value("/currency"),
        Field::decoded("/status"),
    ]),
    EventRead::whole::<WalletStatusChanged>(&[
        Field::value("/wallet_id"),
        Field::value("/user_id"),
        Field::value("/currency"),
        Field::matches("/status", WALLET_STATUSES),
        Field::decoded("/previous_status"),
        Field::value("/changed_by"),
        Field::value("/reason").optional(),
    ]),
    EventRead::whole::<WalletDeposited>(&[
        Field::value("/wallet_id"),
        Field::value("/user_id"),
        Field::value("/currency"),
        Field::money("/amount", 4),
        Field::money("/balance_after", 4),
        Field::value("/reference"),
    ]),
    payment_event!(PaymentCompleted),
    payment_event!(PaymentOnHold),
    payment_event!(PaymentReleased),
    payment_event!(PaymentVoided),
    payment_event!(PaymentFailed, Field::value("/reason")),
    EventRead::whole::<AmlCaseResolved>(&[Field::decoded("/action")]),
];

pub struct Dispatcher {
    store: Arc<dyn NotificationStore>,
    publisher: Arc<dyn ChannelPublisher>,
}

impl Dispatcher {
    pub fn new(store: Arc<dyn NotificationStore>, publisher: Arc<dyn ChannelPublisher>) -> Self {
        Dispatcher { store, publisher }
    }

    async fn preferences(&self, user_id: UserId) -> Result<Preferences, ConsumeError> {
        Ok(self
            .store
            .preferences(user_id)
            .await
            .map_err(ConsumeError::failed)?
            .map(|stored| stored.preferences)
            .unwrap_or_default())
    }

    /// Sends and records every notification `event` gives.
    pub async fn dispatch(&self, event: &EventEnvelope) -> Result<Outcome, ConsumeError> {
        let rendered = render(event).map_err(|error| match error {
            RenderError::Malformed(reason) => ConsumeError::Malformed(reason),
            // A routed event without a policy, or a policy without its text: a bug the
            // catalog tests exist to catch; failing keeps the event (in the DLQ) for a fix.
            other => ConsumeError::failed(other),
        })?;
        let Some(first) = rendered.first() else {
            // Nobody is told anything: nothing to send, nothing to record.
            return Ok(Outcome::Ignored);
        };
        if self
            .store
            .is_recorded(first.user_id, event.event_id, first.channel)
            .await
            .map_err(ConsumeError::failed)?
        {
            return Ok(Outcome::Duplicate);
        }
        let mut preferences: HashMap<UserId, Preferences> = HashMap::new();
        let mut records = Vec::with_capacity(rendered.len());
        for one in rendered {
            let allowed = match preferences.get(&one.user_id) {
                Some(loaded) => loaded.allows(one.channel, one.category),
                None => {
                    let loaded = self.preferences(one.user_id).await?;
                    let allowed = loaded.allows(one.channel, one.category);
                    preferences.insert(one.user_id, loaded);
                    allowed
                }
            };
            let notification = Notification {
                id: notification_id(event.event_id, one.user_id, one.channel),
                user_id: one.user_id,
                channel: one.channel,
                category: one.category,
                event_id: event.event_id,
                event_type: event.event_type.clone(),
                trace_id: event.trace_id.to_string(),
                occurred_at: event.occurred_at,
                subject: one.text.subject,
                body: one.text.body,
            };
            let delivery = if !allowed {
                Delivery::Suppressed
            } else {
                match self.publisher.publish(&notification).await {
                    Ok(message_id) => Delivery::Sent { message_id },
                    Err(PublishError::Permanent(error)) => {
                        tracing::warn!(notification_id = %notification.id, %error, "notification rejected by its channel");
                        Delivery::Failed { error }
                    }
                    Err(error @ PublishError::Transient(_)) => {
                        return Err(ConsumeError::failed(error));
                    }
                }
            };
            records.push(Record {
                notification,
                delivery,
                recorded_at: OffsetDateTime::now_utc(),
            });
        }
        match self
            .store
            .record(
                InboxMarker {
                    consumer: CONSUMER,
                    event_id: event.event_id,
                },
                &records,
            )
            .await
            .map_err(ConsumeError::failed)?
        {
            RecordOutcome::Recorded => {
                for record in &records {
                    tracing::info!(
                        notification_id = %record.notification.id,
                        user_id = record.notification.user_id.get(),
                        channel = record.notification.channel.as_str(),
                        delivery = record.delivery.state(),
                        "notification recorded"
                    );
                }
                Ok(Outcome::Applied)
            }
            RecordOutcome::AlreadyRecorded => Ok(Outcome::Duplicate),
        }
    }
}

#[async_trait]
impl EventConsumer for Dispatcher {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn reads(&self) -> &'static [EventRead] {
        READS
    }

    async fn consume(&self, message: &BusMessage) -> Result<Outcome, ConsumeError> {
        self.dispatch(&message.detail).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use finflow_shared::contracts::CATALOG;
    use finflow_shared::currency::Currency;
    use finflow_shared::events::payment::{PaymentSnapshot, PaymentStatus};
    use finflow_shared::events::{Causality, DomainEvent};
    use finflow_shared::trace::TraceId;
    use finflow_shared::{CaseId, PaymentId, WalletId};
    use finflow_shared::{Money, PositiveAmount};

    use super::*;
    use crate::domain::{Category, Channel};
    use crate::memory::MemoryStore;
    use crate::store::StoredPreferences;

    /// A channel that records what it was given and fails as told.
    #[derive(Default)]
    struct FakeChannels {
        published: Mutex<Vec<Notification>>,
        fail: Mutex<Option<PublishError>>,
    }

    #[async_trait]
    impl ChannelPublisher for FakeChannels {
        async fn publish(&self, notification: &Notification) -> Result<String, PublishError> {
            if let Some(error) = self.fail.lock().unwrap().take() {
                return Err(error);
            }
            let mut published = self.published.lock().unwrap();
            published.push(notification.clone());
            Ok(format!("msg-{}", published.len()))
        }
    }

    fn setup() -> (Arc<MemoryStore>, Arc<FakeChannels>, Dispatcher) {
        let store = Arc::new(MemoryStore::default());
        let channels = Arc::new(FakeChannels::default());
        let dispatcher = Dispatcher::new(store.clone(), channels.clone());
        (store, channels, dispatcher)
    }

    fn envelope<E: DomainEvent>(event: &E) -> EventEnvelope {
        EventEnvelope::new(event, &Causality::from_request(TraceId::generate()))
    }

    fn held() -> EventEnvelope {
        envelope(&PaymentOnHold {
            payment: PaymentSnapshot {
                payment_id: PaymentId::new(7),
                from_wallet_id: WalletId::new(3),
                to_wallet_id: WalletId::new(4),
                payer_id: UserId::new(1),
                payee_id: UserId::new(2),
                amount: PositiveAmount::new(Money::parse("950").unwrap()).unwrap(),
                currency: Currency::parse("USD").unwrap(),
                status: PaymentStatus::OnHold,
                description: None,
            },
            reasons: vec!["structuring".into()],
        })
    }

    #[test]
    fn the_consumer_reads_every_catalog_event() {
        for entry in CATALOG {
            assert!(
                READS
                    .iter()
                    .any(|r| r.event_type == entry.event_type && r.version == entry.version),
                "notification does not read {entry:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_hold_is_published_to_the_payer_with_its_attributes_and_recorded_once() {
        let (store, channels, dispatcher) = setup();
        let event = held();
        assert_eq!(dispatcher.dispatch(&event).await.unwrap(), Outcome::Applied);
        let published = channels.published.lock().unwrap().clone();
        assert_eq!(published.len(), 3, "email, sms and push for payments");
        assert!(published.iter().all(|n| n.user_id == UserId::new(1)));
        assert!(
            published
                .iter()
                .all(|n| n.trace_id == event.trace_id.to_string()
                    && n.id == notification_id(event.event_id, UserId::new(1), n.channel))
        );
        let records = store.records_of(UserId::new(1));
        assert_eq!(records.len(), 3);
        assert!(
            records
                .iter()
                .all(|r| matches!(r.delivery, Delivery::Sent { .. }))
        );

        // A redelivery after the commit publishes nothing and records nothing more.
        assert_eq!(
            dispatcher.dispatch(&event).await.unwrap(),
            Outcome::Duplicate
        );
        assert_eq!(channels.published.lock().unwrap().len(), 3);
        assert_eq!(store.records_of(UserId::new(1)).len(), 3);
    }

    #[tokio::test]
    async fn a_channel_turned_off_is_recorded_as_suppressed_and_not_published() {
        let (store, channels, dispatcher) = setup();
        let mut cells = std::collections::BTreeMap::new();
        cells.insert(
            "sms".to_owned(),
            std::collections::BTreeMap::from([("payments".to_owned(), false)]),
        );
        store
            .save_preferences(
                UserId::new(1),
                &StoredPreferences {
                    preferences: Preferences::from_names(&cells).unwrap(),
                    updated_at: OffsetDateTime::now_utc(),
                },
            )
            .await
            .unwrap();
        dispatcher.dispatch(&held()).await.unwrap();
        let published = channels.published.lock().unwrap().clone();
        assert_eq!(
            published.iter().map(|n| n.channel).collect::<Vec<_>>(),
            [Channel::Email, Channel::Push]
        );
        let sms: Vec<_> = store
            .records_of(UserId::new(1))
            .into_iter()
            .filter(|r| r.notification.channel == Channel::Sms)
            .collect();
        assert_eq!(sms.len(), 1);
        assert_eq!(sms[0].delivery, Delivery::Suppressed);
        assert_eq!(sms[0].notification.category, Category::Payments);
    }

    #[tokio::test]
    async fn a_transient_failure_retries_the_event_with_the_same_ids() {
        let (store, channels, dispatcher) = setup();
        let event = held();
        *channels.fail.lock().unwrap() = Some(PublishError::Transient("throttled".into()));
        assert!(matches!(
            dispatcher.dispatch(&event).await,
            Err(ConsumeError::Failed(_))
        ));
        assert!(
            store.records_of(UserId::new(1)).is_empty(),
            "nothing recorded"
        );
        // The retry sends everything, under the ids the first attempt would have used.
        assert_eq!(dispatcher.dispatch(&event).await.unwrap(), Outcome::Applied);
        let ids: Vec<_> = channels
            .published
            .lock()
            .unwrap()
            .iter()
            .map(|n| n.id)
            .collect();
        let expected: Vec<_> = Channel::ALL
            .into_iter()
            .map(|c| notification_id(event.event_id, UserId::new(1), c))
            .collect();
        assert_eq!(ids, expected);
    }

    #[tokio::test]
    async fn a_permanent_rejection_is_recorded_as_failed() {
        let (store, channels, dispatcher) = setup();
        *channels.fail.lock().unwrap() = Some(PublishError::Permanent("InvalidParameter".into()));
        assert_eq!(
            dispatcher.dispatch(&held()).await.unwrap(),
            Outcome::Applied
        );
        let states: Vec<_> = store
            .records_of(UserId::new(1))
            .iter()
            .map(|r| (r.notification.channel, r.delivery.state()))
            .collect();
        assert_eq!(
            states,
            [
                (Channel::Email, "failed"),
                (Channel::Sms, "sent"),
                (Channel::Push, "sent")
            ]
        );
    }

    #[tokio::test]
    async fn events_that_tell_nobody_are_ignored_and_unknown_ones_fail() {
        let (store, _, dispatcher) = setup();
        let resolved = envelope(&AmlCaseResolved {
            case_id: CaseId::new(1),
            payment_id: PaymentId::new(7),
            action: finflow_shared::events::aml::CaseAction::Void,
            resolved_by: UserId::new(9),
            note: None,
        });
        assert_eq!(
            dispatcher.dispatch(&resolved).await.unwrap(),
            Outcome::Ignored
        );
        let mut unknown = held();
        unknown.event_type = "payment.refunded".into();
        assert!(matches!(
            dispatcher.dispatch(&unknown).await,
            Err(ConsumeError::Failed(_))
        ));
        assert!(store.records_of(UserId::new(1)).is_empty());
    }
}
