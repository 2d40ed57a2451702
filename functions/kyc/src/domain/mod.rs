//! KYC's domain: plain Rust, no AWS types.

pub mod country;
pub mod risk;
pub mod submission;

pub use country::{Country, CountryRisk};
pub use risk::{RiskAssessment, RiskFactor, RiskInput, assess};
pub use submission::{
    Applicant, Document, KycState, Review, ReviewRefusal, Submission, SubmitRefusal,
};
