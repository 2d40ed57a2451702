//! The numeric id in a path such as `/api/auth/user/{id}`.

use axum::extract::{FromRequestParts, Path};
use http::request::Parts;

use crate::error::ApiError;

/// FinFlow's public ids are small positive integers; anything else names no resource.
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("No such resource".into()))?;
        raw.parse::<u64>()
            .ok()
            .filter(|id| *id > 0)
            .map(PathId)
            .ok_or_else(|| ApiError::NotFound(format!("No resource has id {raw:?}")))
    }
}
