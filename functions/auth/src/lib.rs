//! FinFlow auth (service A): users, argon2 passwords, JWT access tokens with rotating refresh
//! tokens, profiles, `kyc_status` and `account_tier`. It emits `user.*` events through the
//! outbox.

pub mod accounts;
pub mod authorizer;
pub mod domain;
pub mod entry_points;
pub mod kyc_decisions;
pub mod routes;
pub mod staff;
pub mod store;
