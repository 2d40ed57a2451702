//! What the API shows of wallets and their ledgers. Amounts are strings with four decimals.

use finflow_shared::Money;
use finflow_shared::money::SCALE;
use finflow_shared::{UserId, WalletId};
use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::{LedgerEntry, Wallet};

#[derive(Debug, Serialize)]
pub struct WalletView {
    pub id: WalletId,
    pub user_id: UserId,
    pub currency: &'static str,
    pub status: &'static str,
    pub balance: Money,
    pub available_balance: Money,
    pub held_balance: Money,
    pub precision: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Wallet> for WalletView {
    fn from(wallet: &Wallet) -> Self {
        WalletView {
            id: wallet.id,
            user_id: wallet.user_id,
            currency: wallet.currency.code(),
            status: wallet.status().as_str(),
            balance: wallet.balance,
            available_balance: wallet.balance,
            held_balance: wallet.held,
            precision: SCALE,
            created_at: wallet.created_at,
            updated_at: wallet.updated_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BalanceView {
    pub wallet_id: WalletId,
    pub currency: &'static str,
    pub balance: Money,
    pub available_balance: Money,
    pub held_balance: Money,
    pub precision: u32,
}

impl From<&Wallet> for BalanceView {
    fn from(wallet: &Wallet) -> Self {
        BalanceView {
            wallet_id: wallet.id,
            currency: wallet.currency.code(),
            balance: wallet.balance,
            available_balance: wallet.balance,
            held_balance: wallet.held,
            precision: SCALE,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EntryView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub amount: Money,
    pub balance_after: Money,
    pub reference_type: String,
    pub reference_id: String,
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&LedgerEntry> for EntryView {
    fn from(entry: &LedgerEntry) -> Self {
        EntryView {
            id: entry.id.clone(),
            kind: entry.kind.as_str(),
            amount: entry.amount.money(),
            balance_after: entry.balance_after,
            reference_type: entry.reference_type.clone(),
            reference_id: entry.reference_id.clone(),
            description: entry.description.clone(),
            created_at: entry.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DepositView {
    pub wallet: WalletView,
    pub transaction: EntryView,
}

impl DepositView {
    pub fn new(wallet: &Wallet, entry: &LedgerEntry) -> Self {
        DepositView {
            wallet: WalletView::from(wallet),
            transaction: EntryView::from(entry),
        }
    }
}
