//! Who is calling: the verified claims of the bearer token, and the ownership rules every
//! service applies with them.
//!
//! A token's staff role is only as fresh as the token. Behind API Gateway, auth's authorizer
//! reads the role from auth's table on every request and passes what it found in the
//! request context (`AUTHORIZER_ROLE`): a staff token whose rights were revoked, or whose
//! session ended, acts as a customer's from that moment. Without an authorizer context (a
//! direct invocation, which needs IAM rights to the function) the token's role stands.

use axum::extract::{FromRef, FromRequestParts};
use http::header::AUTHORIZATION;
use http::request::Parts;
use lambda_http::request::RequestContext;

use crate::error::ApiError;
use crate::ids::UserId;
use crate::jwt::{Claims, Role, TokenError, TokenKeys, bearer_token};

/// The key of the role auth's authorizer confirmed, in the authorizer's context.
pub const AUTHORIZER_ROLE: &str = "role";

#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
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
    pub fn require_self_or_staff(&self, user_id: UserId) -> Result<(), ApiError> {
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
        let token = bearer_token(header)
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
        let role = match confirmed_role(parts) {
            Some(confirmed) if confirmed != claims.role => Role::Customer,
            _ => claims.role,
        };
        Ok(Caller {
            user_id,
            role,
            session_id: claims.sid.clone(),
            claims,
        })
    }
}

/// The role auth's authorizer confirmed for this request, when it went through one.
fn confirmed_role(parts: &Parts) -> Option<Role> {
    let Some(RequestContext::ApiGatewayV2(context)) = parts.extensions.get::<RequestContext>()
    else {
        return None;
    };
    let fields = &context.authorizer.as_ref()?.fields;
    // Present but unreadable: confirm nothing, so a staff token does not act as staff.
    Some(
        fields
            .get(AUTHORIZER_ROLE)
            .and_then(|role| role.as_str())
            .and_then(Role::parse)
            .unwrap_or(Role::Customer),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_lambda_events::apigw::{ApiGatewayRequestAuthorizer, ApiGatewayV2httpRequestContext};
    use serde_json::json;

    use super::*;
    use crate::jwt::JwtSettings;

    fn keys() -> TokenKeys {
        TokenKeys::new(JwtSettings {
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            issuer: "finflow".into(),
            audience: "finflow-api".into(),
        })
    }

    async fn caller(token_role: Role, confirmed: Option<&str>) -> Caller {
        let keys = keys();
        let (token, _) = keys
            .issue(
                UserId::new(7),
                "session",
                token_role,
                time::Duration::minutes(5),
            )
            .unwrap();
        let mut request = http::Request::builder()
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(())
            .unwrap();
        if let Some(role) = confirmed {
            let mut authorizer = ApiGatewayRequestAuthorizer::default();
            authorizer.fields = HashMap::from([(AUTHORIZER_ROLE.to_owned(), json!(role))]);
            let mut context = ApiGatewayV2httpRequestContext::default();
            context.authorizer = Some(authorizer);
            request
                .extensions_mut()
                .insert(RequestContext::ApiGatewayV2(context));
        }
        let (mut parts, ()) = request.into_parts();
        Caller::from_request_parts(&mut parts, &keys).await.unwrap()
    }

    #[tokio::test]
    async fn a_staff_token_is_staff_only_while_the_authorizer_confirms_it() {
        assert_eq!(caller(Role::Staff, Some("staff")).await.role, Role::Staff);
        assert_eq!(
            caller(Role::Staff, Some("customer")).await.role,
            Role::Customer
        );
        assert_eq!(caller(Role::Staff, Some("???")).await.role, Role::Customer);
        // No authorizer on the way (a direct invocation): the token's role stands.
        assert_eq!(caller(Role::Staff, None).await.role, Role::Staff);
        // The authorizer never raises a role.
        assert_eq!(
            caller(Role::Customer, Some("staff")).await.role,
            Role::Customer
        );
    }
}
