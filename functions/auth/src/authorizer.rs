//! The gateway's Lambda authorizer: confirms a staff token's rights against auth's table on
//! every request, so that revoking a staff member, or ending their session, takes their staff
//! rights away at once in every service, not when their token expires.
//!
//! It never refuses a request: a request without a token, or with a bad one, goes on to the
//! function, which answers 401 in its own words (problem+json), as it would without an
//! authorizer. What it decides is the role the services may honour, passed in the context as
//! `AUTHORIZER_ROLE` (see `finflow_shared::http::Caller`):
//! - a customer's token: `customer`, without reading anything (the token says no more);
//! - a staff token: `staff` only if the user is staff now and the token's session is live;
//!   otherwise `customer`;
//! - no valid token: no role.
//!
//! Failure modes: when the table cannot be read the invocation fails and API Gateway answers
//! 500, rather than guessing either way. The gateway must not cache its answers
//! (`ReauthorizeEvery: 0` in template.yaml), or a revocation would wait for the cache.

use std::sync::Arc;

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use finflow_shared::dynamo::StoreError;
use finflow_shared::http::AUTHORIZER_ROLE;
use finflow_shared::jwt::{Claims, Role, TokenKeys, bearer_token};
use finflow_shared::telemetry::Metrics;
use http::header::AUTHORIZATION;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::domain::{Session, User};
use crate::store::UserStore;

/// The role a staff token may act with, given what the table holds now.
pub fn confirmed_role(
    claims: &Claims,
    user: Option<&User>,
    session: Option<&Session>,
    now: OffsetDateTime,
) -> Role {
    let staff_now = user.is_some_and(|user| user.role == Role::Staff);
    let session_live = session
        .is_some_and(|session| session.is_usable(now) && Some(session.user_id) == claims.user_id());
    if claims.role == Role::Staff && staff_now && session_live {
        Role::Staff
    } else {
        Role::Customer
    }
}

pub struct StaffAuthorizer {
    store: Arc<dyn UserStore>,
    keys: TokenKeys,
}

impl StaffAuthorizer {
    pub fn new(store: Arc<dyn UserStore>, keys: TokenKeys) -> Self {
        StaffAuthorizer { store, keys }
    }

    /// Answers API Gateway's authorizer invocations until the environment ends.
    pub async fn serve(self: Arc<Self>, metrics: Metrics) -> Result<(), lambda_runtime::Error> {
        finflow_shared::runtime::run_events(
            metrics,
            move |event: lambda_runtime::LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| {
                let authorizer = self.clone();
                async move {
                    let answer = authorizer.authorize(&event.payload).await;
                    answer.map_err(lambda_runtime::Error::from)
                }
            },
        )
        .await
    }

    /// API Gateway's answer for `request` (payload 2.0, simple responses).
    pub async fn authorize(
        &self,
        request: &ApiGatewayV2CustomAuthorizerV2Request,
    ) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, StoreError> {
        let claims = request
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_token)
            .and_then(|token| self.keys.verify(token).ok());
        let context = match claims {
            None => json!({}),
            Some(claims) => json!({ AUTHORIZER_ROLE: self.role(&claims).await?.as_str() }),
        };
        let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::<Value>::default();
        response.is_authorized = true;
        response.context = context;
        Ok(response)
    }

    async fn role(&self, claims: &Claims) -> Result<Role, StoreError> {
        if claims.role != Role::Staff {
            return Ok(claims.role);
        }
        let Some(user_id) = claims.user_id() else {
            return Ok(Role::Customer);
        };
        // One round trip: both reads at once.
        let (user, session) = tokio::try_join!(
            self.store.find_user(user_id),
            self.store.find_session(&claims.sid)
        )?;
        let role = confirmed_role(
            claims,
            user.as_ref(),
            session.as_ref(),
            OffsetDateTime::now_utc(),
        );
        if role != Role::Staff {
            tracing::info!(
                user_id = user_id.get(),
                session_id = %claims.sid,
                "staff token no longer confirmed"
            );
        }
        Ok(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Registration;
    use finflow_shared::UserId;

    fn claims(role: Role) -> Claims {
        Claims {
            sub: "7".into(),
            sid: "s".into(),
            role,
            iss: "finflow".into(),
            aud: "finflow-api".into(),
            iat: 0,
            exp: 0,
            jti: "j".into(),
        }
    }

    fn user(role: Role) -> User {
        User {
            role,
            ..Registration::parse("a@example.com", "password123", "Alice")
                .ok()
                .unwrap()
                .into_user(UserId::new(7), "hash".into(), OffsetDateTime::now_utc())
        }
    }

    fn session(user_id: UserId, revoked: bool) -> Session {
        Session {
            id: "s".into(),
            user_id,
            refresh_token_hash: String::new(),
            expires_at: OffsetDateTime::now_utc() + time::Duration::days(1),
            revoked,
        }
    }

    #[test]
    fn staff_rights_need_a_staff_user_now_and_a_live_session_of_theirs() {
        let now = OffsetDateTime::now_utc();
        let staff = claims(Role::Staff);
        let confirm = |user: Option<User>, session: Option<Session>| {
            confirmed_role(&staff, user.as_ref(), session.as_ref(), now)
        };
        assert_eq!(
            confirm(
                Some(user(Role::Staff)),
                Some(session(UserId::new(7), false))
            ),
            Role::Staff
        );
        // Revoked since the token was issued.
        assert_eq!(
            confirm(
                Some(user(Role::Customer)),
                Some(session(UserId::new(7), false))
            ),
            Role::Customer
        );
        // Logged out.
        assert_eq!(
            confirm(Some(user(Role::Staff)), Some(session(UserId::new(7), true))),
            Role::Customer
        );
        // Someone else's session, or none, or no user.
        assert_eq!(
            confirm(
                Some(user(Role::Staff)),
                Some(session(UserId::new(8), false))
            ),
            Role::Customer
        );
        assert_eq!(confirm(Some(user(Role::Staff)), None), Role::Customer);
        assert_eq!(
            confirm(None, Some(session(UserId::new(7), false))),
            Role::Customer
        );
        // A customer's token is never raised.
        let customer = claims(Role::Customer);
        let session = session(UserId::new(7), false);
        let user = user(Role::Staff);
        assert_eq!(
            confirmed_role(&customer, Some(&user), Some(&session), now),
            Role::Customer
        );
    }
}
