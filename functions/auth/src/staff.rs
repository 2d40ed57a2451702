//! Granting and revoking staff rights: read the user, decide (`domain::staff`), write the user,
//! its audit record and its `user.role_changed` event in one transaction.
//!
//! Two doors lead here, both outside self-service: a staff member through the API, and an
//! operator's bootstrap command (`finflow staff`), which links this crate and needs write
//! access to auth's table. A revoked staff member's tokens lose their staff rights at once:
//! the gateway's authorizer (`authorizer.rs`) reads the role on every staff request.

use std::sync::Arc;

use finflow_shared::UserId;
use finflow_shared::events::user::{RoleChangedBy, UserRoleChanged};
use finflow_shared::events::{Causality, EventEnvelope};
use finflow_shared::jwt::Role;
use finflow_shared::{ApiError, ApiResult};
use time::OffsetDateTime;

use crate::domain::{Email, RoleChangeRefused, User, change_role};
use crate::store::{RoleChangeRecord, UserStore, WriteError};

/// Which user a role change is for: the API names users by id, operators by address.
#[derive(Debug, Clone)]
pub enum UserRef {
    Id(UserId),
    Email(Email),
}

pub struct StaffRoles {
    store: Arc<dyn UserStore>,
}

impl StaffRoles {
    pub fn new(store: Arc<dyn UserStore>) -> Self {
        StaffRoles { store }
    }

    /// Sets `user`'s role to `role` on behalf of `by`; the user as it now is. Setting the role
    /// a user already has changes and emits nothing.
    pub async fn set_role(
        &self,
        user: UserRef,
        role: Role,
        by: RoleChangedBy,
        causality: &Causality,
    ) -> ApiResult<User> {
        let user = self.find(&user).await?;
        let updated = match change_role(&user, role, &by, OffsetDateTime::now_utc()) {
            Ok(Some(updated)) => updated,
            Ok(None) => return Ok(user),
            Err(RoleChangeRefused::OwnRole) => {
                return Err(ApiError::Forbidden(
                    "Nobody changes their own role; ask another staff member".into(),
                ));
            }
        };
        let change = RoleChangeRecord {
            previous_role: user.role,
            changed_by: by,
        };
        let event = EventEnvelope::new(
            &UserRoleChanged {
                user: updated.snapshot(),
                role,
                previous_role: user.role,
                changed_by: change.changed_by.clone(),
            },
            causality,
        );
        match self.store.change_role(&updated, &change, &event).await {
            Ok(()) | Err(WriteError::AlreadyCommitted) => {
                tracing::info!(
                    user_id = updated.id.get(),
                    role = role.as_str(),
                    changed_by = ?change.changed_by,
                    "role changed"
                );
                Ok(updated)
            }
            Err(WriteError::Conflict | WriteError::EmailTaken) => Err(ApiError::Conflict(
                "The user changed concurrently; retry".into(),
            )),
            Err(WriteError::Store(error)) => Err(error.into()),
        }
    }

    async fn find(&self, user: &UserRef) -> ApiResult<User> {
        let found = match user {
            UserRef::Id(id) => self.store.find_user(*id).await?,
            UserRef::Email(email) => self.store.find_user_by_email(email).await?,
        };
        found.ok_or_else(|| match user {
            UserRef::Id(id) => ApiError::NotFound(format!("User {id} not found")),
            UserRef::Email(email) => ApiError::NotFound(format!("No user registered as {email}")),
        })
    }
}
