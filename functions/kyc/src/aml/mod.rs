//! Anti-money-laundering: pre-transfer screening rules (pure, used by payment), and the
//! compliance side that watches payments and manages cases: monitoring consumes payment's
//! events (velocity state, a case per hold, closed by the payment's end), and staff resolve
//! cases, which payment carries out through `aml.case_resolved`.

pub mod activity;
pub mod case;
pub mod cases;
#[cfg(test)]
mod memory;
pub mod monitoring;
pub mod screening;
pub mod store;
