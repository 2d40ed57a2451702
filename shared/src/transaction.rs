//! All-or-nothing writes that commit at most once, whatever happens to the call.
//!
//! DynamoDB can apply a `TransactWriteItems` and still fail for the caller: the answer is lost
//! to a timeout, a reset connection or a 500, and the SDK sends it again. Without more, the
//! retry meets its own committed write, reads it as a conflict, and the caller re-plans and
//! commits a second time: one request, money moved twice.
//!
//! So every transaction carries a **witness**: one item whose key names the *operation*, fixed
//! before its first attempt (the inbox marker of the event a consumer applies, the receipt of
//! the HTTP request being served), and whose condition holds only until that operation commits.
//! Whatever the number of attempts, re-sends and re-plans, at most one of them can commit (the
//! others fail on the witness), and a failed witness means one thing: *committed already*.
//!
//! [`transact`] also resolves what the network leaves open. An answer that never came (a
//! timeout, a reset, a 5xx, throttling that outlasted the SDK's retries) is settled by reading
//! the witness: present, the operation committed; absent, the same items are sent again (with
//! the same `ClientRequestToken`, which AWS itself deduplicates for ten minutes), a few times.
//!
//! | outcome | meaning | the caller |
//! |---|---|---|
//! | `Ok(())` | this call committed | answers |
//! | [`TransactError::AlreadyCommitted`] | an earlier attempt of the operation committed | answers what was committed (a receipt, an inbox marker: nothing to do) |
//! | [`TransactError::Cancelled`] | nothing committed: a condition failed, or items stayed busy (another transaction, throttling) after the same items were sent again a few times | re-reads and re-plans ([`TransactError::is_conflict`]) or refuses |
//! | [`TransactError::Store`] | a definite error, or an answer still unknown after every re-send | fails the request; a later attempt of the same operation still commits at most once |

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use crate::dynamo::{Item, StoreError};

/// How often an unknown outcome is resolved by sending the same transaction again (the SDK has
/// already made its own attempts of each).
const RESENDS: u32 = 3;

/// The item that proves an operation committed. Its key is fixed before the first attempt; its
/// condition holds until the operation commits, and never after.
#[derive(Debug, Clone)]
pub struct Witness {
    item: TransactWriteItem,
    table: String,
    key: Item,
    /// The witness shows the commit when the stored item has these values (none: it exists).
    committed_when: Vec<(String, AttributeValue)>,
}

impl Witness {
    /// A witness that the operation creates: its condition is `attribute_not_exists`, and its
    /// existence proves the commit.
    pub fn created(item: TransactWriteItem, table: impl Into<String>, key: Item) -> Self {
        Witness {
            item,
            table: table.into(),
            key,
            committed_when: Vec::new(),
        }
    }

    /// A witness the operation updates: it proves the commit when it holds `values`.
    pub fn updated(
        item: TransactWriteItem,
        table: impl Into<String>,
        key: Item,
        values: Vec<(String, AttributeValue)>,
    ) -> Self {
        Witness {
            item,
            table: table.into(),
            key,
            committed_when: values,
        }
    }

    fn shows_commit(&self, stored: Option<&Item>) -> bool {
        stored.is_some_and(|item| {
            self.committed_when
                .iter()
                .all(|(name, value)| item.get(name) == Some(value))
        })
    }

