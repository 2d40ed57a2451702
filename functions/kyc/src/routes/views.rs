//! What the API shows of submissions, statuses and risk assessments.

use finflow_shared::UserId;
use finflow_shared::events::kyc::DecidedBy;
use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::risk::{REJECT_FROM, VERIFY_AT_MOST};
use crate::domain::{Applicant, Submission};

#[derive(Debug, Serialize)]
pub struct SubmissionView {
    pub submission_id: u64,
    pub user_id: UserId,
    pub document_type: &'static str,
    pub document_url: String,
    pub country: Option<String>,
    /// verified, rejected or manual_review.
    pub status: &'static str,
    pub risk_score: u8,
    pub reasons: Vec<String>,
    /// `"automatic"` or `{"staff": <user id>}`, as in `kyc.decision_recorded`.
    pub decided_by: DecidedBy,
    pub review_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
}

impl From<&Submission> for SubmissionView {
    fn from(submission: &Submission) -> Self {
        SubmissionView {
            submission_id: submission.id,
            user_id: submission.user_id,
            document_type: submission.document.document_type.as_str(),
            document_url: submission.document.url.clone(),
            country: submission.document.country.map(|c| c.to_string()),
            status: submission.status.as_str(),
            risk_score: submission.assessment.score,
            reasons: submission.reasons(),
            decided_by: submission.decided_by,
            review_reason: submission.review_reason.clone(),
            submitted_at: submission.submitted_at,
            decided_at: submission.decided_at,
        }
    }
}

/// A user's KYC status. A user who never submitted is `not_submitted` with no submission:
/// the question "is this user verified?" always has an answer, never a 404.
#[derive(Debug, Serialize)]
pub struct StatusView {
    pub user_id: UserId,
    /// not_submitted, manual_review, verified or rejected.
    pub status: &'static str,
    pub previous_rejections: u32,
    pub latest_submission: Option<SubmissionView>,
}

impl StatusView {
    pub fn new(applicant: &Applicant, latest: Option<&Submission>) -> Self {
        StatusView {
            user_id: applicant.user_id,
            status: applicant.state.as_str(),
            previous_rejections: applicant.rejections,
            latest_submission: latest.map(SubmissionView::from),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FactorView {
    pub code: String,
    pub points: u8,
}

#[derive(Debug, Serialize)]
pub struct Thresholds {
    pub verified_at_most: u8,
    pub rejected_from: u8,
}

/// The risk model's assessment of the user's latest submission, factor by factor.
#[derive(Debug, Serialize)]
pub struct RiskView {
    pub user_id: UserId,
    pub submission_id: u64,
    pub risk_score: u8,
    pub automatic_decision: &'static str,
    pub factors: Vec<FactorView>,
    pub thresholds: Thresholds,
    #[serde(with = "time::serde::rfc3339")]
    pub assessed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub registered_at: Option<OffsetDateTime>,
    pub previous_rejections: u32,
}

impl RiskView {
    pub fn new(applicant: &Applicant, submission: &Submission) -> Self {
        RiskView {
            user_id: applicant.user_id,
            submission_id: submission.id,
            risk_score: submission.assessment.score,
            automatic_decision: submission.assessment.decision.as_str(),
            factors: submission
                .assessment
                .factors
                .iter()
                .map(|f| FactorView {
                    code: f.code.clone(),
                    points: f.points,
                })
                .collect(),
            thresholds: Thresholds {
                verified_at_most: VERIFY_AT_MOST,
                rejected_from: REJECT_FROM,
            },
            assessed_at: submission.submitted_at,
            registered_at: applicant.registered_at,
            previous_rejections: applicant.rejections,
        }
    }
}
