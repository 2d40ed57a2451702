//! Events about wallets, produced by wallet.

use serde::{Deserialize, Serialize};

use super::envelope::DomainEvent;
use crate::currency::Currency;
use crate::ids::{UserId, WalletId};
use crate::money::{Money, PositiveAmount};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalletStatus {
    Active,
    Frozen,
    Closed,
}

impl WalletStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            WalletStatus::Active => "active",
            WalletStatus::Frozen => "frozen",
            WalletStatus::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(WalletStatus::Active),
            "frozen" => Some(WalletStatus::Frozen),
            "closed" => Some(WalletStatus::Closed),
            _ => None,
        }
    }
}

impl std::fmt::Display for WalletStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletCreated {
    pub wallet_id: WalletId,
    pub user_id: UserId,
    pub currency: Currency,
    pub status: WalletStatus,
}

impl DomainEvent for WalletCreated {
    const TYPE: &'static str = "wallet.created";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "wallet";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletStatusChanged {
    pub wallet_id: WalletId,
    pub user_id: UserId,
    pub currency: Currency,
    pub previous_status: WalletStatus,
    pub status: WalletStatus,
    pub changed_by: UserId,
    pub reason: Option<String>,
}

impl DomainEvent for WalletStatusChanged {
    const TYPE: &'static str = "wallet.status_changed";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "wallet";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletDeposited {
    pub wallet_id: WalletId,
    pub user_id: UserId,
    pub currency: Currency,
    pub amount: PositiveAmount,
    pub balance_after: Money,
    pub reference: String,
}

impl DomainEvent for WalletDeposited {
    const TYPE: &'static str = "wallet.deposited";
    const VERSION: u32 = 1;
    const PRODUCER: &'static str = "wallet";
}
