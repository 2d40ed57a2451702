//! FinFlow payment (service C): peer-to-peer transfers between wallets. Each transfer is one
//! DynamoDB transaction over both wallets, the payment, the ledger, the daily limit, the
//! idempotency key and the outbox event. AML screening can put a transfer ON_HOLD: the
//! amount leaves the payer's balance into held funds until compliance releases or voids it.

pub mod domain;
pub mod entry_points;
#[cfg(test)]
mod memory;
pub mod metrics;
pub mod routes;
pub mod service;
pub mod settlement;
pub mod store;
