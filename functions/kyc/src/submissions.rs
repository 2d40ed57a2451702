//! KYC's use cases: submitting a document (decided at once by the risk model), reading a
//! user's status and risk, and staff review of submissions the model left to a person.

use std::sync::Arc;

use finflow_shared::UserId;
use finflow_shared::events::{Causality, EventEnvelope};
use finflow_shared::http::Caller;
use finflow_shared::{ApiError, ApiResult};
use time::OffsetDateTime;

use crate::domain::{Applicant, Document, Review, ReviewRefusal, Submission};
use crate::store::{KycStore, WriteError};

/// A submission as the client sent it, before any check.
#[derive(Debug, Clone)]
pub struct SubmitRequest {
    pub user_id: UserId,
    pub document_type: String,
    pub document_url: String,
    pub country: Option<String>,
}

pub struct Submissions {
    store: Arc<dyn KycStore>,
}

impl Submissions {
    pub fn new(store: Arc<dyn KycStore>) -> Self {
        Submissions { store }
    }

    /// Checks, decides and records a submission with its `kyc.decision_recorded` event.
    pub async fn submit(
        &self,
        caller: &Caller,
        request: SubmitRequest,
        causality: &Causality,
    ) -> ApiResult<Submission> {
        if caller.user_id != request.user_id {
            return Err(ApiError::Forbidden(
                "You may only submit KYC documents for your own account".into(),
            ));
        }
        let document = Document::parse(
            &request.document_type,
            &request.document_url,
            request.country.as_deref(),
        )
        .map_err(ApiError::Validation)?;
        let applicant = self.store.applicant(request.user_id).await?;
        applicant
            .may_submit()
            .map_err(|refusal| ApiError::Conflict(refusal.to_string()))?;
        let id = self.store.allocate_submission_id().await?;
        let submission = Submission::submit(id, &applicant, document, OffsetDateTime::now_utc());
        let updated = applicant.after_decision(id, submission.status);
        let event = EventEnvelope::new(&submission.decision_event(updated.sequence), causality);
        match self
            .store
            .save_submission(&updated, &submission, &event)
            .await
        {
            // Committed, now or by an attempt whose answer was lost: this plan either way.
            Ok(()) | Err(WriteError::AlreadyCommitted) => {}
            Err(WriteError::Conflict) => {
                return Err(ApiError::Conflict(
                    "Another KYC submission for this user was recorded at the same time".into(),
                ));
            }
            Err(WriteError::Store(error)) => return Err(error.into()),
        }
        tracing::info!(
            user_id = submission.user_id.get(),
            submission_id = id,
            decision = submission.status.as_str(),
            risk_score = submission.assessment.score,
            "KYC submission decided"
        );
        Ok(submission)
    }

    /// The user's KYC state and their latest submission, if any.
    pub async fn status(
        &self,
        caller: &Caller,
        user_id: UserId,
    ) -> ApiResult<(Applicant, Option<Submission>)> {
        caller.require_self_or_staff(user_id)?;
        let applicant = self.store.applicant(user_id).await?;
        let latest = match applicant.latest_submission_id {
            Some(id) => Some(self.existing_submission(id).await?),
            None => None,
        };
        Ok((applicant, latest))
    }

    /// The risk assessment of the user's latest submission.
    pub async fn risk(
        &self,
        caller: &Caller,
        user_id: UserId,
    ) -> ApiResult<(Applicant, Submission)> {
        let (applicant, latest) = self.status(caller, user_id).await?;
        let latest = latest.ok_or_else(|| {
            ApiError::NotFound(format!("User {user_id} has not submitted KYC documents"))
        })?;
        Ok((applicant, latest))
    }

    /// A staff decision on a submission in manual review, recorded with its event.
    pub async fn review(
        &self,
        caller: &Caller,
        submission_id: u64,
        decision: &str,
        reason: &str,
        causality: &Causality,
    ) -> ApiResult<Submission> {
        caller.require_staff()?;
        let review = Review::parse(decision, reason).map_err(ApiError::Validation)?;
        let submission =
            self.store.submission(submission_id).await?.ok_or_else(|| {
                ApiError::NotFound(format!("Submission {submission_id} not found"))
            })?;
        let reviewed = submission
            .review(review, caller.user_id, OffsetDateTime::now_utc())
            .map_err(|refusal| match refusal {
                ReviewRefusal::OwnSubmission => ApiError::Forbidden(refusal.to_string()),
                ReviewRefusal::NotInReview(_) => ApiError::Conflict(refusal.to_string()),
            })?;
        let applicant = self.store.applicant(submission.user_id).await?;
        let updated = applicant.after_decision(submission_id, reviewed.status);
        let event = EventEnvelope::new(&reviewed.decision_event(updated.sequence), causality);
        match self.store.save_review(&updated, &reviewed, &event).await {
            Ok(()) | Err(WriteError::AlreadyCommitted) => {}
            Err(WriteError::Conflict) => {
                return Err(ApiError::Conflict(
                    "The submission was decided concurrently".into(),
                ));
            }
            Err(WriteError::Store(error)) => return Err(error.into()),
        }
        tracing::info!(
            user_id = reviewed.user_id.get(),
            submission_id,
            reviewer = caller.user_id.get(),
            decision = reviewed.status.as_str(),
            "KYC submission reviewed"
        );
        Ok(reviewed)
    }

