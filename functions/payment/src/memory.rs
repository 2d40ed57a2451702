//! An in-memory [`PaymentStore`] for unit tests of the use cases: it keeps wallets, tiers and
//! payments, and refuses a write as DynamoDB's conditions would (a wallet changed since it
//! was read, the payee's room, the daily limit). It can also refuse the next writes as
//! conflicts, to exercise the read → decide → write retries.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use finflow_shared::Money;
use finflow_shared::customer::AccountTier;
use finflow_shared::dynamo::{ListError, StoreError};
use finflow_shared::events::payment::PaymentStatus;
use finflow_shared::{PaymentId, UserId, WalletId};
use finflow_wallet::domain::Wallet;
use time::OffsetDateTime;

use crate::domain::{Payment, RecentActivity};
use crate::store::{PaymentPage, PaymentStore, SettlementWrite, TransferWrite, WriteError};

#[derive(Default)]
pub struct MemoryPaymentStore {
    pub wallets: Mutex<HashMap<WalletId, Wallet>>,
    pub tiers: Mutex<HashMap<UserId, AccountTier>>,
    pub payments: Mutex<Vec<Payment>>,
    /// The next this many writes fail as conflicts.
    pub conflicts_to_inject: Mutex<u32>,
    next_id: Mutex<u64>,
}

impl MemoryPaymentStore {
    pub fn with_wallets(wallets: impl IntoIterator<Item = Wallet>) -> Self {
        let store = MemoryPaymentStore::default();
        store
            .wallets
            .lock()
            .unwrap()
            .extend(wallets.into_iter().map(|w| (w.id, w)));
        store
    }

    pub fn balance(&self, wallet: WalletId) -> (Money, Money) {
        let wallets = self.wallets.lock().unwrap();
        (wallets[&wallet].balance, wallets[&wallet].held)
    }
}

/// A write of `updated` is allowed on the version it was derived from only.
fn unchanged_since_read(stored: &HashMap<WalletId, Wallet>, updated: &Wallet) -> bool {
    stored
        .get(&updated.id)
        .is_some_and(|wallet| wallet.version + 1 == updated.version)
}

#[async_trait]
impl PaymentStore for MemoryPaymentStore {
    async fn wallet(&self, id: WalletId) -> Result<Option<Wallet>, StoreError> {
        Ok(self.wallets.lock().unwrap().get(&id).cloned())
    }

    async fn tier(&self, user: UserId) -> Result<AccountTier, StoreError> {
        Ok(self
            .tiers
            .lock()
            .unwrap()
            .get(&user)
            .copied()
            .unwrap_or(AccountTier::Bronze))
    }

    async fn allocate_payment_id(&self) -> Result<PaymentId, StoreError> {
        let mut next = self.next_id.lock().unwrap();
        *next += 1;
        Ok(PaymentId::new(*next))
    }

    async fn recent_activity(
        &self,
        payer: UserId,
        to_wallet: WalletId,
        since: OffsetDateTime,
    ) -> Result<RecentActivity, StoreError> {
        let payments = self.payments.lock().unwrap();
        let known = payments
            .iter()
            .any(|p| p.payer_id == payer && p.to_wallet_id == to_wallet);
        Ok(RecentActivity::of(payments.iter(), payer, since, !known))
    }

    async fn record_transfer(&self, write: TransferWrite) -> Result<(), WriteError> {
        {
            let mut conflicts = self.conflicts_to_inject.lock().unwrap();
            if *conflicts > 0 {
                *conflicts -= 1;
                return Err(WriteError::Conflict);
            }
        }
        let plan = write.plan;
        let mut wallets = self.wallets.lock().unwrap();
        let mut payments = self.payments.lock().unwrap();
        let moved = std::iter::once(&plan.source.wallet)
            .chain(plan.destination.as_ref().map(|credit| &credit.wallet));
        if !moved
            .clone()
            .all(|wallet| unchanged_since_read(&wallets, wallet))
        {
            return Err(WriteError::Conflict);
        }
        let payee = &wallets[&plan.payment.to_wallet_id];
        if payee.balance > plan.payee_room {
            return Err(WriteError::Conflict);
        }
        let day = plan.payment.created_at.date();
        let sent_today = payments
            .iter()
            .filter(|p| p.payer_id == plan.payment.payer_id && p.created_at.date() == day)
            .try_fold(plan.payment.amount.money(), |sum, p| {
                sum.checked_add(p.amount.money())
            })
            .map_err(|e| WriteError::Store(StoreError::Sdk(e.to_string())))?;
        if sent_today > plan.daily_limit {
            return Err(WriteError::DailyLimit);
        }
        for wallet in moved {
            wallets.insert(wallet.id, wallet.clone());
        }
        payments.push(plan.payment);
        Ok(())
    }

    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self
            .payments
            .lock()
            .unwrap()
            .iter()
            .find(|p| p.id == id)
            .cloned())
    }

    async fn history(
        &self,
        user: UserId,
        status: Option<PaymentStatus>,
        _limit: i32,
        _cursor: Option<&str>,
    ) -> Result<PaymentPage, ListError> {
        let payments = self.payments.lock().unwrap();
        Ok(PaymentPage {
            payments: payments
                .iter()
                .rev()
                .filter(|p| p.payer_id == user || p.payee_id == user)
                .filter(|p| status.is_none_or(|s| p.status() == s))
                .cloned()
                .collect(),
            next_cursor: None,
        })
    }

    async fn settle(&self, _write: SettlementWrite) -> Result<(), WriteError> {
        unreachable!("settlements are tested against the emulator")
    }
}
