//! Where KYC keeps its state: the port, and its DynamoDB adapter.
//!
//! KYC table layout (pk, sk):
//! - `USER#<id>`, `PROFILE`: the user's KYC state, latest submission, rejections and decision
//!   sequence (the optimistic-concurrency guard of every decision)
//! - `USER#<id>`, `REGISTRATION`: when the user registered, learned from `user.created`
//! - `SUBMISSION#<id>`, `SUBMISSION`: a submission, its risk assessment and decision
//! - `SEQUENCE#submissions`, `SEQUENCE`: the submission id counter

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use finflow_shared::UserId;
use finflow_shared::consumer::{InboxMarker, inbox_claim};
use finflow_shared::dynamo::{
    Item, ItemExt, StoreError, get_item, next_sequence_value, number, text, timestamp,
};
use finflow_shared::events::EventEnvelope;
use finflow_shared::events::kyc::{DecidedBy, DocumentType, KycDecision};
use finflow_shared::outbox::outbox_witness;
use finflow_shared::transaction::{Failure, TransactError, transact};
use time::OffsetDateTime;

use crate::domain::{
    Applicant, Country, Document, KycState, RiskAssessment, RiskFactor, Submission,
};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Another decision for the user (or on the submission) was recorded first.
    #[error("the record changed concurrently")]
    Conflict,
    /// This very write committed in an attempt whose answer was lost.
    #[error("the write committed already")]
    AlreadyCommitted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of a registration the consumer passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationOutcome {
    Recorded,
    /// KYC already knew when the user registered; kept the first.
    AlreadyKnown,
    /// This event was processed before.
    Duplicate,
}

#[async_trait]
pub trait KycStore: Send + Sync {
    async fn allocate_submission_id(&self) -> Result<u64, StoreError>;
    /// The user as KYC knows them; a user it has never heard of is `Applicant::new`.
    async fn applicant(&self, user_id: UserId) -> Result<Applicant, StoreError>;
    async fn submission(&self, id: u64) -> Result<Option<Submission>, StoreError>;
    /// Stores a new submission, the applicant after its decision (if still at sequence
    /// `applicant.sequence - 1`) and the decision's event, atomically.
    async fn save_submission(
        &self,
        applicant: &Applicant,
        submission: &Submission,
        event: &EventEnvelope,
    ) -> Result<(), WriteError>;
    /// Stores a reviewed submission (if it was still in manual review), the applicant after
    /// the review (if still at sequence `applicant.sequence - 1`) and the event, atomically.
    async fn save_review(
        &self,
        applicant: &Applicant,
        submission: &Submission,
        event: &EventEnvelope,
    ) -> Result<(), WriteError>;
    /// Records when `user_id` registered, with the consumer's inbox marker for the event that
    /// said so, atomically.
    async fn record_registration(
        &self,
        user_id: UserId,
        registered_at: OffsetDateTime,
        inbox: InboxMarker,
    ) -> Result<RegistrationOutcome, StoreError>;
}

pub struct DynamoKycStore {
    client: Client,
    kyc_table: String,
    outbox_table: String,
    inbox_table: String,
}

impl DynamoKycStore {
    pub fn new(
        client: Client,
        kyc_table: impl Into<String>,
        outbox_table: impl Into<String>,
        inbox_table: impl Into<String>,
    ) -> Self {
        DynamoKycStore {
            client,
            kyc_table: kyc_table.into(),
            outbox_table: outbox_table.into(),
            inbox_table: inbox_table.into(),
        }
    }

    fn put(&self, item: Item, condition: Condition) -> TransactWriteItem {
        let mut put = Put::builder()
            .table_name(&self.kyc_table)
            .set_item(Some(item));
        put = match condition {
            Condition::New => put.condition_expression("attribute_not_exists(pk)"),
            Condition::Sequence(expected) => put
                .condition_expression("#sequence = :expected")
                .expression_attribute_names("#sequence", "sequence")
                .expression_attribute_values(":expected", number(expected)),
            Condition::InReview => put
                .condition_expression("#status = :in_review")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(
                    ":in_review",
                    text(KycDecision::ManualReview.as_str()),
                ),
        };
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }

