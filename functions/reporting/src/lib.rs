//! FinFlow reporting (service F): a projector consumes every cascade event into reporting's
//! own table (volumes and counts per day, currency and status, per-user analytics, tiers,
//! the KYC funnel, AML holds and cases), with exact decimal sums; the API serves reports
//! from it (JSON and CSV). Reporting emits no events.

pub mod domain;
pub mod entry_points;
#[cfg(test)]
mod memory;
pub mod projector;
pub mod reports;
pub mod routes;
pub mod store;
