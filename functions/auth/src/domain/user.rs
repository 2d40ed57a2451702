//! A FinFlow user and the rules for creating and changing one.

use finflow_shared::FieldError;
use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::events::user::UserSnapshot;
use finflow_shared::jwt::Role;
use time::OffsetDateTime;

use super::email::Email;
use super::password::NewPassword;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: u64,
    pub email: Email,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub kyc_status: KycStatus,
    pub account_tier: AccountTier,
    /// Starts at 1 and grows by one with each change; events carry it.
    pub version: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl User {
    pub fn snapshot(&self) -> UserSnapshot {
        UserSnapshot {
            user_id: self.id,
            kyc_status: self.kyc_status,
            account_tier: self.account_tier,
            version: self.version,
        }
    }

    /// The user after a tier change, or `None` when the tier is already `tier`.
    pub fn with_tier(&self, tier: AccountTier, now: OffsetDateTime) -> Option<User> {
        (self.account_tier != tier).then(|| User {
            account_tier: tier,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        })
    }

    /// The user after a KYC decision, or `None` when nothing changes.
    pub fn with_kyc_status(&self, status: KycStatus, now: OffsetDateTime) -> Option<User> {
        (self.kyc_status != status).then(|| User {
            kyc_status: status,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        })
    }
}

/// A registration whose every field has been checked; the password is not yet hashed.
pub struct Registration {
    pub email: Email,
    pub name: String,
    pub password: NewPassword,
}

impl Registration {
    /// Checks every field and reports all problems at once.
    pub fn parse(email: &str, password: &str, name: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let email = Email::parse(email)
            .map_err(|m| errors.push(FieldError::new("email", m)))
            .ok();
        let password = NewPassword::parse(password, email.as_ref().map(Email::as_str))
            .map_err(|m| errors.push(FieldError::new("password", m)))
            .ok();
        let name = parse_name(name)
            .map_err(|m| errors.push(FieldError::new("name", m)))
            .ok();
        match (email, password, name) {
            (Some(email), Some(password), Some(name)) => Ok(Registration {
                email,
                name,
                password,
            }),
            _ => Err(errors),
        }
    }

    /// The new user, with the id the store allocated and the hash of the password.
    pub fn into_user(
        self,
        id: u64,
        password_hash: String,
        role: Role,
        now: OffsetDateTime,
    ) -> User {
        User {
            id,
            email: self.email,
            name: self.name,
            password_hash,
            role,
            kyc_status: KycStatus::Pending,
            account_tier: AccountTier::Bronze,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

fn parse_name(text: &str) -> Result<String, &'static str> {
    let name = text.trim();
    if name.is_empty() {
        return Err("must not be empty");
    }
    if name.chars().count() > 100 {
        return Err("must be at most 100 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_invalid_field_at_once() {
        let errors = Registration::parse("nope", "short", "  ").err().unwrap();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "password", "name"]);
    }

    #[test]
    fn new_users_start_pending_bronze_at_version_one() {
        let now = OffsetDateTime::now_utc();
        let user = Registration::parse("a@example.com", "password123", "Alice")
            .ok()
            .unwrap()
            .into_user(1, "hash".into(), Role::Customer, now);
        assert_eq!(
            (user.kyc_status, user.account_tier, user.version),
            (KycStatus::Pending, AccountTier::Bronze, 1)
        );
    }

    #[test]
    fn a_tier_change_bumps_the_version_and_a_no_op_is_none() {
        let now = OffsetDateTime::now_utc();
        let user = Registration::parse("a@example.com", "password123", "Alice")
            .ok()
            .unwrap()
            .into_user(1, "hash".into(), Role::Customer, now);
        let gold = user.with_tier(AccountTier::Gold, now).unwrap();
        assert_eq!((gold.account_tier, gold.version), (AccountTier::Gold, 2));
        assert!(gold.with_tier(AccountTier::Gold, now).is_none());
    }
}
