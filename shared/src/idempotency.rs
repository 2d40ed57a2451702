//! Requests that change state run here: `Idempotency-Key`, and the receipt that makes every
//! such request commit at most once, keyed or not.
//!
//! Semantics follow Stripe's: the first request with a key executes; a later request with the
//! same key and the same body gets the first response replayed, status code included; the same
//! key with a different body is a 422; a duplicate arriving while the first is still running
//! waits for the first's outcome and replays it (a 409 if that takes too long). A key belongs
//! to its caller and its operation, and is kept 48 hours.
//!
//! Every request, with a key or without, writes its answer, the **receipt**, in the same
//! DynamoDB transaction as its effect ([`Completion::receipt`]). The receipt is that
//! transaction's [`Witness`](crate::transaction::Witness): an effect never commits without it,
//! nor it without the effect, and however often the transaction is sent (a lost answer, the
//! SDK's retries, a re-plan after a conflict) it commits once. An attempt that finds the receipt
//! already written answers [`Executed::Earlier`], and the client gets the first answer. With a
//! key the receipt is the key's record (its condition: still held by this request, not yet
//! completed); without one, a record of its own (condition: not yet written), kept a day.

use std::future::Future;

use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::dynamo::{Item, ItemExt, StoreError, is_condition_failure, number, text};
use crate::error::{ApiError, PROBLEM_JSON};
use crate::ids::UserId;
use crate::retry::RetryPolicy;
use crate::transaction::{TransactError, Witness, transact};

pub const HEADER: &str = "idempotency-key";
/// Keys are kept at least 24 hours, as clients are promised; 48 leaves room for clock skew.
const RETENTION: time::Duration = time::Duration::hours(48);
/// A request without a key keeps its receipt long enough for every retry of its own calls.
const RECEIPT_RETENTION: time::Duration = time::Duration::hours(24);
/// A request that has held its key this long without finishing is presumed dead.
const LOCK_LIFETIME: time::Duration = time::Duration::seconds(30);
/// How long a duplicate waits for the first request with its key to finish.
const DUPLICATE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// A claim is tried again only when the record it met expired before it could be read.
const CLAIMS: RetryPolicy = RetryPolicy::new("idempotency.claim", 2);

