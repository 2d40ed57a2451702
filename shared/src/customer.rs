//! The customer attributes that auth owns and every other service learns from events.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KycStatus {
    Pending,
    Verified,
    Rejected,
}

impl KycStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            KycStatus::Pending => "pending",
            KycStatus::Verified => "verified",
            KycStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(KycStatus::Pending),
            "verified" => Some(KycStatus::Verified),
            "rejected" => Some(KycStatus::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountTier {
    Bronze,
    Silver,
    Gold,
}

impl AccountTier {
    pub fn as_str(&self) -> &'static str {
        match self {
            AccountTier::Bronze => "bronze",
            AccountTier::Silver => "silver",
            AccountTier::Gold => "gold",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "bronze" => Some(AccountTier::Bronze),
            "silver" => Some(AccountTier::Silver),
            "gold" => Some(AccountTier::Gold),
            _ => None,
        }
    }
}

impl std::fmt::Display for AccountTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
