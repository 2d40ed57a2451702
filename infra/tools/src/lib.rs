//! The parts of the `finflow` command that the system tests also use in-process: the bench,
//! replay, the round-trip table, staff grants, template.yaml as the tools read it and the consumers built
//! from it for the contract gate.

pub mod api_contracts;
pub mod bench;
pub mod cold_starts;
pub mod contracts;
pub mod replay;
pub mod round_trips;
pub mod staff;
mod table_diff;
pub mod template;

pub use table_diff::Difference;
