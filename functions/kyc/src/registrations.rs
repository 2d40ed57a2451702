//! What KYC learns from auth: when each user registered (the risk model scores account age),
//! taken from `user.created` into KYC's own table. The time is the event's `occurred_at`, the
//! moment auth committed the registration.

use std::sync::Arc;

use async_trait::async_trait;
use finflow_shared::consumer::{BusMessage, ConsumeError, EventConsumer, InboxMarker, Outcome};
use finflow_shared::contracts::{EventRead, Field};
use finflow_shared::events::user::UserCreated;

use crate::store::{KycStore, RegistrationOutcome};

pub const CONSUMER: &str = "kyc.registrations";
/// Only the user id is kept (with the envelope's `occurred_at`); `user.created` is decoded
/// whole, so every other field is decoded without being used.
pub const READS: &[EventRead] = &[EventRead::whole::<UserCreated>(&[
    Field::value("/user_id"),
    Field::decoded("/kyc_status"),
    Field::decoded("/account_tier"),
])];

pub struct RegistrationProjection {
    store: Arc<dyn KycStore>,
}

impl RegistrationProjection {
    pub fn new(store: Arc<dyn KycStore>) -> Self {
        RegistrationProjection { store }
    }
}

#[async_trait]
impl EventConsumer for RegistrationProjection {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn reads(&self) -> &'static [EventRead] {
        READS
    }

    async fn consume(&self, message: &BusMessage) -> Result<Outcome, ConsumeError> {
        let event = &message.detail;
        if !event.is::<UserCreated>() {
            return Ok(Outcome::Ignored);
        }
        let created = event
            .decode::<UserCreated>()
            .map_err(|e| ConsumeError::Malformed(e.to_string()))?;
        let outcome = self
            .store
            .record_registration(
                created.user.user_id,
                event.occurred_at,
                InboxMarker {
                    consumer: CONSUMER,
                    event_id: event.event_id,
                },
            )
            .await
            .map_err(|e| ConsumeError::Failed(e.to_string()))?;
        Ok(match outcome {
            RegistrationOutcome::Recorded => Outcome::Applied,
            RegistrationOutcome::AlreadyKnown => Outcome::Ignored,
            RegistrationOutcome::Duplicate => Outcome::Duplicate,
        })
    }
}
