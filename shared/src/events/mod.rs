//! Cascade events: the envelope, the catalog of event payloads, and publishing.

pub mod aml;
mod envelope;
pub mod kyc;
pub mod payment;
mod publisher;
pub mod user;
pub mod wallet;

pub use envelope::{Causality, DomainEvent, EnvelopeError, EventEnvelope};
pub use publisher::{EventBridgePublisher, EventPublisher, PublishError};
