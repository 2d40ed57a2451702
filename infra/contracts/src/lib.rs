//! The event contracts' tooling: everything that reads what `finflow_shared::contracts`
//! declares. Used by the `finflow` command and the tests; no Lambda function links it.
//!
//! - Producers: every `DomainEvent` has a schema; the tests build every event type with every
//!   enum value and optional field present and absent (`samples`), and validate the envelope
//!   and its data (`conformance`). The system suite validates every event the platform
//!   actually emitted (`tests/contracts_published.rs`).
//! - Consumers: every `EventConsumer` declares, next to its code, the events it reads and the
//!   fields of their data (`finflow_shared::contracts::EventRead`); a test checks them against
//!   the schemas, against the Rust decoding they do, and against the rules in template.yaml
//!   that feed their queue (`tests/contracts_consumers.rs`).
//! - Changes: `compat::diff` compares two versions of a schema and says which changes are
//!   compatible, which break every consumer, and which break the consumers that read a field;
//!   `gate` applies it to the released registry and every consumer.
//!
//! The schemas are read from the repository. Validation itself needs a JSON Schema engine
//! (the `jsonschema` crate, a dev-dependency), so `Registry::check_envelope` takes one as a
//! function.

pub mod compat;
pub mod gate;
mod registry;
pub mod samples;

#[cfg(test)]
mod conformance;

use std::path::PathBuf;

pub use registry::{Registry, schema_at};

/// Where the schemas live in the repository: `events/schemas/`.
pub fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/schemas")
}

/// Where the schema-change fixtures live: `events/fixtures/`.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/fixtures")
}
