//! Events of anti-money-laundering compliance, produced by the kyc service's AML part.

use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, PaymentId, UserId};

use super::envelope::DomainEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseAction {
    /// Let the held payment complete.
    Release,
    /// Return the held amount to the payer.
    Void,
}

/// A compliance officer decided an AML case about a held payment; payment carries it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmlCaseResolved {
    pub case_id: CaseId,
    pub payment_id: PaymentId,
    pub action: CaseAction,
    pub resolved_by: UserId,
    pub note: Option<String>,
}

impl DomainEvent for AmlCaseResolved {
    const TYPE: &'static str = "aml.case_resolved";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "kyc";
}
