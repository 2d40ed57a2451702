//! Who is calling: the verified claims of the bearer token, and the ownership rules every
//! service applies with them.

use axum::extract::{FromRef, FromRequestParts};
use http::header::AUTHORIZATION;
use http::request::Parts;

use crate::error::ApiError;
use crate::jwt::{Claims, Role, TokenError, TokenKeys};

#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: u64,
    pub role: Role,
    pub session_id: String,
    pub claims: Claims,
}

impl Caller {
    pub fn is_staff(&self) -> bool {
        self.role == Role::Staff
    }

    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.is_staff() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "This action requires a staff account".into(),
            ))
        }
    }

    /// Nobody reads or acts on what is not theirs, unless they are staff.
    pub fn require_self_or_staff(&self, user_id: u64) -> Result<(), ApiError> {
        if self.user_id == user_id || self.is_staff() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "You may only access your own account".into(),
            ))
        }
    }
}

impl<S> FromRequestParts<S> for Caller
where
    TokenKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| ApiError::Unauthorized("Not authenticated".into()))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| ApiError::Unauthorized("Expected a Bearer token".into()))?;
        let claims = TokenKeys::from_ref(state)
            .verify(token)
            .map_err(|error| match error {
                TokenError::Expired => ApiError::Unauthorized("Token expired".into()),
                TokenError::Invalid => ApiError::Unauthorized("Invalid token".into()),
            })?;
        let user_id = claims
            .user_id()
            .ok_or_else(|| ApiError::Unauthorized("Invalid token".into()))?;
        Ok(Caller {
            user_id,
            role: claims.role,
            session_id: claims.sid.clone(),
            claims,
        })
    }
}
