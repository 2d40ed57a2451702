//! Auth's use cases: registration, login, token refresh and logout, profiles and tiers.

use std::sync::Arc;

use finflow_shared::UserId;
use finflow_shared::customer::AccountTier;
use finflow_shared::events::user::{UserCreated, UserTierChanged};
use finflow_shared::events::{Causality, EventEnvelope};
use finflow_shared::http::Caller;
use finflow_shared::jwt::{Role, TokenKeys};
use finflow_shared::{ApiError, ApiResult};
use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::session::{ACCESS_TOKEN_LIFETIME, REFRESH_TOKEN_LIFETIME, new_session_id};
use crate::domain::{
    Email, NewPassword, RefreshToken, Registration, Session, User, verify_password,
};
use crate::store::{UserStore, WriteError};

const BAD_CREDENTIALS: &str = "Incorrect email or password";

#[derive(Debug, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_in: i64,
}

pub struct Accounts {
    store: Arc<dyn UserStore>,
    keys: TokenKeys,
    /// Verified against when an email is unknown, so a wrong email and a wrong password take
    /// the same time and a caller cannot probe which addresses are registered.
    decoy_hash: String,
}

impl Accounts {
    pub fn new(store: Arc<dyn UserStore>, keys: TokenKeys) -> Self {
        let decoy_hash = NewPassword::parse("decoy-password-0", None)
            .expect("the decoy meets the policy")
            .hash();
        Accounts {
            store,
            keys,
            decoy_hash,
        }
    }

    pub async fn register(
        &self,
        registration: Registration,
        causality: &Causality,
    ) -> ApiResult<User> {
        if self
            .store
            .find_user_by_email(&registration.email)
            .await?
            .is_some()
        {
            return Err(email_taken());
        }
        // Argon2 is deliberately slow; it runs off the async workers so other requests move.
        let (registration, password_hash) = tokio::task::spawn_blocking(move || {
            let hash = registration.password.hash();
            (registration, hash)
        })
        .await
        .map_err(ApiError::internal)?;
        let id = self.store.allocate_user_id().await?;
        let user = registration.into_user(id, password_hash, OffsetDateTime::now_utc());
        let event = EventEnvelope::new(
            &UserCreated {
                user: user.snapshot(),
                email: user.email.to_string(),
                name: user.name.clone(),
            },
            causality,
        );
        match self.store.create_user(&user, &event).await {
            // Committed, now or by an attempt whose answer was lost: this user either way.
            Ok(()) | Err(WriteError::AlreadyCommitted) => {
                tracing::info!(user_id = user.id.get(), "user registered");
                Ok(user)
            }
            Err(WriteError::EmailTaken) => Err(email_taken()),
            Err(WriteError::Conflict) => {
                Err(ApiError::Conflict("Please retry the registration".into()))
            }
            Err(WriteError::Store(error)) => Err(error.into()),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> ApiResult<TokenPair> {
        let user = match Email::parse(email) {
            Ok(email) => self.store.find_user_by_email(&email).await?,
            Err(_) => None,
        };
        let stored_hash = user
            .as_ref()
            .map_or(self.decoy_hash.clone(), |u| u.password_hash.clone());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored_hash))
            .await
            .map_err(ApiError::internal)?;
        match user {
            Some(user) if matches => self.start_session(&user).await,
            _ => Err(ApiError::Unauthorized(BAD_CREDENTIALS.into())),
        }
    }

    async fn start_session(&self, user: &User) -> ApiResult<TokenPair> {
        let session_id = new_session_id();
        let refresh_token = RefreshToken::generate(&session_id);
        self.store
            .create_session(&Session {
                id: session_id.clone(),
                user_id: user.id,
                refresh_token_hash: refresh_token.hash(),
                expires_at: OffsetDateTime::now_utc() + REFRESH_TOKEN_LIFETIME,
                revoked: false,
            })
            .await?;
        self.token_pair(user, &session_id, refresh_token)
    }

