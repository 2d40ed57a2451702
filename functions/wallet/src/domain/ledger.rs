//! Ledger entries: every change of a balance, with the balance it left behind. Replaying a
//! wallet's entries in order gives its balance.

use finflow_shared::{Money, PositiveAmount, WalletId};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Credit,
    Debit,
}

impl EntryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::Credit => "credit",
            EntryKind::Debit => "debit",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "credit" => Some(EntryKind::Credit),
            "debit" => Some(EntryKind::Debit),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Time-ordered (UUID v7), so entries sort newest first by id.
    pub id: String,
    pub wallet_id: WalletId,
    pub kind: EntryKind,
    pub amount: PositiveAmount,
    pub balance_after: Money,
    /// What moved the money: `deposit` or `payment`.
    pub reference_type: String,
    pub reference_id: String,
    pub description: Option<String>,
    pub created_at: OffsetDateTime,
}