    async fn read(&self, client: &Client) -> Result<bool, StoreError> {
        let output = client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(self.shows_commit(output.item()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransactError {
    /// An earlier attempt of this operation committed; this one changed nothing.
    #[error("the operation committed already")]
    AlreadyCommitted,
    /// Nothing committed. `reasons[i]` is the code for the caller's item `i` ("None" when that
    /// item was fine, "ConditionalCheckFailed" when its condition failed, "TransactionConflict"
    /// when another transaction held it).
    #[error("transaction cancelled: {reasons:?}")]
    Cancelled { reasons: Vec<String> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a failed transaction means to a caller, once the caller has told apart the refusals
/// of its own conditions ([`TransactError::condition_failed_at`]).
#[derive(Debug)]
pub enum Failure {
    /// An earlier attempt of the operation committed.
    AlreadyCommitted,
    /// Nothing committed; read again and re-plan.
    Conflict,
    Store(StoreError),
}

impl From<TransactError> for Failure {
    fn from(error: TransactError) -> Self {
        match error {
            TransactError::AlreadyCommitted => Failure::AlreadyCommitted,
            error if error.is_conflict() => Failure::Conflict,
            TransactError::Cancelled { reasons } => Failure::Store(StoreError::Sdk(format!(
                "transaction cancelled: {reasons:?}"
            ))),
            TransactError::Store(error) => Failure::Store(error),
        }
    }
}

/// Cancellation reasons after which reading again and re-planning can succeed.
const RETRYABLE_REASONS: [&str; 5] = [
    "None",
    "ConditionalCheckFailed",
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

impl TransactError {
    pub fn condition_failed_at(&self, index: usize) -> bool {
        let TransactError::Cancelled { reasons } = self else {
            return false;
        };
        reasons.get(index).map(String::as_str) == Some("ConditionalCheckFailed")
    }

    /// Cancelled because something changed or was busy: conditions that no longer hold, or
    /// another transaction on the same items. Reading again and re-planning is the answer.
    pub fn is_conflict(&self) -> bool {
        let TransactError::Cancelled { reasons } = self else {
            return false;
        };
        reasons
            .iter()
            .all(|reason| RETRYABLE_REASONS.contains(&reason.as_str()))
    }
}

/// Runs one all-or-nothing write of `items` that commits at most once per `witness`.
pub async fn transact(
    client: &Client,
    witness: Witness,
    items: Vec<TransactWriteItem>,
) -> Result<(), TransactError> {
    // After a lost answer or a failed witness condition it reads the witness.
    crate::aws_access::reachable(
        "dynamodb:GetItem",
        crate::aws_access::table(&witness.table, None),
    );
    let token = uuid::Uuid::new_v4().to_string();
    let mut all = Vec::with_capacity(items.len() + 1);
    all.push(witness.item.clone());
    all.extend(items);
    let mut pause = Duration::from_millis(20);
    let mut resends = 0;
    loop {
        let sent = client
            .transact_write_items()
            .set_transact_items(Some(all.clone()))
            .client_request_token(&token)
            .send()
            .await;
        let error = match sent {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        if let Some(mut reasons) = cancellation_reasons(&error) {
            let witness_failed =
                reasons.first().map(String::as_str) == Some("ConditionalCheckFailed");
            if witness_failed && witness.read(client).await? {
                return Err(TransactError::AlreadyCommitted);
            }
            // Only busy, nothing refused: the same items may well commit now (DynamoDB's own
            // advice for TransactionConflict), and the witness keeps it to once.
            if only_busy(&reasons) && resends < RESENDS {
                resends += 1;
                tokio::time::sleep(pause).await;
                pause *= 2;
                continue;
            }
            if !reasons.is_empty() {
                reasons.remove(0);
            }
            return Err(TransactError::Cancelled { reasons });
        }
        if !outcome_unknown(&error) {
            return Err(StoreError::sdk(error).into());
        }
        // The answer was lost: did the operation commit?
        match witness.read(client).await {
            Ok(true) => return Err(TransactError::AlreadyCommitted),
            Ok(false) if resends < RESENDS => {}
            Ok(false) | Err(_) => return Err(StoreError::sdk(error).into()),
        }
        resends += 1;
        tracing::warn!(
            resends,
            error = %StoreError::sdk(error),
            "transaction outcome unknown and not committed; sending it again"
        );
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
}

/// Cancelled because items were busy (another transaction, throttling), not because a
/// condition failed.
fn only_busy(reasons: &[String]) -> bool {
    reasons.iter().any(|r| r != "None")
        && reasons.iter().all(|r| {
            matches!(
                r.as_str(),
                "None"
                    | "TransactionConflict"
                    | "ThrottlingError"
                    | "ProvisionedThroughputExceeded"
            )
        })
}

fn cancellation_reasons<R>(error: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<String>> {
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// Whether the transaction may have been applied although the call failed: no answer came
/// (timeout, reset, dispatch failure), the service failed (5xx), or throttling outlasted the
/// SDK's retries. A client error (validation, a missing table) was certainly not applied.
fn outcome_unknown<R>(error: &SdkError<TransactWriteItemsError, R>) -> bool {
    match error {
        SdkError::ServiceError(context) => {
            let code = aws_sdk_dynamodb::error::ProvideErrorMetadata::code(context.err());
            !matches!(
                context.err(),
                TransactWriteItemsError::ResourceNotFoundException(_)
                    | TransactWriteItemsError::IdempotentParameterMismatchException(_)
            ) && !matches!(code, Some("ValidationException" | "SerializationException"))
        }
        SdkError::ConstructionFailure(_) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::text;
    use std::collections::HashMap;

    fn witness(values: Vec<(String, AttributeValue)>) -> Witness {
        Witness::updated(
            TransactWriteItem::builder().build(),
            "t",
            HashMap::from([("pk".to_owned(), text("K"))]),
            values,
        )
    }

    #[test]
    fn a_created_witness_shows_the_commit_by_existing() {
        let created = witness(Vec::new());
        assert!(!created.shows_commit(None));
        assert!(created.shows_commit(Some(&HashMap::new())));
    }

    #[test]
    fn an_updated_witness_shows_the_commit_by_its_values() {
        let completed = witness(vec![
            ("state".into(), text("completed")),
            ("lock_token".into(), text("mine")),
        ]);
        let stored = |state: &str, token: &str| {
            HashMap::from([
                ("state".to_owned(), text(state)),
                ("lock_token".to_owned(), text(token)),
            ])
        };
        assert!(completed.shows_commit(Some(&stored("completed", "mine"))));
        assert!(!completed.shows_commit(Some(&stored("in_progress", "mine"))));
        assert!(!completed.shows_commit(Some(&stored("completed", "theirs"))));
        assert!(!completed.shows_commit(None));
    }

    #[test]
    fn only_a_busy_cancellation_is_sent_again_as_it_is() {
        let reasons = |codes: &[&str]| codes.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert!(only_busy(&reasons(&["TransactionConflict", "None"])));
        assert!(only_busy(&reasons(&["None", "ThrottlingError"])));
        assert!(!only_busy(&reasons(&[
            "TransactionConflict",
            "ConditionalCheckFailed"
        ])));
        assert!(!only_busy(&reasons(&["None", "None"])));
        assert!(!only_busy(&reasons(&["ValidationError"])));
    }

    #[test]
    fn conflicts_and_conditions_are_retryable_validation_is_not() {
        let cancelled = |reasons: &[&str]| TransactError::Cancelled {
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
        };
        assert!(cancelled(&["None", "ConditionalCheckFailed"]).is_conflict());
        assert!(cancelled(&["TransactionConflict", "None"]).is_conflict());
        assert!(!cancelled(&["ValidationError", "None"]).is_conflict());
        assert!(!TransactError::AlreadyCommitted.is_conflict());
        assert!(cancelled(&["None", "ConditionalCheckFailed"]).condition_failed_at(1));
    }
}
