//! The numeric id in a path such as `/api/auth/user/{id}`, as the id type the route names
//! (`PathId<WalletId>`; bare `u64` for records with no id type of their own).

use axum::extract::{FromRequestParts, Path};
use http::request::Parts;

use crate::error::ApiError;

/// FinFlow's public ids are small positive integers; anything else names no resource.
#[derive(Debug, Clone, Copy)]
pub struct PathId<Id = u64>(pub Id);

impl<S: Send + Sync, Id: From<u64>> FromRequestParts<S> for PathId<Id> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("No such resource".into()))?;
        raw.parse::<u64>()
            .ok()
            .filter(|id| *id > 0)
            .map(|id| PathId(Id::from(id)))
            .ok_or_else(|| ApiError::NotFound(format!("No resource has id {raw:?}")))
    }
}
