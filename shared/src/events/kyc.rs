//! Events about identity verification, produced by KYC. Auth turns each decision into the
//! user's `kyc_status` (and its own `user.kyc_updated`), which is how the rest of the platform
//! learns it.

use serde::{Deserialize, Serialize};

use crate::ids::UserId;

use super::envelope::DomainEvent;

/// The identity documents KYC accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    Passport,
    NationalId,
    DriversLicense,
}

impl DocumentType {
    pub const ALL: [DocumentType; 3] = [
        DocumentType::Passport,
        DocumentType::NationalId,
        DocumentType::DriversLicense,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            DocumentType::Passport => "passport",
            DocumentType::NationalId => "national_id",
            DocumentType::DriversLicense => "drivers_license",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// What KYC decided about a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KycDecision {
    Verified,
    Rejected,
    /// Neither clear enough to verify nor to reject: a staff member decides.
    ManualReview,
}

impl KycDecision {
    pub fn as_str(&self) -> &'static str {
        match self {
            KycDecision::Verified => "verified",
            KycDecision::Rejected => "rejected",
            KycDecision::ManualReview => "manual_review",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "verified" => Some(KycDecision::Verified),
            "rejected" => Some(KycDecision::Rejected),
            "manual_review" => Some(KycDecision::ManualReview),
            _ => None,
        }
    }
}

/// Who made a decision. In JSON: `"automatic"` for the risk model, `{"staff": 7}` for a review
/// by staff user 7 (serde's externally tagged form, so a new kind of decider is a new variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    Automatic,
    Staff(UserId),
}

/// A decision on a KYC submission: the automatic one at submission, and each staff review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KycDecisionRecorded {
    pub user_id: UserId,
    pub submission_id: u64,
    pub document_type: DocumentType,
    pub decision: KycDecision,
    /// 0 (no risk) to 100, from the risk model at submission time.
    pub risk_score: u8,
    pub reasons: Vec<String>,
    pub decided_by: DecidedBy,
    /// Per user, grows by one with every decision; consumers ignore a decision whose sequence
    /// is not newer than the last one they applied, whatever order events arrive in.
    pub sequence: u64,
}

impl DomainEvent for KycDecisionRecorded {
    const TYPE: &'static str = "kyc.decision_recorded";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "kyc";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_wire_format_is_the_contract() {
        let event = KycDecisionRecorded {
            user_id: UserId::new(1),
            submission_id: 2,
            document_type: DocumentType::DriversLicense,
            decision: KycDecision::ManualReview,
            risk_score: 35,
            reasons: vec!["document:drivers_license".into()],
            decided_by: DecidedBy::Automatic,
            sequence: 1,
        };
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(value["document_type"], "drivers_license");
        assert_eq!(value["decision"], "manual_review");
        assert_eq!(value["decided_by"], "automatic");
        let reviewed = KycDecisionRecorded {
            decided_by: DecidedBy::Staff(UserId::new(7)),
            ..event
        };
        let value = serde_json::to_value(&reviewed).unwrap();
        assert_eq!(value["decided_by"], json!({ "staff": 7 }));
        let back: KycDecisionRecorded = serde_json::from_value(value).unwrap();
        assert_eq!(back, reviewed);
    }

    #[test]
    fn names_round_trip() {
        for t in DocumentType::ALL {
            assert_eq!(DocumentType::parse(t.as_str()), Some(t));
        }
        assert_eq!(DocumentType::parse("selfie"), None);
        assert_eq!(
            KycDecision::parse("manual_review"),
            Some(KycDecision::ManualReview)
        );
    }
}
