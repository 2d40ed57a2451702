//! The catalog: every event type and version FinFlow emits, listed once. Each entry has a
//! schema file `events/schemas/<type>.v<version>.json`; a test checks both ways, and another
//! finds every `impl DomainEvent` in the source so a new event cannot be left out.

use serde_json::Value;

use crate::events::DomainEvent;
use crate::events::aml::AmlCaseResolved;
use crate::events::kyc::KycDecisionRecorded;
use crate::events::payment::{
    PaymentCompleted, PaymentFailed, PaymentOnHold, PaymentReleased, PaymentVoided,
};
use crate::events::user::{UserCreated, UserKycUpdated, UserRoleChanged, UserTierChanged};
use crate::events::wallet::{WalletCreated, WalletDeposited, WalletStatusChanged};

/// One event type at one version, as the catalog lists it.
#[derive(Clone, Copy)]
pub struct EventType {
    pub event_type: &'static str,
    pub version: u32,
    pub producer: &'static str,
    /// The Rust type's name, e.g. `PaymentOnHold`.
    pub rust_type: &'static str,
    /// Decodes `data` as the Rust type and encodes it again: what a consumer decoding this
    /// type accepts, and how it reads it.
    pub round_trip: fn(&Value) -> Result<Value, String>,
}

impl std::fmt::Debug for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} v{} ({})",
            self.event_type, self.version, self.rust_type
        )
    }
}

impl EventType {
    /// The schema file's name: `<type>.v<version>.json`.
    pub fn schema_file(&self) -> String {
        schema_file(self.event_type, self.version)
    }
}

pub fn schema_file(event_type: &str, version: u32) -> String {
    format!("{event_type}.v{version}.json")
}

pub(crate) fn round_trip<E: DomainEvent>(data: &Value) -> Result<Value, String> {
    let event: E = serde_json::from_value(data.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&event).map_err(|e| e.to_string())
}

macro_rules! catalog {
    ($($event:ident),* $(,)?) => {
        &[$(EventType {
            event_type: <$event as DomainEvent>::TYPE,
            version: <$event as DomainEvent>::VERSION,
            producer: <$event as DomainEvent>::PRODUCER,
            rust_type: stringify!($event),
            round_trip: round_trip::<$event>,
        }),*]
    };
}

/// Every event FinFlow emits. A new `DomainEvent` goes here, with its schema file.
pub const CATALOG: &[EventType] = catalog![
    UserCreated,
    UserTierChanged,
    UserKycUpdated,
    UserRoleChanged,
    WalletCreated,
    WalletStatusChanged,
    WalletDeposited,
    KycDecisionRecorded,
    PaymentCompleted,
    PaymentOnHold,
    PaymentReleased,
    PaymentVoided,
    PaymentFailed,
    AmlCaseResolved,
];

/// The catalog entry of `event_type` at `version`.
pub fn lookup(event_type: &str, version: u32) -> Option<&'static EventType> {
    CATALOG
        .iter()
        .find(|entry| entry.event_type == event_type && entry.version == version)
}
