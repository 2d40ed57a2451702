//! FinFlow KYC (service E): identity document submissions, decided at once by a risk model
//! (verified, rejected, or manual review by staff). Every decision is a
//! `kyc.decision_recorded` event through the outbox; auth turns it into the user's
//! `kyc_status`. KYC learns each user's registration time from `user.created`.
//!
//! Its AML part watches payment's events (each payer's velocity state, a case per held payment,
//! opened when payment's own screening holds a transfer), and lets compliance officers resolve
//! cases, which payment carries out through `aml.case_resolved`.

pub mod aml;
pub mod domain;
pub mod entry_points;
pub mod registrations;
pub mod routes;
pub mod store;
pub mod submissions;
