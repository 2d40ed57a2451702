//! Anti-money-laundering: pre-transfer screening rules (pure, used by payment), and the
//! compliance side that watches payments and manages cases.

pub mod screening;
