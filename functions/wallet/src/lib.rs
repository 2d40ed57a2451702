//! FinFlow wallet (service B). This first slice holds the customer projection that the
//! KYC gate and tier limits of wallets will read.

pub mod customers;
pub mod functions;
