//! Events about users, produced by auth. Each carries the user's full cascade-relevant state
//! and its version, so a consumer keeps the newest snapshot whatever order events arrive in.

use serde::{Deserialize, Serialize};

use super::envelope::DomainEvent;
use crate::customer::{AccountTier, KycStatus};

/// The part of a user every downstream service may rely on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSnapshot {
    pub user_id: u64,
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
    pub changed_by: u64,
}

impl DomainEvent for UserTierChanged {
    const TYPE: &'static str = "user.tier_changed";
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
