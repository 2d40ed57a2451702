//! Anti-money-laundering, the compliance side: monitoring consumes payment's events (velocity
//! state, a case per hold, closed by the payment's end), and staff resolve cases, which payment
//! carries out through `aml.case_resolved`. The pre-transfer screening rules run where they
//! apply, in payment (`finflow_payment::domain::screening`): changing them redeploys payment
//! alone, and payment links nothing of this service.

pub mod activity;
pub mod case;
pub mod cases;
#[cfg(test)]
mod memory;
pub mod monitoring;
pub mod store;
