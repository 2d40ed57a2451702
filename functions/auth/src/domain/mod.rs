//! Auth's domain: plain Rust, no AWS types.

pub mod email;
pub mod password;
pub mod session;
pub mod staff;
pub mod user;

pub use email::Email;
pub use password::{NewPassword, verify_password};
pub use session::{RefreshToken, Session};
pub use staff::{OperatorName, RoleChangeRefused, change_role};
pub use user::{KycDecisionEffect, Registration, User, kyc_status_for};
