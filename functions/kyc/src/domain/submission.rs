//! KYC submissions and the rules around them: what a valid document is, when a user may
//! submit, and how a staff review changes a submission.

use finflow_shared::events::kyc::{DecidedBy, DocumentType, KycDecision, KycDecisionRecorded};
use finflow_shared::{FieldError, UserId};
use time::OffsetDateTime;

use super::country::Country;
use super::risk::{RiskAssessment, RiskInput, assess};

const MAX_URL_LENGTH: usize = 2048;
const MAX_REASON_LENGTH: usize = 500;

/// The document a user submits, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub document_type: DocumentType,
    /// An absolute `https` URL with a host, where the document image is kept.
    pub url: String,
    pub country: Option<Country>,
}

impl Document {
    /// Checks every field and reports all problems at once.
    pub fn parse(
        document_type: &str,
        url: &str,
        country: Option<&str>,
    ) -> Result<Document, Vec<FieldError>> {
        let mut errors = Vec::new();
        let document_type = DocumentType::parse(document_type)
            .ok_or("must be one of passport, national_id, drivers_license")
            .map_err(|m| errors.push(FieldError::new("document_type", m)))
            .ok();
        let url = parse_document_url(url)
            .map_err(|m| errors.push(FieldError::new("document_url", m)))
            .ok();
        let country = country
            .map(Country::parse)
            .transpose()
            .map_err(|m| errors.push(FieldError::new("country", m)))
            .ok();
        match (document_type, url, country) {
            (Some(document_type), Some(url), Some(country)) => Ok(Document {
                document_type,
                url,
                country,
            }),
            _ => Err(errors),
        }
    }
}

fn parse_document_url(text: &str) -> Result<String, &'static str> {
    const MESSAGE: &str = "must be an absolute https URL with a host";
    if text.len() > MAX_URL_LENGTH {
        return Err("must be at most 2048 characters");
    }
    // The URL parser would quietly trim or encode these; a stored URL is exactly what was sent.
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(MESSAGE);
    }
    // WHATWG parsing forgives `https:/host` and `https:///host`; an absolute URL is written
    // `https://<authority>` with the authority actually there.
    let authority_present = text
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
        && !text[8..].starts_with(['/', '\\', '?', '#'])
        && text.len() > 8;
    if !authority_present {
        return Err(MESSAGE);
    }
    let url = url::Url::parse(text).map_err(|_| MESSAGE)?;
    let has_host = url.host_str().is_some_and(|host| !host.is_empty());
    if url.scheme() != "https" || !has_host {
        return Err(MESSAGE);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials");
    }
    Ok(text.to_owned())
}

/// Where a user stands with KYC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KycState {
    NotSubmitted,
    ManualReview,
    Verified,
    Rejected,
}

impl KycState {
    pub fn as_str(&self) -> &'static str {
        match self {
            KycState::NotSubmitted => "not_submitted",
            KycState::ManualReview => "manual_review",
            KycState::Verified => "verified",
            KycState::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "not_submitted" => Some(KycState::NotSubmitted),
            "manual_review" => Some(KycState::ManualReview),
            "verified" => Some(KycState::Verified),
            "rejected" => Some(KycState::Rejected),
            _ => None,
        }
    }
}