/// A client-chosen key: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let valid =
            !text.is_empty() && text.len() <= 255 && text.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(IdempotencyKey(text.to_owned()))
        } else {
            Err(ApiError::invalid_field(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `Idempotency-Key` header of `headers`: none, a key, or why it is not one.
    pub fn of_headers(headers: &http::HeaderMap) -> Result<Option<Self>, ApiError> {
        let Some(value) = headers.get(HEADER) else {
            return Ok(None);
        };
        let text = value
            .to_str()
            .map_err(|_| IdempotencyKey::parse("").unwrap_err())?;
        IdempotencyKey::parse(text).map(Some)
    }
}

/// The `Idempotency-Key` header, when the client sent one.
#[derive(Debug, Clone)]
pub struct MaybeIdempotencyKey(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeIdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        IdempotencyKey::of_headers(&parts.headers).map(MaybeIdempotencyKey)
    }
}

/// Identifies a request's content, so a reused key with other content is caught.
pub fn fingerprint(operation: &str, request: &impl Serialize) -> String {
    let body = serde_json::to_vec(request).expect("requests serialize");
    let digest = Sha256::new()
        .chain_update(operation.as_bytes())
        .chain_update([0])
        .chain_update(body)
        .finalize();
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The right to execute a request, and the receipt its transaction writes.
#[derive(Debug, Clone)]
pub struct Completion {
    table: String,
    pk: String,
    /// Set for a keyed request: the key's record, claimed before executing.
    claim: Option<KeyClaim>,
}

#[derive(Debug, Clone)]
struct KeyClaim {
    fingerprint: String,
    lock_token: String,
}

/// What the operation of [`IdempotencyStore::run`] did.
#[derive(Debug, Clone)]
pub enum Executed {
    /// It committed now, with this answer (also in its receipt).
    Now(StatusCode, Value),
    /// An earlier attempt of this request committed; its receipt holds the answer.
    Earlier,
}

impl Completion {
    /// The receipt of this request with its answer: the witness of the effect's transaction.
    pub fn receipt(&self, status: StatusCode, body: &Value) -> Witness {
        self.witness(status, body, false)
    }

    fn witness(&self, status: StatusCode, body: &Value, problem: bool) -> Witness {
        let key = HashMap::from([("pk".to_owned(), text(&self.pk))]);
        let put = Put::builder()
            .table_name(&self.table)
            .item("pk", text(&self.pk))
            .item("state", text("completed"))
            .item("response_status", number(status.as_u16()))
            .item("response_body", text(body.to_string()))
            .item("response_is_problem", AttributeValue::Bool(problem));
        let Some(claim) = &self.claim else {
            let put = put
                .item(
                    "expires_at",
                    number((OffsetDateTime::now_utc() + RECEIPT_RETENTION).unix_timestamp()),
                )
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("table, item and condition are set");
            return Witness::created(
                TransactWriteItem::builder().put(put).build(),
                &self.table,
                key,
            );
        };
        let put = put
            .item("fingerprint", text(&claim.fingerprint))
            .item("lock_token", text(&claim.lock_token))
            .item(
                "expires_at",
                number((OffsetDateTime::now_utc() + RETENTION).unix_timestamp()),
            )
            .condition_expression("lock_token = :token AND #state = :in_progress")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":token", text(&claim.lock_token))
            .expression_attribute_values(":in_progress", text("in_progress"))
            .build()
            .expect("table, item and condition are set");
        Witness::updated(
            TransactWriteItem::builder().put(put).build(),
            &self.table,
            key,
            vec![
                ("state".to_owned(), text("completed")),
                ("lock_token".to_owned(), text(&claim.lock_token)),
            ],
        )
    }
}

/// A response stored in a receipt.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: StatusCode,
    pub body: Value,
    pub is_problem: bool,
    /// Answered to a later request with the same key (said in `Idempotent-Replayed`).
    pub replayed: bool,
}

impl StoredResponse {
    fn replayed(self) -> Self {
        StoredResponse {
            replayed: true,
            ..self
        }
    }
}

