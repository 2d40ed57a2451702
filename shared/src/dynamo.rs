//! DynamoDB helpers: reading typed attributes, atomic counters, pages and cursors. Writes
//! that must commit at most once go through [`crate::transaction`].

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use crate::money::Money;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub type Item = HashMap<String, AttributeValue>;

/// A string attribute (DynamoDB's `S`); [`ItemExt::string`] reads it back.
pub fn text(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute (DynamoDB's `N`) of an integer; [`ItemExt::number`] reads it back.
pub fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// DynamoDB numbers are exact decimals; an amount is stored as its own decimal text.
pub fn money(value: Money) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("item {key} has no valid attribute {attribute}")]
    Corrupt { key: String, attribute: String },
    #[error("DynamoDB call failed: {0}")]
    Sdk(String),
}

impl StoreError {
    pub fn sdk<E: std::error::Error + 'static, R: std::fmt::Debug>(error: SdkError<E, R>) -> Self {
        StoreError::Sdk(DisplayErrorContext(error).to_string())
    }
}

impl From<StoreError> for crate::error::ApiError {
    fn from(error: StoreError) -> Self {
        crate::error::ApiError::internal(error)
    }
}

/// Whether a single-item write failed its condition expression.
pub fn is_condition_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// Typed reads of item attributes that name the offending attribute when data is corrupt.
pub trait ItemExt {
    fn string(&self, attribute: &str) -> Result<String, StoreError>;
    fn optional_string(&self, attribute: &str) -> Option<String>;
    fn number<T: FromStr>(&self, attribute: &str) -> Result<T, StoreError>;
    fn money(&self, attribute: &str) -> Result<Money, StoreError>;
    /// A time written by [`timestamp`].
    fn timestamp(&self, attribute: &str) -> Result<OffsetDateTime, StoreError>;
    /// The error for an attribute that is missing or holds something unreadable.
    fn corrupt(&self, attribute: &str) -> StoreError;
}

impl ItemExt for Item {
    fn string(&self, attribute: &str) -> Result<String, StoreError> {
        self.optional_string(attribute)
            .ok_or_else(|| self.corrupt(attribute))
    }

    fn optional_string(&self, attribute: &str) -> Option<String> {
        match self.get(attribute) {
            Some(AttributeValue::S(value)) => Some(value.clone()),
            _ => None,
        }
    }

    fn number<T: FromStr>(&self, attribute: &str) -> Result<T, StoreError> {
        match self.get(attribute) {
            Some(AttributeValue::N(value)) => value.parse().map_err(|_| self.corrupt(attribute)),
            _ => Err(self.corrupt(attribute)),
        }
    }

    fn money(&self, attribute: &str) -> Result<Money, StoreError> {
        match self.get(attribute) {
            Some(AttributeValue::N(value)) => {
                Money::parse(value).map_err(|_| self.corrupt(attribute))
            }
            _ => Err(self.corrupt(attribute)),
        }
    }

    fn timestamp(&self, attribute: &str) -> Result<OffsetDateTime, StoreError> {
        OffsetDateTime::parse(&self.string(attribute)?, &Rfc3339)
            .map_err(|_| self.corrupt(attribute))
    }

    fn corrupt(&self, attribute: &str) -> StoreError {
        let key_part = |name: &str| self.get(name).and_then(|v| v.as_s().ok()).cloned();
        let key = match (key_part("pk"), key_part("sk")) {
            (Some(pk), Some(sk)) => format!("{pk}/{sk}"),
            (pk, _) => pk.unwrap_or_default(),
        };
        StoreError::Corrupt {
            key,
            attribute: attribute.to_owned(),
        }
    }
}

/// Times are stored as RFC 3339 text, which sorts as it reads.
pub fn timestamp(at: OffsetDateTime) -> AttributeValue {
    AttributeValue::S(at.format(&Rfc3339).expect("timestamps format as RFC 3339"))
}

/// One item by its key, read consistently (a service reads its own writes).
pub async fn get_item(
    client: &Client,
    table: &str,
    pk: impl Into<String>,
    sk: &str,
) -> Result<Option<Item>, StoreError> {
    let output = client
        .get_item()
        .table_name(table)
        .key("pk", text(pk))
        .key("sk", text(sk))
        .consistent_read(true)
        .send()
        .await
        .map_err(StoreError::sdk)?;
    Ok(output.item)
}

/// Page cursors are opaque to clients: the last sort key of a page, encoded.
pub fn encode_cursor(last_key: Option<&Item>) -> Option<String> {
    use base64::Engine;
    let sk = last_key?.get("sk")?.as_s().ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sk))
}

/// A cursor the list never issued: malformed, or made for another list. Every list endpoint
/// answers it alike, a 422 on the field `cursor`, through `From<BadCursor> for ApiError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this list returned")]
pub struct BadCursor;

