//! What the API shows of a user. The password hash never leaves the service.

use finflow_shared::UserId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::User;

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub kyc_status: &'static str,
    pub account_tier: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView {
            id: user.id,
            email: user.email.to_string(),
            name: user.name.clone(),
            role: user.role.as_str(),
            kyc_status: user.kyc_status.as_str(),
            account_tier: user.account_tier.as_str(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}
