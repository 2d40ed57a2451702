//! Where auth keeps users and sessions: the port, and its DynamoDB adapter.
//!
//! Users table layout (pk, sk):
//! - `USER#<id>`, `PROFILE`: the user
//! - `EMAIL#<email>`, `EMAIL`: claims an address for one user (uniqueness)
//! - `USER#<id>`, `ROLE#<version>`: a role change, kept for audit (who, when, from what)
//! - `SESSION#<id>`, `SESSION`: a login session
//! - `SEQUENCE#users`, `SEQUENCE`: the user id counter

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use finflow_shared::UserId;
use finflow_shared::consumer::{InboxMarker, inbox_claim};
use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::dynamo::{
    Item, ItemExt, StoreError, get_item, is_condition_failure, next_sequence_value, number, text,
    timestamp,
};
use finflow_shared::events::EventEnvelope;
use finflow_shared::events::user::RoleChangedBy;
use finflow_shared::jwt::Role;
use finflow_shared::outbox::{outbox_put, outbox_witness};
use finflow_shared::transaction::{Failure, TransactError, transact};
use time::OffsetDateTime;

use crate::domain::{Email, Session, User};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("email address already registered")]
    EmailTaken,
    /// Someone else changed the record first; the caller may re-read and retry.
    #[error("the record changed concurrently")]
    Conflict,
    /// This very write committed in an attempt whose answer was lost.
    #[error("the write committed already")]
    AlreadyCommitted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TransactError> for WriteError {
    fn from(error: TransactError) -> Self {
        match Failure::from(error) {
            Failure::AlreadyCommitted => WriteError::AlreadyCommitted,
            Failure::Conflict => WriteError::Conflict,
            Failure::Store(error) => WriteError::Store(error),
        }
    }
}

/// What the audit trail keeps of a role change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChangeRecord {
    pub previous_role: Role,
    pub changed_by: RoleChangedBy,
}

#[derive(Debug, thiserror::Error)]
pub enum EventWriteError {
    /// The consumer processed this event before; nothing was written.
    #[error("event already processed")]
    AlreadyProcessed,
    /// Someone else changed the user first; the consumer may re-read and retry.
    #[error("the record changed concurrently")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn allocate_user_id(&self) -> Result<UserId, StoreError>;
    /// Stores a new user and its `user.created` event atomically.
    async fn create_user(&self, user: &User, event: &EventEnvelope) -> Result<(), WriteError>;
    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    /// Replaces the user if it is still at `updated.version - 1`, with its event, atomically.
    async fn update_user(&self, updated: &User, event: &EventEnvelope) -> Result<(), WriteError>;
    /// A role change: replaces the user if it is still at `updated.version - 1`, with its
    /// event and the audit record of who changed the role from what, atomically.
    async fn change_role(
        &self,
        updated: &User,
        change: &RoleChangeRecord,
        event: &EventEnvelope,
    ) -> Result<(), WriteError>;
    /// For a consumer: replaces the user if it is still at `updated.version - 1`, with its
    /// event (if any) and the inbox marker, atomically.
    async fn update_user_for_event(
        &self,
        updated: &User,
        event: Option<&EventEnvelope>,
        inbox: InboxMarker,
    ) -> Result<(), EventWriteError>;
    /// For a consumer: records an event as processed without changing anything. `false` when
    /// it was processed before.
    async fn mark_processed(&self, inbox: InboxMarker) -> Result<bool, StoreError>;
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError>;
    /// Swaps the refresh token hash if `current_hash` is still the live one.
    async fn rotate_refresh_token(
        &self,
        id: &str,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError>;
    async fn revoke_session(&self, id: &str) -> Result<(), StoreError>;
}

pub struct DynamoUserStore {
    client: Client,
    users_table: String,
    outbox_table: String,
    /// Consumers' inbox markers (the idempotency table).
    inbox_table: String,
}

impl DynamoUserStore {
    pub fn new(
        client: Client,
        users_table: impl Into<String>,
        outbox_table: impl Into<String>,
        inbox_table: impl Into<String>,
    ) -> Self {
        DynamoUserStore {
            client,
            users_table: users_table.into(),
            outbox_table: outbox_table.into(),
            inbox_table: inbox_table.into(),
        }
    }

    /// The user's put, on condition that it is still at `updated.version - 1`.
    fn versioned_user_put(&self, updated: &User) -> TransactWriteItem {
        let mut put = self.user_put(updated);
        put.condition_expression = Some("#version = :expected".into());
        put.expression_attribute_names =
            Some([("#version".to_owned(), "version".to_owned())].into());
        put.expression_attribute_values =
            Some([(":expected".to_owned(), number(updated.version - 1))].into());
        TransactWriteItem::builder().put(put).build()
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        get_item(&self.client, &self.users_table, pk, sk).await
    }