impl From<BadCursor> for crate::error::ApiError {
    fn from(_: BadCursor) -> Self {
        crate::error::ApiError::invalid_field("cursor", "is not a cursor this list returned")
    }
}

/// Why a store could not list a page.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    BadCursor(#[from] BadCursor),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ListError> for crate::error::ApiError {
    fn from(error: ListError) -> Self {
        match error {
            ListError::BadCursor(bad) => bad.into(),
            ListError::Store(error) => error.into(),
        }
    }
}

/// The sort key a cursor stands for, if it is one of ours for keys starting with `prefix`;
/// anything else is a `BadCursor`.
pub fn decode_cursor(cursor: &str, prefix: &str) -> Result<String, BadCursor> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| BadCursor)?;
    String::from_utf8(bytes)
        .ok()
        .filter(|sk| sk.starts_with(prefix))
        .ok_or(BadCursor)
}

/// The Query for the first page of partition `pk`'s items whose sort keys start with
/// `prefix`, at most `limit` of them; callers add the order, consistency and any filter.
pub fn first_page_query(
    client: &Client,
    table: &str,
    pk: &str,
    prefix: &str,
    limit: i32,
) -> QueryFluentBuilder {
    client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", text(pk))
        .expression_attribute_values(":prefix", text(prefix))
        .limit(limit)
}

/// The Query for the page of a list that resumes after `cursor` (the first page without one);
/// a cursor this list never issued is a `BadCursor`.
pub fn page_query(
    client: &Client,
    table: &str,
    pk: &str,
    prefix: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<QueryFluentBuilder, BadCursor> {
    let query = first_page_query(client, table, pk, prefix, limit);
    Ok(match cursor {
        Some(cursor) => query
            .exclusive_start_key("pk", text(pk))
            .exclusive_start_key("sk", text(decode_cursor(cursor, prefix)?)),
        None => query,
    })
}

/// Sends a page query: its items decoded by `decode`, and the cursor of the next page.
pub async fn fetch_page<T>(
    query: QueryFluentBuilder,
    decode: impl Fn(&Item) -> Result<T, StoreError>,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    let output = query.send().await.map_err(StoreError::sdk)?;
    let items = output
        .items()
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, encode_cursor(output.last_evaluated_key())))
}

/// The next value of a named sequence (1, 2, 3, ...), for the small integer ids the seed uses,
/// as the id type it numbers. Atomic under concurrency: DynamoDB applies each ADD exactly once.
pub async fn next_sequence_value<Id: FromStr>(
    client: &Client,
    table: &str,
    sequence: &str,
) -> Result<Id, StoreError> {
    let output = client
        .update_item()
        .table_name(table)
        .key("pk", text(format!("SEQUENCE#{sequence}")))
        .key("sk", text("SEQUENCE"))
        .update_expression("ADD #value :one")
        .expression_attribute_names("#value", "value")
        .expression_attribute_values(":one", number(1))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(StoreError::sdk)?;
    output
        .attributes()
        .and_then(|attributes| attributes.get("value"))
        .and_then(|value| value.as_n().ok())
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| StoreError::Sdk("sequence update returned no value".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn last_key(sk: &str) -> Item {
        HashMap::from([
            ("pk".to_owned(), text("USER#1")),
            ("sk".to_owned(), text(sk)),
        ])
    }

    #[test]
    fn a_cursor_decodes_to_the_sort_key_it_was_made_from() {
        let cursor = encode_cursor(Some(&last_key("TX#0042"))).unwrap();
        assert_eq!(decode_cursor(&cursor, "TX#"), Ok("TX#0042".to_owned()));
    }

    #[test]
    fn malformed_and_foreign_cursors_are_bad() {
        let foreign = encode_cursor(Some(&last_key("PAY#7"))).unwrap();
        assert_eq!(decode_cursor(&foreign, "TX#"), Err(BadCursor));
        assert_eq!(decode_cursor("not-a-cursor", "TX#"), Err(BadCursor));
        assert_eq!(decode_cursor("", "TX#"), Err(BadCursor));
        assert_eq!(decode_cursor("//==", "TX#"), Err(BadCursor));
        // Valid base64 of bytes that are not UTF-8.
        assert_eq!(decode_cursor("_w", "TX#"), Err(BadCursor));
    }

    #[test]
    fn a_bad_cursor_is_a_422_on_the_cursor_field() {
        for error in [
            ApiError::from(BadCursor),
            ListError::BadCursor(BadCursor).into(),
        ] {
            let problem = error.to_problem();
            assert_eq!(problem.status, 422);
            assert_eq!(
                problem.errors,
                vec![crate::FieldError::new(
                    "cursor",
                    "is not a cursor this list returned"
                )]
            );
        }
    }

    #[test]
    fn a_store_failure_while_listing_stays_internal() {
        let error: ApiError = ListError::Store(StoreError::Sdk("throttled".into())).into();
        assert_eq!(error.to_problem().status, 500);
    }
}