    /// The profile's condition: created by the first decision, then guarded by its sequence.
    fn profile_put(&self, applicant: &Applicant) -> TransactWriteItem {
        let condition = match applicant.sequence {
            0 | 1 => Condition::New,
            next => Condition::Sequence(next - 1),
        };
        self.put(profile_item(applicant), condition)
    }

    async fn save(
        &self,
        applicant: &Applicant,
        submission: &Submission,
        submission_condition: Condition,
        event: &EventEnvelope,
    ) -> Result<(), WriteError> {
        let items = vec![
            self.put(submission_item(submission), submission_condition),
            self.profile_put(applicant),
        ];
        // One plan per request: its event's outbox row witnesses it.
        transact(
            &self.client,
            outbox_witness(&self.outbox_table, event),
            items,
        )
        .await
        .map_err(|error| match Failure::from(error) {
            Failure::AlreadyCommitted => WriteError::AlreadyCommitted,
            Failure::Conflict => WriteError::Conflict,
            Failure::Store(error) => WriteError::Store(error),
        })
    }
}

enum Condition {
    /// The item must not exist yet.
    New,
    /// The profile must still be at this decision sequence.
    Sequence(u64),
    /// The submission must still be in manual review.
    InReview,
}

fn profile_item(applicant: &Applicant) -> Item {
    let mut item = Item::from([
        ("pk".into(), text(format!("USER#{}", applicant.user_id))),
        ("sk".into(), text("PROFILE")),
        ("user_id".into(), number(applicant.user_id)),
        ("kyc_status".into(), text(applicant.state.as_str())),
        ("rejections".into(), number(applicant.rejections)),
        ("sequence".into(), number(applicant.sequence)),
        ("updated_at".into(), timestamp(OffsetDateTime::now_utc())),
    ]);
    if let Some(id) = applicant.latest_submission_id {
        item.insert("latest_submission_id".into(), number(id));
    }
    item
}

fn submission_item(submission: &Submission) -> Item {
    let factors = submission
        .assessment
        .factors
        .iter()
        .map(|factor| {
            AttributeValue::M(
                [
                    ("code".to_owned(), text(&factor.code)),
                    ("points".to_owned(), number(factor.points)),
                ]
                .into(),
            )
        })
        .collect();
    let mut item = Item::from([
        ("pk".into(), text(format!("SUBMISSION#{}", submission.id))),
        ("sk".into(), text("SUBMISSION")),
        ("submission_id".into(), number(submission.id)),
        ("user_id".into(), number(submission.user_id)),
        (
            "document_type".into(),
            text(submission.document.document_type.as_str()),
        ),
        ("document_url".into(), text(&submission.document.url)),
        ("status".into(), text(submission.status.as_str())),
        ("risk_score".into(), number(submission.assessment.score)),
        (
            "automatic_decision".into(),
            text(submission.assessment.decision.as_str()),
        ),
        ("risk_factors".into(), AttributeValue::L(factors)),
        ("submitted_at".into(), timestamp(submission.submitted_at)),
        ("decided_at".into(), timestamp(submission.decided_at)),
    ]);
    if let Some(country) = submission.document.country {
        item.insert("country".into(), text(country.as_str()));
    }
    match submission.decided_by {
        DecidedBy::Automatic => {
            item.insert("decided_by".into(), text("automatic"));
        }
        DecidedBy::Staff(reviewer) => {
            item.insert("decided_by".into(), text("staff"));
            item.insert("reviewer_id".into(), number(reviewer));
        }
    }
    if let Some(reason) = &submission.review_reason {
        item.insert("review_reason".into(), text(reason));
    }
    item
}