    fn user_put(&self, user: &User) -> Put {
        let mut put = Put::builder().table_name(&self.users_table);
        for (name, value) in user_item(user) {
            put = put.item(name, value);
        }
        put.build().expect("table and item are set")
    }
}

fn user_item(user: &User) -> Item {
    Item::from([
        ("pk".into(), text(format!("USER#{}", user.id))),
        ("sk".into(), text("PROFILE")),
        ("user_id".into(), number(user.id)),
        ("email".into(), text(user.email.as_str())),
        ("name".into(), text(&user.name)),
        ("password_hash".into(), text(&user.password_hash)),
        ("role".into(), text(user.role.as_str())),
        ("kyc_status".into(), text(user.kyc_status.as_str())),
        ("account_tier".into(), text(user.account_tier.as_str())),
        ("version".into(), number(user.version)),
        (
            "kyc_decision_sequence".into(),
            number(user.kyc_decision_sequence),
        ),
        ("created_at".into(), timestamp(user.created_at)),
        ("updated_at".into(), timestamp(user.updated_at)),
    ])
}

fn user_from_item(item: &Item) -> Result<User, StoreError> {
    Ok(User {
        id: item.number("user_id")?,
        email: Email::parse(&item.string("email")?).map_err(|_| item.corrupt("email"))?,
        name: item.string("name")?,
        password_hash: item.string("password_hash")?,
        role: Role::parse(&item.string("role")?).ok_or_else(|| item.corrupt("role"))?,
        kyc_status: KycStatus::parse(&item.string("kyc_status")?)
            .ok_or_else(|| item.corrupt("kyc_status"))?,
        account_tier: AccountTier::parse(&item.string("account_tier")?)
            .ok_or_else(|| item.corrupt("account_tier"))?,
        version: item.number("version")?,
        // Absent on users stored before KYC decisions were applied: none applied yet.
        kyc_decision_sequence: match item.get("kyc_decision_sequence") {
            Some(_) => item.number("kyc_decision_sequence")?,
            None => 0,
        },
        created_at: item.timestamp("created_at")?,
        updated_at: item.timestamp("updated_at")?,
    })
}

fn session_from_item(item: &Item) -> Result<Session, StoreError> {
    let expires_at: i64 = item.number("expires_at")?;
    Ok(Session {
        id: item.string("session_id")?,
        user_id: item.number("user_id")?,
        refresh_token_hash: item.string("refresh_token_hash")?,
        expires_at: OffsetDateTime::from_unix_timestamp(expires_at).map_err(|_| {
            StoreError::Corrupt {
                key: item.optional_string("pk").unwrap_or_default(),
                attribute: "expires_at".into(),
            }
        })?,
        revoked: matches!(item.get("revoked"), Some(AttributeValue::Bool(true))),
    })
}

#[async_trait]
impl UserStore for DynamoUserStore {
    async fn allocate_user_id(&self) -> Result<UserId, StoreError> {
        next_sequence_value(&self.client, &self.users_table, "users").await
    }

    async fn create_user(&self, user: &User, event: &EventEnvelope) -> Result<(), WriteError> {
        let claim_email = Put::builder()
            .table_name(&self.users_table)
            .item("pk", text(format!("EMAIL#{}", user.email)))
            .item("sk", text("EMAIL"))
            .item("user_id", number(user.id))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item are set");
        let mut profile = self.user_put(user);
        profile.condition_expression = Some("attribute_not_exists(pk)".into());
        let items = vec![
            TransactWriteItem::builder().put(claim_email).build(),
            TransactWriteItem::builder().put(profile).build(),
        ];
        // One plan per registration: its event's outbox row witnesses it.
        transact(
            &self.client,
            outbox_witness(&self.outbox_table, event),
            items,
        )
        .await
        .map_err(|error| match error {
            e if e.condition_failed_at(0) => WriteError::EmailTaken,
            e => e.into(),
        })
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.get(format!("USER#{id}"), "PROFILE")
            .await?
            .map(|item| user_from_item(&item))
            .transpose()
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let Some(claim) = self.get(format!("EMAIL#{email}"), "EMAIL").await? else {
            return Ok(None);
        };
        self.find_user(claim.number("user_id")?).await
    }

