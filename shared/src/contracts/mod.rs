//! What the event contracts declare, in the code that ships: the catalog of the events FinFlow
//! emits (one JSON Schema each, draft 2020-12, in `events/schemas/`), and what each consumer
//! declares it reads (`EventRead`, `Field`), next to its code, precisely enough to decide
//! whether a schema change breaks it.
//!
//! Everything that reads these declarations (the schema registry, the classification of a
//! change as compatible or breaking, the contract gate, the samples and the conformance tests)
//! is tooling, in its own crate: `finflow-contracts` (`infra/contracts`). No Lambda links it,
//! and nothing here validates at run time.

pub mod catalog;

use serde_json::Value;

use crate::events::DomainEvent;

pub use catalog::{CATALOG, EventType};

/// How a consumer's code uses one field of an event's data: what makes a change to the field
/// break it or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Its decoding requires the field (the Rust type has it) but its logic does not look at
    /// it: only the field's presence and type matter, not its value.
    Decoded,
    /// Used as a value of its type, without branching on it: an id, a name, a text it prints,
    /// a currency or status it stores or groups by. A new enum value passes through.
    Value,
    /// Branched on: the consumer does something different per value and handles exactly these
    /// (the schema's `enum` values). A value the producer adds is not handled until it is
    /// listed here, with the code that handles it.
    Matches(&'static [&'static str]),
    /// An amount of money, kept exactly with at most `scale` decimal places. A producer that
    /// sends more places than that breaks it.
    Money { scale: u32 },
}

/// One field of an event's data that a consumer depends on, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// A JSON pointer into `data`: `/status`, `/decided_by/staff`, `/reasons/*`.
    pub pointer: &'static str,
    pub usage: Use,
    /// Whether the consumer accepts the field missing or `null` (it decodes it as an
    /// `Option`): then the field becoming optional, nullable or removed does not break it.
    pub optional: bool,
}

impl Field {
    /// Decoded, not used (see `Use::Decoded`).
    pub const fn decoded(pointer: &'static str) -> Field {
        Field::new(pointer, Use::Decoded)
    }

    /// Used as a value (see `Use::Value`).
    pub const fn value(pointer: &'static str) -> Field {
        Field::new(pointer, Use::Value)
    }

    /// Branched on; `values` are the ones the consumer handles (see `Use::Matches`).
    pub const fn matches(pointer: &'static str, values: &'static [&'static str]) -> Field {
        Field::new(pointer, Use::Matches(values))
    }

    /// An amount kept with at most `scale` decimal places (see `Use::Money`).
    pub const fn money(pointer: &'static str, scale: u32) -> Field {
        Field::new(pointer, Use::Money { scale })
    }

    /// Accepts the field missing or `null`.
    pub const fn optional(self) -> Field {
        Field {
            optional: true,
            ..self
        }
    }

    const fn new(pointer: &'static str, usage: Use) -> Field {
        Field {
            pointer,
            usage,
            optional: false,
        }
    }
}

/// What a consumer reads of one event type at one version, and how it uses it: its contract
/// with the producer, precise enough to decide whether a schema change breaks it (`gate`).
///
/// - `EventRead::of::<E>(fields)`: the consumer depends on exactly `fields`; the test checks
///   that those fields alone decode the way the consumer decodes.
/// - `EventRead::whole::<E>(uses)`: the consumer decodes the whole Rust type, so it depends on
///   every field of the schema; `uses` says which of them its code uses and how. Every field
///   it does not list is `Use::Decoded`.
///
/// Either way, the test requires every field with an `enum` it reads to say how it is used
/// (`matches` with the values handled, `value` or `decoded`) and every money field to say the
/// scale it keeps (`money`), and checks those claims against the consumer's decoding: each
/// value it says it matches decodes, an amount with `scale` places decodes, an `optional`
/// field may be left out.
#[derive(Clone, Copy)]
pub struct EventRead {
    pub event_type: &'static str,
    pub version: u32,
    /// Whether it decodes every field of the schema (`whole`).
    pub whole: bool,
    /// The fields it depends on (`of`), or those it uses (`whole`).
    pub fields: &'static [Field],
    /// Decodes `data` the way the consumer does.
    pub decode: fn(&Value) -> Result<(), String>,
}

impl EventRead {
    /// Reads `fields` of `E`'s data, decoding it as `E` (`EventEnvelope::decode::<E>`).
    pub const fn of<E: DomainEvent>(fields: &'static [Field]) -> EventRead {
        EventRead {
            event_type: E::TYPE,
            version: E::VERSION,
            whole: false,
            fields,
            decode: decode_as::<E>,
        }
    }

    /// Decodes all of `E`'s data, and uses `uses` of it as they say.
    pub const fn whole<E: DomainEvent>(uses: &'static [Field]) -> EventRead {
        EventRead {
            whole: true,
            ..EventRead::of::<E>(uses)
        }
    }

    /// Whether the consumer depends on `pointer`: the same field, a part of it, or a field
    /// that contains it (every field, for a `whole` read).
    pub fn depends_on(&self, pointer: &str) -> bool {
        self.whole
            || self
                .fields
                .iter()
                .any(|field| pointers_overlap(field.pointer, pointer))
    }
}

impl std::fmt::Debug for EventRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let whole = if self.whole { " whole" } else { "" };
        write!(f, "{} v{}{whole} [", self.event_type, self.version)?;
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{field}")?;
        }
        f.write_str("]")
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.pointer)?;
        match self.usage {
            Use::Decoded => f.write_str(" (decoded)")?,
            Use::Value => {}
            Use::Matches(values) => write!(f, " matches {}", values.join("|"))?,
            Use::Money { scale } => write!(f, " money(scale {scale})")?,
        }
        if self.optional {
            f.write_str(" optional")?;
        }
        Ok(())
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
