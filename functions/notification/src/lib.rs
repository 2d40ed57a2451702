//! FinFlow notification (service D): every cascade event (user.*, wallet.*, payment.* with
//! ON_HOLD, KYC and AML) rendered into a text per user and channel, checked against the
//! user's preferences (per channel and category), published to the channel's SNS topic
//! (email, sms, push) with message attributes, and recorded with its delivery state. Users
//! read their preferences and their notifications through the API.

pub mod dispatch;
pub mod domain;
pub mod entry_points;
#[cfg(test)]
mod memory;
pub mod notifications;
pub mod publisher;
pub mod routes;
pub mod store;
