//! FinFlow wallet (service B): multi-currency wallets with exact DECIMAL(20,4) balances, a
//! ledger, status rules and deposits. It learns each user's KYC status and tier from auth's
//! events into its own table, and gates wallets and limits on them.

pub mod domain;
pub mod entry_points;
pub mod routes;
pub mod service;
pub mod store;
