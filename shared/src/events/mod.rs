//! Cascade events: the envelope, the catalog of event payloads, and publishing.

mod envelope;
pub mod kyc;
mod publisher;
pub mod user;
pub mod wallet;

pub use envelope::{Causality, DomainEvent, EnvelopeError, EventEnvelope};
pub use publisher::{EventBridgePublisher, EventPublisher, PublishError};
