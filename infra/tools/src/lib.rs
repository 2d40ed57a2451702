//! The parts of the `finflow` command that the system tests also call in-process.

pub mod bench;
pub mod replay;
mod table_diff;

pub use table_diff::Difference;
