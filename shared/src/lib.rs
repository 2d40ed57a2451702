//! The crate every FinFlow service shares. One way to do each thing: money, errors and their
//! problem+json mapping, tokens, configuration, the event envelope, the outbox, consumers and
//! their inbox, health, logging, and the Lambda entry points.

pub mod aws_access;
pub mod aws_faults;
pub mod aws_http;
pub mod config;
pub mod consumer;
pub mod contracts;
pub mod currency;
pub mod customer;
pub mod dynamo;
pub mod error;
pub mod events;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod jwt;
mod jwt_hs256;
pub mod money;
pub mod outbox;
pub mod retry;
pub mod round_trips;
pub mod runtime;
pub mod telemetry;
pub mod trace;
pub mod transaction;
pub mod user_projection;

pub use error::{ApiError, ApiResult, FieldError};
pub use ids::{CaseId, PaymentId, UserId, WalletId};
pub use money::{Money, PositiveAmount};
