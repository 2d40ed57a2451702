//! The one event envelope. Every cascade event, whoever produces it, travels in this shape as
//! the `detail` of an EventBridge event.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::trace::TraceId;

/// A fact that one service publishes for others. The type, version and producer are part of
/// the contract (events/schemas/<type>.v<version>.json).
pub trait DomainEvent: Serialize + DeserializeOwned {
    const TYPE: &'static str;
    const VERSION: u32;
    const PRODUCER: &'static str;
}

/// Why an event exists: the trace it belongs to and the event (if any) that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Causality {
    pub trace_id: TraceId,
    pub causation_id: Option<Uuid>,
}

impl Causality {
    /// A new chain, started by an API call.
    pub fn from_request(trace_id: TraceId) -> Self {
        Causality {
            trace_id,
            causation_id: None,
        }
    }

    /// The next link of a chain: events emitted while handling `cause`.
    pub fn caused_by(cause: &EventEnvelope) -> Self {
        Causality {
            trace_id: cause.trace_id.clone(),
            causation_id: Some(cause.event_id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub producer: String,
    pub trace_id: TraceId,
    pub causation_id: Option<Uuid>,
    pub data: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("expected {expected} but the envelope holds {actual}")]
    WrongType { expected: String, actual: String },
    #[error("event data does not match {event_type} v{version}: {reason}")]
    BadData {
        event_type: String,
        version: u32,
        reason: String,
    },
}

impl EventEnvelope {
    pub fn new<E: DomainEvent>(event: &E, causality: &Causality) -> Self {
        EventEnvelope {
            // v7 ids sort by time, which keeps the outbox and the logs in emission order.
            event_id: Uuid::now_v7(),
            event_type: E::TYPE.to_owned(),
            schema_version: E::VERSION,
            occurred_at: OffsetDateTime::now_utc(),
            producer: E::PRODUCER.to_owned(),
            trace_id: causality.trace_id.clone(),
            causation_id: causality.causation_id,
            data: serde_json::to_value(event).expect("domain events serialize to JSON"),
        }
    }

    pub fn is<E: DomainEvent>(&self) -> bool {
        self.event_type == E::TYPE && self.schema_version == E::VERSION
    }

    pub fn decode<E: DomainEvent>(&self) -> Result<E, EnvelopeError> {
        if !self.is::<E>() {
            return Err(EnvelopeError::WrongType {
                expected: format!("{} v{}", E::TYPE, E::VERSION),
                actual: format!("{} v{}", self.event_type, self.schema_version),
            });
        }
        serde_json::from_value(self.data.clone()).map_err(|error| EnvelopeError::BadData {
            event_type: self.event_type.clone(),
            version: self.schema_version,
            reason: error.to_string(),
        })
    }

    /// The EventBridge `source` of this event: `finflow.<producer>`.
    pub fn source(&self) -> String {
        format!("finflow.{}", self.producer)
    }
}
