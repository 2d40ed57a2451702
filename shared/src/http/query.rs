//! Query-string parameters, with bad values answered as problem+json like bad bodies.

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(QueryParams)
            .map_err(|error| {
                ApiError::Validation(vec![FieldError::new("query", error.to_string())])
            })
    }
}

/// The `limit` of a list request: `default` when absent, and every list answers a size outside
/// 1..=100 alike, with a 422 on `limit`.
pub fn page_size(limit: Option<i32>, default: i32) -> Result<i32, ApiError> {
    let limit = limit.unwrap_or(default);
    if (1..=100).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 100",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_size_defaults_and_stays_within_one_to_a_hundred() {
        assert_eq!(page_size(None, 20).unwrap(), 20);
        assert_eq!(page_size(Some(1), 20).unwrap(), 1);
        assert_eq!(page_size(Some(100), 20).unwrap(), 100);
        for bad in [0, -1, 101] {
            assert!(matches!(
                page_size(Some(bad), 20),
                Err(ApiError::Validation(errors)) if errors[0].field == "limit"
            ));
        }
    }
}