impl From<KycDecision> for KycState {
    fn from(decision: KycDecision) -> Self {
        match decision {
            KycDecision::Verified => KycState::Verified,
            KycDecision::Rejected => KycState::Rejected,
            KycDecision::ManualReview => KycState::ManualReview,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitRefusal {
    #[error("A KYC submission is already under review")]
    AlreadyOpen,
    #[error("KYC is already verified for this user")]
    AlreadyVerified,
}

/// KYC's view of a user: their state, and what the risk model needs to know about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    pub user_id: UserId,
    pub state: KycState,
    pub latest_submission_id: Option<u64>,
    pub rejections: u32,
    /// The sequence of the latest decision (0 before the first); one more with each decision.
    pub sequence: u64,
    /// When the user registered, as learned from `user.created`; `None` until then.
    pub registered_at: Option<OffsetDateTime>,
}

impl Applicant {
    /// A user KYC has no record of yet.
    pub fn new(user_id: UserId, registered_at: Option<OffsetDateTime>) -> Self {
        Applicant {
            user_id,
            state: KycState::NotSubmitted,
            latest_submission_id: None,
            rejections: 0,
            sequence: 0,
            registered_at,
        }
    }

    /// One open submission per user; after a rejection the user may try again.
    pub fn may_submit(&self) -> Result<(), SubmitRefusal> {
        match self.state {
            KycState::NotSubmitted | KycState::Rejected => Ok(()),
            KycState::ManualReview => Err(SubmitRefusal::AlreadyOpen),
            KycState::Verified => Err(SubmitRefusal::AlreadyVerified),
        }
    }

    /// The risk model's inputs for a document this applicant submits at `now`.
    pub fn risk_input(&self, document: &Document, now: OffsetDateTime) -> RiskInput {
        RiskInput {
            document_type: document.document_type,
            country: document.country,
            account_age: self.registered_at.map(|at| now - at),
            previous_rejections: self.rejections,
        }
    }

    /// The applicant after `decision` on `submission_id`.
    pub fn after_decision(&self, submission_id: u64, decision: KycDecision) -> Applicant {
        Applicant {
            state: decision.into(),
            latest_submission_id: Some(submission_id),
            rejections: self.rejections + u32::from(decision == KycDecision::Rejected),
            sequence: self.sequence + 1,
            ..self.clone()
        }
    }
}

/// A submitted document and its current decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub id: u64,
    pub user_id: UserId,
    pub document: Document,
    /// The risk model's assessment at submission; its decision is the automatic one.
    pub assessment: RiskAssessment,
    pub status: KycDecision,
    pub decided_by: DecidedBy,
    pub review_reason: Option<String>,
    pub submitted_at: OffsetDateTime,
    pub decided_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewRefusal {
    #[error("Only submissions in manual review can be reviewed; this one is {0}")]
    NotInReview(&'static str),
    #[error("Staff may not review their own KYC submission")]
    OwnSubmission,
}

/// A staff member's decision on a submission in manual review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub decision: KycDecision,
    pub reason: String,
}

impl Review {
    /// Checks every field and reports all problems at once.
    pub fn parse(decision: &str, reason: &str) -> Result<Review, Vec<FieldError>> {
        let mut errors = Vec::new();
        let decision = match KycDecision::parse(decision) {
            Some(d @ (KycDecision::Verified | KycDecision::Rejected)) => Some(d),
            _ => {
                errors.push(FieldError::new("decision", "must be verified or rejected"));
                None
            }
        };
        let reason = reason.trim();
        if reason.is_empty() {
            errors.push(FieldError::new("reason", "must not be empty"));
        } else if reason.chars().count() > MAX_REASON_LENGTH {
            errors.push(FieldError::new("reason", "must be at most 500 characters"));
        } else if reason.chars().any(|c| c.is_control() && c != '\n') {
            errors.push(FieldError::new(
                "reason",
                "must not contain control characters",
            ));
        }
        match decision {
            Some(decision) if errors.is_empty() => Ok(Review {
                decision,
                reason: reason.to_owned(),
            }),
            _ => Err(errors),
        }
    }
}

impl Submission {
    /// A new submission, decided by the risk model.
    pub fn submit(
        id: u64,
        applicant: &Applicant,
        document: Document,
        now: OffsetDateTime,
    ) -> Submission {
        let assessment = assess(&applicant.risk_input(&document, now));
        Submission {
            id,
            user_id: applicant.user_id,
            document,
            status: assessment.decision,
            assessment,
            decided_by: DecidedBy::Automatic,
            review_reason: None,
            submitted_at: now,
            decided_at: now,
        }
    }

    /// The submission after `reviewer`'s review.
    pub fn review(
        &self,
        review: Review,
        reviewer: UserId,
        now: OffsetDateTime,
    ) -> Result<Submission, ReviewRefusal> {
        if reviewer == self.user_id {
            return Err(ReviewRefusal::OwnSubmission);
        }
        if self.status != KycDecision::ManualReview {
            return Err(ReviewRefusal::NotInReview(self.status.as_str()));
        }
        Ok(Submission {
            status: review.decision,
            decided_by: DecidedBy::Staff(reviewer),
            review_reason: Some(review.reason),
            decided_at: now,
            ..self.clone()
        })
    }

    /// Why the submission stands where it does: the risk factors for an automatic decision,
    /// the reviewer's reason for a review.
    pub fn reasons(&self) -> Vec<String> {
        match (&self.decided_by, &self.review_reason) {
            (DecidedBy::Staff(_), Some(reason)) => vec![reason.clone()],
            _ => self.assessment.reasons(),
        }
    }

    /// The event announcing this submission's current decision, the applicant's `sequence`-th.
    pub fn decision_event(&self, sequence: u64) -> KycDecisionRecorded {
        KycDecisionRecorded {
            user_id: self.user_id,
            submission_id: self.id,
            document_type: self.document.document_type,
            decision: self.status,
            risk_score: self.assessment.score,
            reasons: self.reasons(),
            decided_by: self.decided_by,
            sequence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    const URL: &str = "https://example.com/passport.jpg";

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_document_parses() {
        let document = Document::parse("passport", URL, Some("de")).unwrap();
        assert_eq!(document.document_type, DocumentType::Passport);
        assert_eq!(document.url, URL);
        assert_eq!(document.country.unwrap().as_str(), "DE");
        assert!(Document::parse("drivers_license", URL, None).is_ok());
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let errors = Document::parse("selfie", "ftp://example.com/a", Some("XX")).unwrap_err();
        assert_eq!(fields(errors), ["document_type", "document_url", "country"]);
    }

    #[test]
    fn document_urls_must_be_absolute_https_with_a_host() {
        let bad = [
            "http://example.com/passport.jpg",
            "/passport.jpg",
            "passport.jpg",
            "https://",
            "https:///passport.jpg",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:secret@example.com/a.jpg",
            " https://example.com/a.jpg",
            "https://example.com/a b.jpg",
            "",
        ];
        for url in bad {
            assert!(Document::parse("passport", url, None).is_err(), "{url:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2100));
        assert!(Document::parse("passport", &long, None).is_err());
        assert!(Document::parse("passport", "https://cdn.example.com:8443/x?y=1", None).is_ok());
    }

    #[test]
    fn one_open_submission_and_resubmission_after_rejection() {
        let mut applicant = Applicant::new(UserId::new(1), None);
        assert_eq!(applicant.may_submit(), Ok(()));
        applicant = applicant.after_decision(1, KycDecision::ManualReview);
        assert_eq!(applicant.may_submit(), Err(SubmitRefusal::AlreadyOpen));
        applicant = applicant.after_decision(1, KycDecision::Rejected);
        assert_eq!(
            (
                applicant.may_submit(),
                applicant.rejections,
                applicant.sequence
            ),
            (Ok(()), 1, 2)
        );
        applicant = applicant.after_decision(2, KycDecision::Verified);
        assert_eq!(applicant.may_submit(), Err(SubmitRefusal::AlreadyVerified));
        assert_eq!(applicant.latest_submission_id, Some(2));
    }

    #[test]
    fn the_risk_model_sees_the_account_age_and_rejections() {
        let now = OffsetDateTime::now_utc();
        let applicant = Applicant {
            rejections: 1,
            ..Applicant::new(UserId::new(1), Some(now - Duration::days(90)))
        };
        let document = Document::parse("passport", URL, Some("DE")).unwrap();
        let input = applicant.risk_input(&document, now);
        assert_eq!(input.account_age, Some(Duration::days(90)));
        assert_eq!(input.previous_rejections, 1);
    }

    fn in_review() -> Submission {
        let now = OffsetDateTime::now_utc();
        let document = Document::parse("drivers_license", URL, None).unwrap();
        let submission =
            Submission::submit(3, &Applicant::new(UserId::new(1), Some(now)), document, now);
        assert_eq!(submission.status, KycDecision::ManualReview);
        submission
    }

    #[test]
    fn staff_review_a_submission_in_manual_review_once() {
        let submission = in_review();
        let review = Review::parse("verified", "  documents checked by phone ").unwrap();
        let reviewed = submission
            .review(review.clone(), UserId::new(9), OffsetDateTime::now_utc())
            .unwrap();
        assert_eq!(reviewed.status, KycDecision::Verified);
        assert_eq!(reviewed.decided_by, DecidedBy::Staff(UserId::new(9)));
        assert_eq!(reviewed.reasons(), ["documents checked by phone"]);
        assert_eq!(reviewed.assessment, submission.assessment);
        let again = reviewed.review(review, UserId::new(9), OffsetDateTime::now_utc());
        assert_eq!(again, Err(ReviewRefusal::NotInReview("verified")));
    }

    #[test]
    fn nobody_reviews_their_own_submission() {
        let review = Review::parse("verified", "looks fine").unwrap();
        assert_eq!(
            in_review().review(review, UserId::new(1), OffsetDateTime::now_utc()),
            Err(ReviewRefusal::OwnSubmission)
        );
    }

    #[test]
    fn a_review_decides_verified_or_rejected_with_a_reason() {
        assert!(Review::parse("rejected", "blurred scan").is_ok());
        assert_eq!(
            fields(Review::parse("manual_review", " ").unwrap_err()),
            ["decision", "reason"]
        );
        assert_eq!(
            fields(Review::parse("verified", &"x".repeat(501)).unwrap_err()),
            ["reason"]
        );
    }

    #[test]
    fn the_event_carries_the_decision_and_its_sequence() {
        let submission = in_review();
        let event = submission.decision_event(4);
        assert_eq!(event.decision, KycDecision::ManualReview);
        assert_eq!(event.sequence, 4);
        assert_eq!(event.risk_score, submission.assessment.score);
        assert_eq!(event.reasons, submission.assessment.reasons());
        assert_eq!(event.decided_by, DecidedBy::Automatic);
    }
}
