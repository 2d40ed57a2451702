//! Reporting's domain: plain Rust, no AWS types. Facts from events, the aggregation rules
//! that turn them into counter changes, the periods reports cover, and what reports read.

pub mod aggregates;
pub mod facts;
pub mod period;
pub mod report;

pub use aggregates::{
    COUNTED_STATUSES, Counter, Counts, Delta, Direction, Listing, PaymentRecord, PaymentWrite,
    Plan, PlanError, Tally, plan,
};
pub use facts::{Fact, HoldEnd};
pub use period::{Period, PeriodError, format_day, parse_day};
pub use report::{DayVolume, HeldPage, Totals, UserAnalytics, VolumeRow, VolumeTotal};