    async fn existing_submission(&self, id: u64) -> ApiResult<Submission> {
        self.store
            .submission(id)
            .await?
            .ok_or_else(|| ApiError::internal(format!("submission {id} is referenced but missing")))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use finflow_shared::consumer::InboxMarker;
    use finflow_shared::dynamo::StoreError;
    use finflow_shared::events::kyc::{DecidedBy, KycDecision, KycDecisionRecorded};
    use finflow_shared::jwt::{Claims, Role};
    use finflow_shared::trace::TraceId;

    use super::*;
    use crate::domain::KycState;
    use crate::store::RegistrationOutcome;

    /// The store's contract in memory, including its optimistic-concurrency conditions.
    #[derive(Default)]
    struct MemoryStore {
        next_id: Mutex<u64>,
        applicants: Mutex<HashMap<UserId, Applicant>>,
        submissions: Mutex<HashMap<u64, Submission>>,
        events: Mutex<Vec<EventEnvelope>>,
    }

    impl MemoryStore {
        fn save(
            &self,
            applicant: &Applicant,
            submission: &Submission,
            event: &EventEnvelope,
            submission_ok: impl FnOnce(Option<&Submission>) -> bool,
        ) -> Result<(), WriteError> {
            let mut applicants = self.applicants.lock().unwrap();
            let mut submissions = self.submissions.lock().unwrap();
            let stored = applicants.get(&applicant.user_id).map_or(0, |a| a.sequence);
            if stored + 1 != applicant.sequence || !submission_ok(submissions.get(&submission.id)) {
                return Err(WriteError::Conflict);
            }
            applicants.insert(applicant.user_id, applicant.clone());
            submissions.insert(submission.id, submission.clone());
            self.events.lock().unwrap().push(event.clone());
            Ok(())
        }

        fn decisions(&self) -> Vec<KycDecisionRecorded> {
            self.events
                .lock()
                .unwrap()
                .iter()
                .map(|e| e.decode().unwrap())
                .collect()
        }
    }

    #[async_trait]
    impl KycStore for MemoryStore {
        async fn allocate_submission_id(&self) -> Result<u64, StoreError> {
            let mut next = self.next_id.lock().unwrap();
            *next += 1;
            Ok(*next)
        }
        async fn applicant(&self, user_id: UserId) -> Result<Applicant, StoreError> {
            Ok(self
                .applicants
                .lock()
                .unwrap()
                .get(&user_id)
                .cloned()
                .unwrap_or_else(|| Applicant::new(user_id, None)))
        }
        async fn submission(&self, id: u64) -> Result<Option<Submission>, StoreError> {
            Ok(self.submissions.lock().unwrap().get(&id).cloned())
        }
        async fn save_submission(
            &self,
            applicant: &Applicant,
            submission: &Submission,
            event: &EventEnvelope,
        ) -> Result<(), WriteError> {
            self.save(applicant, submission, event, |s| s.is_none())
        }
        async fn save_review(
            &self,
            applicant: &Applicant,
            submission: &Submission,
            event: &EventEnvelope,
        ) -> Result<(), WriteError> {
            self.save(applicant, submission, event, |s| {
                s.is_some_and(|s| s.status == KycDecision::ManualReview)
            })
        }
        async fn record_registration(
            &self,
            _: UserId,
            _: OffsetDateTime,
            _: InboxMarker,
        ) -> Result<RegistrationOutcome, StoreError> {
            unreachable!("not used by the use cases")
        }
    }

    fn caller(user_id: UserId, role: Role) -> Caller {
        Caller {
            user_id,
            role,
            session_id: "s".into(),
            claims: Claims {
                sub: user_id.to_string(),
                sid: "s".into(),
                role,
                iss: "finflow".into(),
                aud: "finflow-api".into(),
                iat: 0,
                exp: 0,
                jti: "j".into(),
            },
        }
    }

    fn request(user_id: UserId, document_type: &str) -> SubmitRequest {
        SubmitRequest {
            user_id,
            document_type: document_type.into(),
            document_url: "https://example.com/passport.jpg".into(),
            country: None,
        }
    }

    fn causality() -> Causality {
        Causality::from_request(TraceId::generate())
    }

    fn setup() -> (Arc<MemoryStore>, Submissions) {
        let store = Arc::new(MemoryStore::default());
        (store.clone(), Submissions::new(store))
    }

    fn status(error: ApiError) -> u16 {
        error.status().as_u16()
    }

    #[tokio::test]
    async fn the_seed_submission_is_verified_and_announced() {
        let (store, kyc) = setup();
        let user = caller(UserId::new(1), Role::Customer);
        let submission = kyc
            .submit(&user, request(UserId::new(1), "passport"), &causality())
            .await
            .unwrap();
        assert_eq!(submission.status, KycDecision::Verified);
        let events = store.decisions();
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].decision, events[0].sequence, events[0].decided_by),
            (KycDecision::Verified, 1, DecidedBy::Automatic)
        );
        let again = kyc
            .submit(&user, request(UserId::new(1), "passport"), &causality())
            .await;
        assert_eq!(status(again.unwrap_err()), 409);
        let (applicant, latest) = kyc.status(&user, UserId::new(1)).await.unwrap();
        assert_eq!(applicant.state, KycState::Verified);
        assert_eq!(latest.unwrap().id, submission.id);
    }

    #[tokio::test]
    async fn only_the_user_submits_for_themselves_and_bad_input_stores_nothing() {
        let (store, kyc) = setup();
        let other = kyc
            .submit(
                &caller(UserId::new(2), Role::Staff),
                request(UserId::new(1), "passport"),
                &causality(),
            )
            .await;
        assert_eq!(status(other.unwrap_err()), 403);
        let bad = kyc
            .submit(
                &caller(UserId::new(1), Role::Customer),
                request(UserId::new(1), "selfie"),
                &causality(),
            )
            .await;
        assert_eq!(status(bad.unwrap_err()), 422);
        assert!(store.applicants.lock().unwrap().is_empty());
        assert!(store.submissions.lock().unwrap().is_empty());
        assert!(store.events.lock().unwrap().is_empty());
        assert_eq!(
            *store.next_id.lock().unwrap(),
            0,
            "no id is spent on bad input"
        );
    }

    #[tokio::test]
    async fn manual_review_blocks_a_second_submission_until_staff_decide() {
        let (store, kyc) = setup();
        let user = caller(UserId::new(1), Role::Customer);
        let staff = caller(UserId::new(9), Role::Staff);
        let open = kyc
            .submit(
                &user,
                request(UserId::new(1), "drivers_license"),
                &causality(),
            )
            .await
            .unwrap();
        assert_eq!(open.status, KycDecision::ManualReview);
        let second = kyc
            .submit(&user, request(UserId::new(1), "passport"), &causality())
            .await;
        assert_eq!(status(second.unwrap_err()), 409);

        let by_customer = kyc
            .review(&user, open.id, "verified", "ok", &causality())
            .await;
        assert_eq!(status(by_customer.unwrap_err()), 403);
        let invalid = kyc
            .review(&staff, open.id, "maybe", "ok", &causality())
            .await;
        assert_eq!(status(invalid.unwrap_err()), 422);
        let missing = kyc
            .review(&staff, 999, "verified", "ok", &causality())
            .await;
        assert_eq!(status(missing.unwrap_err()), 404);

        let rejected = kyc
            .review(&staff, open.id, "rejected", "blurred scan", &causality())
            .await
            .unwrap();
        assert_eq!(rejected.status, KycDecision::Rejected);
        let twice = kyc
            .review(&staff, open.id, "verified", "changed my mind", &causality())
            .await;
        assert_eq!(status(twice.unwrap_err()), 409);

        // Resubmission after a rejection is allowed; the rejection now counts against it.
        let retry = kyc
            .submit(&user, request(UserId::new(1), "passport"), &causality())
            .await
            .unwrap();
        assert_eq!(retry.status, KycDecision::ManualReview);
        assert!(
            retry
                .reasons()
                .contains(&"previous_rejections:1".to_owned())
        );
        let verified = kyc
            .review(&staff, retry.id, "verified", "video call", &causality())
            .await
            .unwrap();
        assert_eq!(verified.decided_by, DecidedBy::Staff(UserId::new(9)));

        let sequences: Vec<_> = store
            .decisions()
            .iter()
            .map(|e| (e.sequence, e.decision))
            .collect();
        assert_eq!(
            sequences,
            [
                (1, KycDecision::ManualReview),
                (2, KycDecision::Rejected),
                (3, KycDecision::ManualReview),
                (4, KycDecision::Verified),
            ]
        );
        let (applicant, _) = kyc.risk(&user, UserId::new(1)).await.unwrap();
        assert_eq!(
            (applicant.state, applicant.rejections),
            (KycState::Verified, 1)
        );
    }

    #[tokio::test]
    async fn status_and_risk_are_for_the_user_or_staff() {
        let (_, kyc) = setup();
        let (applicant, latest) = kyc
            .status(&caller(UserId::new(1), Role::Customer), UserId::new(1))
            .await
            .unwrap();
        assert_eq!((applicant.state, latest), (KycState::NotSubmitted, None));
        let risk = kyc
            .risk(&caller(UserId::new(1), Role::Customer), UserId::new(1))
            .await;
        assert_eq!(status(risk.unwrap_err()), 404);
        let other = kyc
            .status(&caller(UserId::new(2), Role::Customer), UserId::new(1))
            .await;
        assert_eq!(status(other.unwrap_err()), 403);
        assert!(
            kyc.status(&caller(UserId::new(2), Role::Staff), UserId::new(1))
                .await
                .is_ok()
        );
    }
}