    async fn update_user(&self, updated: &User, event: &EventEnvelope) -> Result<(), WriteError> {
        let items = vec![self.versioned_user_put(updated)];
        transact(
            &self.client,
            outbox_witness(&self.outbox_table, event),
            items,
        )
        .await
        .map_err(WriteError::from)
    }

    async fn change_role(
        &self,
        updated: &User,
        change: &RoleChangeRecord,
        event: &EventEnvelope,
    ) -> Result<(), WriteError> {
        let changed_by =
            serde_json::to_string(&change.changed_by).expect("a role changer serializes");
        let audit = Put::builder()
            .table_name(&self.users_table)
            .item("pk", text(format!("USER#{}", updated.id)))
            // Zero-padded so the trail sorts by version.
            .item("sk", text(format!("ROLE#{:020}", updated.version)))
            .item("role", text(updated.role.as_str()))
            .item("previous_role", text(change.previous_role.as_str()))
            .item("changed_by", text(changed_by))
            .item("changed_at", timestamp(updated.updated_at))
            .item("event_id", text(event.event_id.to_string()))
            .build()
            .expect("table and item are set");
        let items = vec![
            self.versioned_user_put(updated),
            TransactWriteItem::builder().put(audit).build(),
        ];
        transact(
            &self.client,
            outbox_witness(&self.outbox_table, event),
            items,
        )
        .await
        .map_err(WriteError::from)
    }

    async fn update_user_for_event(
        &self,
        updated: &User,
        event: Option<&EventEnvelope>,
        inbox: InboxMarker,
    ) -> Result<(), EventWriteError> {
        let mut items = vec![self.versioned_user_put(updated)];
        items.extend(event.map(|event| outbox_put(&self.outbox_table, event)));
        let inbox = inbox_claim(&self.inbox_table, inbox);
        transact(&self.client, inbox, items)
            .await
            .map_err(|error| match error {
                TransactError::AlreadyCommitted => EventWriteError::AlreadyProcessed,
                e if e.is_conflict() => EventWriteError::Conflict,
                TransactError::Cancelled { reasons } => {
                    EventWriteError::Store(StoreError::Sdk(format!("cancelled: {reasons:?}")))
                }
                TransactError::Store(e) => EventWriteError::Store(e),
            })
    }

    async fn mark_processed(&self, inbox: InboxMarker) -> Result<bool, StoreError> {
        let claim = inbox_claim(&self.inbox_table, inbox);
        match transact(&self.client, claim, Vec::new()).await {
            Ok(()) => Ok(true),
            Err(TransactError::AlreadyCommitted) => Ok(false),
            Err(TransactError::Store(e)) => Err(e),
            Err(e) => Err(StoreError::Sdk(e.to_string())),
        }
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.users_table)
            .item("pk", text(format!("SESSION#{}", session.id)))
            .item("sk", text("SESSION"))
            .item("session_id", text(&session.id))
            .item("user_id", number(session.user_id))
            .item("refresh_token_hash", text(&session.refresh_token_hash))
            .item("expires_at", number(session.expires_at.unix_timestamp()))
            .item("revoked", AttributeValue::Bool(session.revoked))
            // A retried put whose first attempt was applied meets its own session.
            .condition_expression("attribute_not_exists(pk) OR refresh_token_hash = :hash")
            .expression_attribute_values(":hash", text(&session.refresh_token_hash))
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(())
    }

    async fn find_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.get(format!("SESSION#{id}"), "SESSION")
            .await?
            .map(|item| session_from_item(&item))
            .transpose()
    }

    async fn rotate_refresh_token(
        &self,
        id: &str,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let outcome = self
            .client
            .update_item()
            .table_name(&self.users_table)
            .key("pk", text(format!("SESSION#{id}")))
            .key("sk", text("SESSION"))
            .update_expression("SET refresh_token_hash = :new")
            // `:new` too: a retried rotation whose first attempt was applied is not a reuse.
            .condition_expression(
                "(refresh_token_hash = :current OR refresh_token_hash = :new) AND revoked = :false",
            )
            .expression_attribute_values(":new", text(new_hash))
            .expression_attribute_values(":current", text(current_hash))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => Err(StoreError::sdk(error)),
        }
    }

    async fn revoke_session(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.users_table)
            .key("pk", text(format!("SESSION#{id}")))
            .key("sk", text("SESSION"))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await
            .map(|_| ())
            .or_else(|error| {
                // Revoking a session that does not exist leaves nothing to revoke.
                if is_condition_failure(&error) {
                    Ok(())
                } else {
                    Err(StoreError::sdk(error))
                }
            })
    }
}
