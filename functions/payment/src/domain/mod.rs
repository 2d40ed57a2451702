//! Payment's domain: plain Rust, no AWS types.

pub mod limits;
pub mod payment;
pub mod screening;
pub mod transfer;

pub use limits::{BalanceCap, TransferLimits, balance_cap, needs_payee_tier, transfer_limits};
pub use payment::{HoldOutcome, NotOnHold, Payment, PaymentState};
pub use transfer::{
    AllowedTransfer, Movement, RecentActivity, TransferError, TransferPlan, TransferReads,
    TransferRequest, decide_transfer, parse_amount,
};
