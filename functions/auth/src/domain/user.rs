//! A FinFlow user and the rules for creating and changing one.

use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::events::kyc::KycDecision;
use finflow_shared::events::user::UserSnapshot;
use finflow_shared::jwt::Role;
use finflow_shared::{FieldError, UserId};
use time::OffsetDateTime;

use super::email::Email;
use super::password::NewPassword;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub kyc_status: KycStatus,
    pub account_tier: AccountTier,
    /// Starts at 1 and grows by one with each change; events carry it.
    pub version: u64,
    /// The sequence of the latest KYC decision applied (0 before the first); KYC numbers each
    /// user's decisions, so an older one arriving late is recognised and ignored.
    pub kyc_decision_sequence: u64,
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

/// What a KYC decision does to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KycDecisionEffect {
    /// Not newer than the last decision applied: nothing changes.
    Stale,
    /// Newer, but the status stays: only the decision sequence moves on.
    Recorded(User),
    /// The KYC status changes.
    Changed(User),
}

/// The `kyc_status` a KYC decision means: a submission in manual review is still pending.
pub fn kyc_status_for(decision: KycDecision) -> KycStatus {
    match decision {
        KycDecision::Verified => KycStatus::Verified,
        KycDecision::Rejected => KycStatus::Rejected,
        KycDecision::ManualReview => KycStatus::Pending,
    }
}

impl User {
    /// Applies KYC's `sequence`-th decision about this user. Recording a newer decision bumps
    /// the version even when the status stays, so a concurrent writer working from an older
    /// read cannot put the old sequence back.
    pub fn apply_kyc_decision(
        &self,
        decision: KycDecision,
        sequence: u64,
        now: OffsetDateTime,
    ) -> KycDecisionEffect {
        if sequence <= self.kyc_decision_sequence {
            return KycDecisionEffect::Stale;
        }
        let status = kyc_status_for(decision);
        let updated = User {
            kyc_status: status,
            kyc_decision_sequence: sequence,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        };
        if status == self.kyc_status {
            KycDecisionEffect::Recorded(updated)
        } else {
            KycDecisionEffect::Changed(updated)
        }
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

    /// The new user, with the id the store allocated and the hash of the password. Registering
    /// makes a customer, whatever the address: staff rights are granted (`domain::staff`).
    pub fn into_user(self, id: UserId, password_hash: String, now: OffsetDateTime) -> User {
        User {
            id,
            email: self.email,
            name: self.name,
            password_hash,
            role: Role::Customer,
            kyc_status: KycStatus::Pending,
            account_tier: AccountTier::Bronze,
            version: 1,
            kyc_decision_sequence: 0,
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
    fn new_users_start_as_pending_bronze_customers_at_version_one() {
        let now = OffsetDateTime::now_utc();
        let user = Registration::parse("a@example.com", "password123", "Alice")
            .ok()
            .unwrap()
            .into_user(UserId::new(1), "hash".into(), now);
        assert_eq!(
            (user.role, user.kyc_status, user.account_tier, user.version),
            (Role::Customer, KycStatus::Pending, AccountTier::Bronze, 1)
        );
    }

    #[test]
    fn kyc_decisions_apply_in_sequence_and_older_ones_are_stale() {
        let now = OffsetDateTime::now_utc();
        let user = Registration::parse("a@example.com", "password123", "Alice")
            .ok()
            .unwrap()
            .into_user(UserId::new(1), "hash".into(), now);
        // Manual review keeps the user pending, but the sequence still moves on.
        let KycDecisionEffect::Recorded(reviewing) =
            user.apply_kyc_decision(KycDecision::ManualReview, 1, now)
        else {
            panic!("manual review changes no status")
        };
        assert_eq!(
            (
                reviewing.kyc_status,
                reviewing.kyc_decision_sequence,
                reviewing.version
            ),
            (KycStatus::Pending, 1, 2)
        );
        let KycDecisionEffect::Changed(verified) =
            reviewing.apply_kyc_decision(KycDecision::Verified, 3, now)
        else {
            panic!("verified is a change")
        };
        assert_eq!(
            (
                verified.kyc_status,
                verified.kyc_decision_sequence,
                verified.version
            ),
            (KycStatus::Verified, 3, 3)
        );
        for late in [1, 2, 3] {
            assert_eq!(
                verified.apply_kyc_decision(KycDecision::Rejected, late, now),
                KycDecisionEffect::Stale
            );
        }
        assert_eq!(kyc_status_for(KycDecision::Rejected), KycStatus::Rejected);
    }

    #[test]
    fn a_tier_change_bumps_the_version_and_a_no_op_is_none() {
        let now = OffsetDateTime::now_utc();
        let user = Registration::parse("a@example.com", "password123", "Alice")
            .ok()
            .unwrap()
            .into_user(UserId::new(1), "hash".into(), now);
        let gold = user.with_tier(AccountTier::Gold, now).unwrap();
        assert_eq!((gold.account_tier, gold.version), (AccountTier::Gold, 2));
        assert!(gold.with_tier(AccountTier::Gold, now).is_none());
    }
}