impl IntoResponse for StoredResponse {
    fn into_response(self) -> Response {
        let content_type = if self.is_problem {
            PROBLEM_JSON
        } else {
            "application/json"
        };
        let mut response = (self.status, self.body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if self.replayed {
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

enum Claim {
    Execute(Completion),
    Replay(StoredResponse),
}

#[derive(Clone)]
pub struct IdempotencyStore {
    client: Client,
    table: String,
}

impl IdempotencyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        IdempotencyStore {
            client,
            table: table.into(),
        }
    }

    /// Runs `operation` at most once per request, and once per key. `operation` gets the
    /// [`Completion`] whose receipt its transaction must carry, and answers with a status and
    /// JSON body, or [`Executed::Earlier`] when its transaction found the receipt written (the
    /// first answer is then read back and returned). With a key, a client error (4xx) is stored
    /// and replayed like a success, and a server error frees the key so the client may retry.
    pub async fn run<F, Fut>(
        &self,
        scope: &str,
        owner: UserId,
        key: Option<IdempotencyKey>,
        fingerprint: String,
        operation: F,
    ) -> Result<Response, ApiError>
    where
        F: FnOnce(Completion) -> Fut,
        Fut: Future<Output = Result<Executed, ApiError>>,
    {
        let Some(key) = key else {
            let receipt = Completion {
                table: self.table.clone(),
                pk: format!("RECEIPT#{scope}#{owner}#{}", uuid::Uuid::now_v7().simple()),
                claim: None,
            };
            return match operation(receipt.clone()).await? {
                Executed::Now(status, body) => Ok((status, axum::Json(body)).into_response()),
                Executed::Earlier => Ok(self.first_answer(&receipt).await?.into_response()),
            };
        };
        let completion = match self.claim(scope, owner, &key, fingerprint).await? {
            Claim::Replay(stored) => return Ok(stored.replayed().into_response()),
            Claim::Execute(completion) => completion,
        };
        match operation(completion.clone()).await {
            Ok(Executed::Now(status, body)) => Ok((status, axum::Json(body)).into_response()),
            Ok(Executed::Earlier) => Ok(self.first_answer(&completion).await?.into_response()),
            Err(error) if error.status().is_client_error() => {
                let problem = serde_json::to_value(error.to_problem()).expect("problems serialize");
                match self
                    .store_outcome(&completion, error.status(), &problem)
                    .await
                {
                    // This request's effect committed in an attempt whose answer was lost.
                    Err(TransactError::AlreadyCommitted) => {
                        Ok(self.first_answer(&completion).await?.into_response())
                    }
                    Err(other) => Err(ApiError::internal(other)),
                    Ok(()) => Ok(first_refusal(&error, problem)),
                }
            }
            Err(error) => {
                self.release(&completion).await;
                Err(error)
            }
        }
    }

    /// Runs a request that takes no `Idempotency-Key` at most once, with its receipt.
    pub async fn once<F, Fut>(
        &self,
        scope: &str,
        owner: UserId,
        operation: F,
    ) -> Result<Response, ApiError>
    where
        F: FnOnce(Completion) -> Fut,
        Fut: Future<Output = Result<Executed, ApiError>>,
    {
        self.run(scope, owner, None, String::new(), operation).await
    }

    /// The answer a receipt holds.
    async fn first_answer(&self, completion: &Completion) -> Result<StoredResponse, ApiError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", text(&completion.pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?
            .item
            .ok_or_else(|| ApiError::internal("a committed request's receipt is missing"))?;
        let stored = stored_response(&item)?;
        Ok(match completion.claim {
            Some(_) => stored.replayed(),
            None => stored,
        })
    }

    async fn claim(
        &self,
        scope: &str,
        owner: UserId,
        key: &IdempotencyKey,
        fingerprint: String,
    ) -> Result<Claim, ApiError> {
        let pk = format!("IDEMPOTENCY#{scope}#{owner}#{}", key.0);
        // Two attempts: the second follows a record that expired between our put and get.
        let mut attempts = CLAIMS.attempts();
        while attempts.next().await.is_some() {
            let now = OffsetDateTime::now_utc();
            let lock_token = uuid::Uuid::new_v4().simple().to_string();
            let completion = Completion {
                table: self.table.clone(),
                pk: pk.clone(),
                claim: Some(KeyClaim {
                    fingerprint: fingerprint.clone(),
                    lock_token: lock_token.clone(),
                }),
            };
            // A claimed key is released if the request fails with a 5xx (`release`).
            crate::aws_access::reachable(
                "dynamodb:DeleteItem",
                crate::aws_access::table(&self.table, None),
            );
            let claimed = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", text(&pk))
                .item("state", text("in_progress"))
                .item("fingerprint", text(&fingerprint))
                .item("lock_token", text(&lock_token))
                .item(
                    "locked_until",
                    number((now + LOCK_LIFETIME).unix_timestamp()),
                )
                .item("expires_at", number((now + RETENTION).unix_timestamp()))
                .condition_expression(
                    "attribute_not_exists(pk) OR (#state = :in_progress AND locked_until < :now)",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":in_progress", text("in_progress"))
                .expression_attribute_values(":now", number(now.unix_timestamp()))
                .send()
                .await;
            match claimed {
                Ok(_) => return Ok(Claim::Execute(completion)),
                Err(error) if is_condition_failure(&error) => {}
                Err(error) => return Err(StoreError::sdk(error).into()),
            }
            let existing = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", text(&pk))
                .consistent_read(true)
                .send()
                .await
                .map_err(StoreError::sdk)?
                .item;
            let Some(existing) = existing else { continue };
            // Our own claim, applied by an attempt whose answer was lost.
            if existing.optional_string("lock_token").as_deref() == Some(lock_token.as_str())
                && existing.optional_string("state").as_deref() == Some("in_progress")
            {
                return Ok(Claim::Execute(completion));
            }
            return match existing_claim(&existing, &fingerprint) {
                Err(ApiError::Conflict(_)) => self.await_outcome(&pk, &fingerprint).await,
                other => other,
            };
        }
        Err(ApiError::Conflict(
            "The Idempotency-Key could not be claimed; retry".into(),
        ))
    }

    /// A duplicate that arrives while the first request runs waits for its outcome and
    /// replays it, so every reply to one key is the same; past `DUPLICATE_WAIT` it is a 409.
    async fn await_outcome(&self, pk: &str, fingerprint: &str) -> Result<Claim, ApiError> {
        let deadline = tokio::time::Instant::now() + DUPLICATE_WAIT;
        let mut pause = std::time::Duration::from_millis(10);
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(200));
            let item = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", text(pk))
                .consistent_read(true)
                .send()
                .await
                .map_err(StoreError::sdk)?
                .item;
            match item.as_ref().map(|item| existing_claim(item, fingerprint)) {
                Some(Err(ApiError::Conflict(_))) => continue,
                Some(outcome) => return outcome,
                // The first request failed and freed the key: the client may simply retry.
                None => break,
            }
        }
        Err(ApiError::Conflict(
            "A request with this Idempotency-Key is still in progress".into(),
        ))
    }

    async fn store_outcome(
        &self,
        completion: &Completion,
        status: StatusCode,
        body: &Value,
    ) -> Result<(), TransactError> {
        transact(
            &self.client,
            completion.witness(status, body, true),
            Vec::new(),
        )
        .await
    }

    async fn release(&self, completion: &Completion) {
        let Some(claim) = &completion.claim else {
            return;
        };
        let released = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", text(&completion.pk))
            .condition_expression("lock_token = :token AND #state = :in_progress")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":token", text(&claim.lock_token))
            .expression_attribute_values(":in_progress", text("in_progress"))
            .send()
            .await;
        if let Err(error) = released {
            // The lock expires by itself; the client may retry after LOCK_LIFETIME.
            tracing::warn!(error = %StoreError::sdk(error), "could not release an idempotency key");
        }
    }
}

