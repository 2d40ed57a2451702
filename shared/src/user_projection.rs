//! A service's own copy of what it needs to know of each user (KYC status and tier), learned
//! from auth's `user.*` events (event-carried state transfer) into the service's own table,
//! never read from auth's.
//!
//! Item: pk `CUSTOMER#<user id>`, sk `PROFILE`. The projection only sets the user's fields,
//! so the owning service may keep its own attributes on the same item.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use crate::consumer::{BusMessage, ConsumeError, EventConsumer, InboxMarker, Outcome, inbox_claim};
use crate::contracts::{EventRead, Field};
use crate::dynamo::{number, text};
use crate::events::user::{UserCreated, UserKycUpdated, UserSnapshot, UserTierChanged};
use crate::events::{EnvelopeError, EventEnvelope};
use crate::transaction::{TransactError, transact};

/// The KYC statuses and tiers the owning services branch on: wallet creation and transfers
/// need `verified`, and each tier has its own wallet, deposit and transfer limits. A new value
/// is not handled until those rules know it.
const KYC_STATUSES: &[&str] = &["pending", "verified", "rejected"];
const TIERS: &[&str] = &["bronze", "silver", "gold"];

/// What a projection reads: the snapshot of every `user.*` event, each decoded whole (the
/// fields it does not keep are only decoded).
pub const READS: &[EventRead] = &[
    EventRead::whole::<UserCreated>(&[
        Field::value("/user_id"),
        Field::matches("/kyc_status", KYC_STATUSES),
        Field::matches("/account_tier", TIERS),
        Field::value("/version"),
    ]),
    EventRead::whole::<UserKycUpdated>(&[
        Field::value("/user_id"),
        Field::matches("/kyc_status", KYC_STATUSES),
        Field::matches("/account_tier", TIERS),
        Field::value("/version"),
        Field::decoded("/previous_kyc_status"),
    ]),
    EventRead::whole::<UserTierChanged>(&[
        Field::value("/user_id"),
        Field::matches("/kyc_status", KYC_STATUSES),
        Field::matches("/account_tier", TIERS),
        Field::value("/version"),
        Field::decoded("/previous_tier"),
    ]),
];

/// The newest user snapshot of any `user.*` event, or `None` for other events.
pub fn snapshot_of(event: &EventEnvelope) -> Option<Result<UserSnapshot, ConsumeError>> {
    let malformed = |e: EnvelopeError| ConsumeError::Malformed(e.to_string());
    if event.is::<UserCreated>() {
        Some(
            event
                .decode::<UserCreated>()
                .map(|e| e.user)
                .map_err(malformed),
        )
    } else if event.is::<UserKycUpdated>() {
        Some(
            event
                .decode::<UserKycUpdated>()
                .map(|e| e.user)
                .map_err(malformed),
        )
    } else if event.is::<UserTierChanged>() {
        Some(
            event
                .decode::<UserTierChanged>()
                .map(|e| e.user)
                .map_err(malformed),
        )
    } else {
        None
    }
}

pub struct UserProjection {
    /// Names this consumer in the inbox and the logs, e.g. `wallet.customers`.
    consumer: &'static str,
    client: Client,
    table: String,
    idempotency_table: String,
}

impl UserProjection {
    pub fn new(
        consumer: &'static str,
        client: Client,
        table: String,
        idempotency_table: String,
    ) -> Self {
        UserProjection {
            consumer,
            client,
            table,
            idempotency_table,
        }
    }

    fn snapshot_update(&self, snapshot: &UserSnapshot) -> TransactWriteItem {
        // An update, not a put: the owning service may keep its own attributes on the item.
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", text(format!("CUSTOMER#{}", snapshot.user_id)))
            .key("sk", text("PROFILE"))
            .update_expression(
                "SET user_id = :user, kyc_status = :kyc, account_tier = :tier, #version = :version",
            )
            // Events may arrive out of order; an older snapshot never overwrites a newer one.
            .condition_expression("attribute_not_exists(#version) OR #version < :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":user", number(snapshot.user_id))
            .expression_attribute_values(":kyc", text(snapshot.kyc_status.as_str()))
            .expression_attribute_values(":tier", text(snapshot.account_tier.as_str()))
            .expression_attribute_values(":version", number(snapshot.version))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }
}

#[async_trait]
impl EventConsumer for UserProjection {
    fn name(&self) -> &'static str {
        self.consumer
    }

    fn reads(&self) -> &'static [EventRead] {
        READS
    }

    async fn consume(&self, message: &BusMessage) -> Result<Outcome, ConsumeError> {
        let event = &message.detail;
        let Some(snapshot) = snapshot_of(event) else {
            return Ok(Outcome::Ignored);
        };
        let snapshot = snapshot?;
        let claim = || {
            inbox_claim(
                &self.idempotency_table,
                InboxMarker {
                    consumer: self.consumer,
                    event_id: event.event_id,
                },
            )
        };
        let failed = |e: TransactError| ConsumeError::Failed(e.to_string());
        match transact(&self.client, claim(), vec![self.snapshot_update(&snapshot)]).await {
            Ok(()) => Ok(Outcome::Applied),
            Err(TransactError::AlreadyCommitted) => Ok(Outcome::Duplicate),
            Err(e) if e.condition_failed_at(0) => {
                // Stale: remember the event so a redelivery is recognised, change nothing.
                match transact(&self.client, claim(), Vec::new()).await {
                    Ok(()) => Ok(Outcome::Ignored),
                    Err(TransactError::AlreadyCommitted) => Ok(Outcome::Duplicate),
                    Err(e) => Err(failed(e)),
                }
            }
            Err(e) => Err(failed(e)),
        }
    }
}