    fn token_pair(
        &self,
        user: &User,
        session_id: &str,
        refresh_token: RefreshToken,
    ) -> ApiResult<TokenPair> {
        let (access_token, _) = self
            .keys
            .issue(user.id, session_id, user.role, ACCESS_TOKEN_LIFETIME)
            .map_err(ApiError::internal)?;
        Ok(TokenPair {
            access_token,
            token_type: "bearer",
            expires_in: ACCESS_TOKEN_LIFETIME.whole_seconds(),
            refresh_token: refresh_token.as_str().to_owned(),
            refresh_expires_in: REFRESH_TOKEN_LIFETIME.whole_seconds(),
        })
    }

    /// Rotates the refresh token. Presenting an already rotated token means it leaked, so the
    /// whole session is revoked.
    pub async fn refresh(&self, presented: &str) -> ApiResult<TokenPair> {
        let invalid = || ApiError::Unauthorized("Invalid or expired refresh token".into());
        let presented = RefreshToken::from_presented(presented).ok_or_else(invalid)?;
        let session = self
            .store
            .find_session(presented.session_id())
            .await?
            .ok_or_else(invalid)?;
        if !session.is_usable(OffsetDateTime::now_utc()) {
            return Err(invalid());
        }
        if session.refresh_token_hash != presented.hash() {
            tracing::warn!(session_id = %session.id, "refresh token reuse detected; session revoked");
            self.store.revoke_session(&session.id).await?;
            return Err(invalid());
        }
        let user = self
            .store
            .find_user(session.user_id)
            .await?
            .ok_or_else(invalid)?;
        let next = RefreshToken::generate(&session.id);
        if !self
            .store
            .rotate_refresh_token(&session.id, &presented.hash(), &next.hash())
            .await?
        {
            return Err(invalid());
        }
        self.token_pair(&user, &session.id, next)
    }

    pub async fn logout(&self, caller: &Caller) -> ApiResult<()> {
        self.store.revoke_session(&caller.session_id).await?;
        tracing::info!(user_id = caller.user_id.get(), "session revoked");
        Ok(())
    }

    /// The caller's own account, provided its session is still live.
    pub async fn current_user(&self, caller: &Caller) -> ApiResult<User> {
        self.require_live_session(caller).await?;
        self.store
            .find_user(caller.user_id)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("The account no longer exists".into()))
    }

    pub async fn require_live_session(&self, caller: &Caller) -> ApiResult<()> {
        let live = self
            .store
            .find_session(&caller.session_id)
            .await?
            .is_some_and(|session| {
                session.is_usable(OffsetDateTime::now_utc()) && session.user_id == caller.user_id
            });
        if live {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(
                "Session has ended; log in again".into(),
            ))
        }
    }

    /// The caller, provided their session is live and they are staff now, not only when their
    /// token was issued: for acts on staff rights themselves.
    pub async fn require_live_staff(&self, caller: &Caller) -> ApiResult<User> {
        let user = self.current_user(caller).await?;
        if user.role == Role::Staff {
            Ok(user)
        } else {
            Err(ApiError::Forbidden(
                "This action requires a staff account".into(),
            ))
        }
    }

    pub async fn user(&self, caller: &Caller, id: UserId) -> ApiResult<User> {
        caller.require_self_or_staff(id)?;
        self.store
            .find_user(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("User {id} not found")))
    }

    pub async fn change_tier(
        &self,
        caller: &Caller,
        id: UserId,
        tier: AccountTier,
        causality: &Causality,
    ) -> ApiResult<User> {
        caller.require_staff()?;
        let user = self
            .store
            .find_user(id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("User {id} not found")))?;
        let Some(updated) = user.with_tier(tier, OffsetDateTime::now_utc()) else {
            return Ok(user);
        };
        let event = EventEnvelope::new(
            &UserTierChanged {
                user: updated.snapshot(),
                previous_tier: user.account_tier,
                changed_by: caller.user_id,
            },
            causality,
        );
        match self.store.update_user(&updated, &event).await {
            Ok(()) | Err(WriteError::AlreadyCommitted) => {
                tracing::info!(
                    user_id = id.get(),
                    tier = tier.as_str(),
                    "account tier changed"
                );
                Ok(updated)
            }
            Err(WriteError::Conflict | WriteError::EmailTaken) => Err(ApiError::Conflict(
                "The user changed concurrently; retry".into(),
            )),
            Err(WriteError::Store(error)) => Err(error.into()),
        }
    }
}

fn email_taken() -> ApiError {
    ApiError::Conflict("Email already registered".into())
}