/// A keyed request's refusal, rendered from the value its receipt stores, as every replay of it
/// is: the first answer and the replays are the same bytes.
fn first_refusal(error: &ApiError, problem: Value) -> Response {
    let status = error.status();
    tracing::info!(status = status.as_u16(), detail = %error, "request rejected");
    StoredResponse {
        status,
        body: problem,
        is_problem: true,
        replayed: false,
    }
    .into_response()
}

fn existing_claim(existing: &Item, fingerprint: &str) -> Result<Claim, ApiError> {
    if existing.optional_string("fingerprint").as_deref() != Some(fingerprint) {
        return Err(ApiError::Validation(vec![crate::error::FieldError::new(
            "Idempotency-Key",
            "was already used with a different request",
        )]));
    }
    if existing.optional_string("state").as_deref() != Some("completed") {
        return Err(ApiError::Conflict(
            "A request with this Idempotency-Key is still in progress".into(),
        ));
    }
    stored_response(existing).map(Claim::Replay)
}

fn stored_response(item: &Item) -> Result<StoredResponse, ApiError> {
    let status: u16 = item.number("response_status")?;
    let body = serde_json::from_str(&item.string("response_body")?).map_err(ApiError::internal)?;
    Ok(StoredResponse {
        status: StatusCode::from_u16(status).map_err(ApiError::internal)?,
        body,
        is_problem: matches!(
            item.get("response_is_problem"),
            Some(AttributeValue::Bool(true))
        ),
        replayed: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        assert!(IdempotencyKey::parse("order-42").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }

    #[test]
    fn the_fingerprint_follows_content_and_operation() {
        let a = fingerprint("deposit:1", &serde_json::json!({"amount": "1.0000"}));
        assert_eq!(
            a,
            fingerprint("deposit:1", &serde_json::json!({"amount": "1.0000"}))
        );
        assert_ne!(
            a,
            fingerprint("deposit:2", &serde_json::json!({"amount": "1.0000"}))
        );
        assert_ne!(
            a,
            fingerprint("deposit:1", &serde_json::json!({"amount": "2.0000"}))
        );
    }
}
