//! Events about users, produced by auth. Each carries the user's full cascade-relevant state
//! and its version, so a consumer keeps the newest snapshot whatever order events arrive in.

use serde::{Deserialize, Serialize};

use super::envelope::DomainEvent;
use crate::customer::{AccountTier, KycStatus};
use crate::ids::UserId;
use crate::jwt::Role;

/// The part of a user every downstream service may rely on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSnapshot {
    pub user_id: UserId,
    pub kyc_status: KycStatus,
    pub account_tier: AccountTier,
    /// Increases by one with every change to the user; consumers ignore older snapshots.
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCreated {
    #[serde(flatten)]
    pub user: UserSnapshot,
    pub email: String,
    pub name: String,
}

impl DomainEvent for UserCreated {
    const TYPE: &'static str = "user.created";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "auth";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTierChanged {
    #[serde(flatten)]
    pub user: UserSnapshot,
    pub previous_tier: AccountTier,
    pub changed_by: UserId,
}

impl DomainEvent for UserTierChanged {
    const TYPE: &'static str = "user.tier_changed";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "auth";
}

/// Who changed a user's role. Nobody changes their own: staff rights come from another staff
/// member or from an operator of the AWS account, never from registering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleChangedBy {
    /// A staff member, through the API (`PUT /api/auth/user/{id}/role`).
    Staff(UserId),
    /// An operator with write access to auth's table (`finflow staff grant|revoke`): how the
    /// first staff member is made.
    Operator(String),
}

/// Staff rights granted or revoked: the audit trail of who may act on other users' data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRoleChanged {
    #[serde(flatten)]
    pub user: UserSnapshot,
    pub role: Role,
    pub previous_role: Role,
    pub changed_by: RoleChangedBy,
}

impl DomainEvent for UserRoleChanged {
    const TYPE: &'static str = "user.role_changed";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "auth";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserKycUpdated {
    #[serde(flatten)]
    pub user: UserSnapshot,
    pub previous_kyc_status: KycStatus,
}

impl DomainEvent for UserKycUpdated {
    const TYPE: &'static str = "user.kyc_updated";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "auth";
}
