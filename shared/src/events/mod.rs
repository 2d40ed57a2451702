//! Cascade events: the envelope, the catalog of event payloads, and publishing.

mod envelope;
mod publisher;
pub mod user;

pub use envelope::{Causality, DomainEvent, EnvelopeError, EventEnvelope};
pub use publisher::{EventBridgePublisher, EventPublisher, PublishError};
