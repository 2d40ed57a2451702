//! The contract registry: one JSON Schema (draft 2020-12) per event type and version in
//! `events/schemas/`, the catalog of the events FinFlow emits, what each consumer declares it
//! reads, and the classification of a schema change as compatible or breaking.
//!
//! - Producers: every `DomainEvent` has a schema; the tests build every event type with every
//!   enum value and optional field present and absent, and validate the envelope and its data
//!   (`contracts::conformance`). The system suite validates every event the platform actually
//!   emitted (`tests/contracts_published.rs`).
//! - Consumers: every `EventConsumer` declares, next to its code, the events it reads and the
//!   fields of their data (`EventRead`); a test checks them against the schemas, against the
//!   Rust decoding they do, and against the rules in template.yaml that feed their queue
//!   (`tests/contracts_consumers.rs`).
//! - Changes: `compat::diff` compares two versions of a schema and says which changes are
//!   compatible, which break every consumer, and which break the consumers that read a field.
//!
//! Nothing here validates at run time: the schemas are read by tests and tools, from the
//! repository. Validation itself needs a JSON Schema engine (the `jsonschema` crate, a
//! dev-dependency), so `Registry::check_envelope` takes one as a function.

pub mod catalog;
pub mod compat;
mod registry;
pub mod samples;

#[cfg(test)]
mod conformance;

use std::path::PathBuf;

use serde_json::Value;

use crate::events::DomainEvent;

pub use catalog::{CATALOG, EventType};
pub use registry::{Registry, schema_at};

/// Where the schemas live in the repository: `events/schemas/`.
pub fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/schemas")
}

/// Where the schema-change fixtures live: `events/fixtures/`.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/fixtures")
}

/// What a consumer reads of one event type at one version: the fields of `data` (JSON pointers
/// such as `/status` or `/decided_by/staff`) its code depends on. A consumer that decodes the
/// whole Rust type depends on every field that type requires, and declares them all: serde
/// rejects the event when any is missing or holds a value the type does not know (a new enum
/// value in any field, for instance). The test checks that the declared fields alone decode.
#[derive(Clone, Copy)]
pub struct EventRead {
    pub event_type: &'static str,
    pub version: u32,
    pub fields: &'static [&'static str],
    /// Decodes `data` the way the consumer does.
    pub decode: fn(&Value) -> Result<(), String>,
}

impl EventRead {
    /// Reads `fields` of `E`'s data, decoding it as `E` (`EventEnvelope::decode::<E>`).
    pub const fn of<E: DomainEvent>(fields: &'static [&'static str]) -> EventRead {
        EventRead {
            event_type: E::TYPE,
            version: E::VERSION,
            fields,
            decode: decode_as::<E>,
        }
    }

    /// Whether reading this field makes the consumer depend on `pointer`: the same field, a
    /// part of it, or a field that contains it.
    pub fn depends_on(&self, pointer: &str) -> bool {
        self.fields
            .iter()
            .any(|field| pointers_overlap(field, pointer))
    }
}

impl std::fmt::Debug for EventRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{} {:?}", self.event_type, self.version, self.fields)
    }
}

fn decode_as<E: DomainEvent>(data: &Value) -> Result<(), String> {
    serde_json::from_value::<E>(data.clone())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Two JSON pointers overlap when one is the other or lies inside it.
pub fn pointers_overlap(a: &str, b: &str) -> bool {
    let inside = |inner: &str, outer: &str| {
        inner == outer
            || inner
                .strip_prefix(outer)
                .is_some_and(|r| r.starts_with('/'))
    };
    inside(a, b) || inside(b, a)
}
