//! Who may grant and revoke staff rights, decided without I/O.
//!
//! Staff rights never come from registering. An operator of the AWS account grants the first
//! one (`finflow staff grant`, which needs write access to auth's table); staff members grant
//! and revoke further ones through the API. Nobody changes their own role: a staff member can
//! neither lock the platform out by revoking themselves nor hide a grant to themselves among
//! their own actions.

use finflow_shared::events::user::RoleChangedBy;
use finflow_shared::jwt::Role;
use time::OffsetDateTime;

use super::user::User;

/// Why a role change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChangeRefused {
    /// The staff member asked to change their own role.
    OwnRole,
}

/// The user after `by` sets its role to `role`: `Ok(None)` when it already has it.
pub fn change_role(
    user: &User,
    role: Role,
    by: &RoleChangedBy,
    now: OffsetDateTime,
) -> Result<Option<User>, RoleChangeRefused> {
    if *by == RoleChangedBy::Staff(user.id) {
        return Err(RoleChangeRefused::OwnRole);
    }
    Ok((user.role != role).then(|| User {
        role,
        version: user.version + 1,
        updated_at: now,
        ..user.clone()
    }))
}

/// The name an operator signs a bootstrap grant with, as the audit trail shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorName(String);

impl OperatorName {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let name = text.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err("must be 1 to 100 characters");
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(OperatorName(name.to_owned()))
    }
}

impl From<OperatorName> for RoleChangedBy {
    fn from(name: OperatorName) -> Self {
        RoleChangedBy::Operator(name.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Registration;
    use finflow_shared::UserId;

    fn customer(id: UserId) -> User {
        Registration::parse("a@example.com", "password123", "Alice")
            .ok()
            .unwrap()
            .into_user(id, "hash".into(), OffsetDateTime::now_utc())
    }

    #[test]
    fn a_grant_bumps_the_version_and_a_repeat_changes_nothing() {
        let now = OffsetDateTime::now_utc();
        let by = RoleChangedBy::Operator("ops".into());
        let staff = change_role(&customer(UserId::new(1)), Role::Staff, &by, now)
            .unwrap()
            .unwrap();
        assert_eq!((staff.role, staff.version), (Role::Staff, 2));
        assert_eq!(change_role(&staff, Role::Staff, &by, now), Ok(None));
        let revoked = change_role(
            &staff,
            Role::Customer,
            &RoleChangedBy::Staff(UserId::new(9)),
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!((revoked.role, revoked.version), (Role::Customer, 3));
    }

    #[test]
    fn nobody_changes_their_own_role() {
        let now = OffsetDateTime::now_utc();
        let staff = User {
            role: Role::Staff,
            ..customer(UserId::new(5))
        };
        for role in [Role::Staff, Role::Customer] {
            assert_eq!(
                change_role(&staff, role, &RoleChangedBy::Staff(UserId::new(5)), now),
                Err(RoleChangeRefused::OwnRole)
            );
        }
    }

    #[test]
    fn operator_names_are_short_printable_text() {
        assert!(OperatorName::parse("  alice@ops ").is_ok());
        assert!(OperatorName::parse(" ").is_err());
        assert!(OperatorName::parse("a\nb").is_err());
        assert!(OperatorName::parse(&"x".repeat(101)).is_err());
    }
}