fn submission_from_item(item: &Item) -> Result<Submission, StoreError> {
    let decision_of = |attribute: &str| {
        KycDecision::parse(&item.string(attribute)?).ok_or_else(|| item.corrupt(attribute))
    };
    let factors = match item.get("risk_factors") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|value| {
                let AttributeValue::M(factor) = value else {
                    return Err(item.corrupt("risk_factors"));
                };
                Ok(RiskFactor {
                    code: factor.string("code")?,
                    points: factor.number("points")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(item.corrupt("risk_factors")),
    };
    let country = item
        .optional_string("country")
        .map(|code| Country::parse(&code).map_err(|_| item.corrupt("country")))
        .transpose()?;
    let decided_by = match item.string("decided_by")?.as_str() {
        "automatic" => DecidedBy::Automatic,
        "staff" => DecidedBy::Staff(item.number("reviewer_id")?),
        _ => return Err(item.corrupt("decided_by")),
    };
    Ok(Submission {
        id: item.number("submission_id")?,
        user_id: item.number("user_id")?,
        document: Document {
            document_type: DocumentType::parse(&item.string("document_type")?)
                .ok_or_else(|| item.corrupt("document_type"))?,
            url: item.string("document_url")?,
            country,
        },
        assessment: RiskAssessment {
            score: item.number("risk_score")?,
            decision: decision_of("automatic_decision")?,
            factors,
        },
        status: decision_of("status")?,
        decided_by,
        review_reason: item.optional_string("review_reason"),
        submitted_at: item.timestamp("submitted_at")?,
        decided_at: item.timestamp("decided_at")?,
    })
}

#[async_trait]
impl KycStore for DynamoKycStore {
    async fn allocate_submission_id(&self) -> Result<u64, StoreError> {
        next_sequence_value(&self.client, &self.kyc_table, "submissions").await
    }

    async fn applicant(&self, user_id: UserId) -> Result<Applicant, StoreError> {
        // One consistent query reads both the profile and the registration.
        let output = self
            .client
            .query()
            .table_name(&self.kyc_table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", text(format!("USER#{user_id}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let mut applicant = Applicant::new(user_id, None);
        for item in output.items() {
            match item.optional_string("sk").as_deref() {
                Some("REGISTRATION") => {
                    applicant.registered_at = Some(item.timestamp("registered_at")?);
                }
                Some("PROFILE") => {
                    applicant.state = KycState::parse(&item.string("kyc_status")?)
                        .ok_or_else(|| item.corrupt("kyc_status"))?;
                    applicant.latest_submission_id = item.number("latest_submission_id").ok();
                    applicant.rejections = item.number("rejections")?;
                    applicant.sequence = item.number("sequence")?;
                }
                _ => {}
            }
        }
        Ok(applicant)
    }

    async fn submission(&self, id: u64) -> Result<Option<Submission>, StoreError> {
        get_item(
            &self.client,
            &self.kyc_table,
            format!("SUBMISSION#{id}"),
            "SUBMISSION",
        )
        .await?
        .map(|item| submission_from_item(&item))
        .transpose()
    }

    async fn save_submission(
        &self,
        applicant: &Applicant,
        submission: &Submission,
        event: &EventEnvelope,
    ) -> Result<(), WriteError> {
        self.save(applicant, submission, Condition::New, event)
            .await
    }

    async fn save_review(
        &self,
        applicant: &Applicant,
        submission: &Submission,
        event: &EventEnvelope,
    ) -> Result<(), WriteError> {
        self.save(applicant, submission, Condition::InReview, event)
            .await
    }

    async fn record_registration(
        &self,
        user_id: UserId,
        registered_at: OffsetDateTime,
        inbox: InboxMarker,
    ) -> Result<RegistrationOutcome, StoreError> {
        let claim = || inbox_claim(&self.inbox_table, inbox);
        let registration = Item::from([
            ("pk".into(), text(format!("USER#{user_id}"))),
            ("sk".into(), text("REGISTRATION")),
            ("user_id".into(), number(user_id)),
            ("registered_at".into(), timestamp(registered_at)),
        ]);
        let failed = |e: TransactError| StoreError::Sdk(e.to_string());
        match transact(
            &self.client,
            claim(),
            vec![self.put(registration, Condition::New)],
        )
        .await
        {
            Ok(()) => Ok(RegistrationOutcome::Recorded),
            Err(TransactError::AlreadyCommitted) => Ok(RegistrationOutcome::Duplicate),
            Err(e) if e.condition_failed_at(0) => {
                // Known already: remember the event so a redelivery is recognised.
                match transact(&self.client, claim(), Vec::new()).await {
                    Ok(()) => Ok(RegistrationOutcome::AlreadyKnown),
                    Err(TransactError::AlreadyCommitted) => Ok(RegistrationOutcome::Duplicate),
                    Err(e) => Err(failed(e)),
                }
            }
            Err(e) => Err(failed(e)),
        }
    }
}
