//! Wallet's use cases: open, look up, change status, deposit, read the ledger.

use std::sync::Arc;

use axum::response::Response;
use finflow_shared::currency::Currency;
use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::events::wallet::{
    WalletCreated, WalletDeposited, WalletStatus, WalletStatusChanged,
};
use finflow_shared::events::{Causality, EventEnvelope};
use finflow_shared::http::Caller;
use finflow_shared::idempotency::{Executed, IdempotencyKey, IdempotencyStore, fingerprint};
use finflow_shared::retry::RetryPolicy;
use finflow_shared::{ApiError, ApiResult, PositiveAmount, UserId, WalletId};
use http::StatusCode;
use time::OffsetDateTime;

use crate::domain::{EntryKind, LedgerEntry, StatusChange, Wallet, WalletRuleError, tier_limits};
use crate::routes::views::{DepositView, WalletView};
use crate::store::{EntryPage, WalletStore, WriteError};

/// Optimistic writes retry this often when another request changed the wallet first.
const WRITES: RetryPolicy = RetryPolicy::new("wallet", 5);

pub struct WalletService {
    store: Arc<dyn WalletStore>,
    idempotency: IdempotencyStore,
}

pub struct Deposit {
    pub amount: PositiveAmount,
    pub reference: Option<String>,
}

impl WalletService {
    pub fn new(store: Arc<dyn WalletStore>, idempotency: IdempotencyStore) -> Self {
        WalletService { store, idempotency }
    }

    /// Opens a wallet in `currency`: 201 with the wallet, once per request.
    pub async fn open(
        &self,
        caller: &Caller,
        currency: Currency,
        causality: &Causality,
    ) -> ApiResult<Response> {
        self.idempotency
            .once("wallet.open", caller.user_id, |receipt| async move {
                let customer = self.store.customer(caller.user_id).await?;
                let kyc_status = customer
                    .as_ref()
                    .map_or(KycStatus::Pending, |c| c.kyc_status);
                if kyc_status != KycStatus::Verified {
                    return Err(ApiError::Forbidden(format!(
                        "KYC verification required. Current status: {}",
                        kyc_status.as_str()
                    )));
                }
                let customer = customer.expect("a verified customer is known");
                let limits = tier_limits(customer.account_tier);
                if customer.open_wallets >= limits.max_wallets {
                    return Err(wallet_limit(customer.account_tier, limits.max_wallets));
                }
                let wallet = Wallet::open(
                    self.store.allocate_wallet_id().await?,
                    caller.user_id,
                    currency,
                    OffsetDateTime::now_utc(),
                );
                let event = EventEnvelope::new(
                    &WalletCreated {
                        wallet_id: wallet.id,
                        user_id: wallet.user_id,
                        currency,
                        status: wallet.status(),
                    },
                    causality,
                );
                let body = view(WalletView::from(&wallet));
                let receipt = receipt.receipt(StatusCode::CREATED, &body);
                match self
                    .store
                    .create_wallet(&wallet, limits.max_wallets, &event, receipt)
                    .await
                {
                    Ok(()) => {
                        tracing::info!(
                            wallet_id = wallet.id.get(),
                            currency = %currency,
                            "wallet opened"
                        );
                        Ok(Executed::Now(StatusCode::CREATED, body))
                    }
                    Err(WriteError::AlreadyCommitted) => Ok(Executed::Earlier),
                    Err(WriteError::CurrencyTaken) => Err(ApiError::Conflict(format!(
                        "You already have an open {currency} wallet"
                    ))),
                    // Lost a race with another open or a downgrade between our read and write.
                    Err(WriteError::NotAllowed) => {
                        Err(wallet_limit(customer.account_tier, limits.max_wallets))
                    }
                    Err(WriteError::Conflict) => Err(ApiError::Conflict(
                        "The wallet changed concurrently; retry".into(),
                    )),
                    Err(WriteError::Store(error)) => Err(error.into()),
                }
            })
            .await
    }

    /// The wallet, if the caller owns it or is staff. Anyone else learns nothing, not even
    /// that it exists.
    pub async fn owned(&self, caller: &Caller, id: WalletId) -> ApiResult<Wallet> {
        self.store
            .wallet(id)
            .await?
            .filter(|wallet| wallet.user_id == caller.user_id || caller.is_staff())
            .ok_or_else(|| ApiError::NotFound(format!("Wallet {id} not found")))
    }

    pub async fn of_user(&self, caller: &Caller, user_id: UserId) -> ApiResult<Vec<Wallet>> {
        caller.require_self_or_staff(user_id)?;
        Ok(self.store.wallets_of(user_id).await?)
    }

    /// Changes the wallet's status: 200 with the wallet, once per request.
    pub async fn change_status(
        &self,
        caller: &Caller,
        id: WalletId,
        to: WalletStatus,
        reason: Option<String>,
        causality: &Causality,
    ) -> ApiResult<Response> {
        self.idempotency
            .once("wallet.status", caller.user_id, |receipt| async move {
                let mut attempts = WRITES.attempts();
                while attempts.next().await.is_some() {
                    let wallet = self.owned(caller, id).await?;
                    let updated = match wallet
                        .change_status(to, caller.role, OffsetDateTime::now_utc())
                        .map_err(rule_error)?
                    {
                        StatusChange::Unchanged => {
                            return Ok(Executed::Now(
                                StatusCode::OK,
                                view(WalletView::from(&wallet)),
                            ));
                        }
                        StatusChange::Changed(updated) => updated,
                    };
                    let event = EventEnvelope::new(
                        &WalletStatusChanged {
                            wallet_id: id,
                            user_id: wallet.user_id,
                            currency: wallet.currency,
                            previous_status: wallet.status(),
                            status: to,
                            changed_by: caller.user_id,
                            reason: reason.clone(),
                        },
                        causality,
                    );
                    let body = view(WalletView::from(&updated));
                    let written = self
                        .store
                        .save_status(
                            &wallet,
                            &updated,
                            &event,
                            receipt.receipt(StatusCode::OK, &body),
                        )
                        .await;
                    match written {
                        Ok(()) => {
                            tracing::info!(
                                wallet_id = id.get(),
                                from = wallet.status().as_str(),
                                to = to.as_str(),
                                "wallet status changed"
                            );
                            return Ok(Executed::Now(StatusCode::OK, body));
                        }
                        Err(WriteError::AlreadyCommitted) => return Ok(Executed::Earlier),
                        Err(WriteError::Conflict) => continue,
                        Err(WriteError::Store(error)) => return Err(error.into()),
                        Err(other) => return Err(ApiError::internal(other)),
                    }
                }
                Err(busy())
            })
            .await
    }

    /// Credits the wallet once per idempotency key.
    pub async fn deposit(
        &self,
        caller: &Caller,
        id: WalletId,
        deposit: Deposit,
        key: Option<IdempotencyKey>,
        causality: &Causality,
    ) -> ApiResult<Response> {
        let request =
            serde_json::json!({ "amount": deposit.amount, "reference": deposit.reference });
        let fingerprint = fingerprint(&format!("wallet.deposit:{id}"), &request);
        self.idempotency
            .run(
                "wallet.deposit",
                caller.user_id,
                key,
                fingerprint,
                |receipt| async move {
                    let mut attempts = WRITES.attempts();
                    while attempts.next().await.is_some() {
                        let wallet = self.owned(caller, id).await?;
                        // A customer wallet has not heard of yet holds the lowest tier.
                        let tier = self
                            .store
                            .customer(wallet.user_id)
                            .await?
                            .map_or(AccountTier::Bronze, |c| c.account_tier);
                        let now = OffsetDateTime::now_utc();
                        let updated = wallet
                            .deposit(deposit.amount, &tier_limits(tier), tier, now)
                            .map_err(rule_error)?;
                        let entry = LedgerEntry {
                            id: uuid::Uuid::now_v7().to_string(),
                            wallet_id: id,
                            kind: EntryKind::Credit,
                            amount: deposit.amount,
                            balance_after: updated.balance,
                            reference_type: "deposit".into(),
                            reference_id: deposit.reference.clone().unwrap_or_default(),
                            description: None,
                            created_at: now,
                        };
                        let event = EventEnvelope::new(
                            &WalletDeposited {
                                wallet_id: id,
                                user_id: wallet.user_id,
                                currency: wallet.currency,
                                amount: deposit.amount,
                                balance_after: updated.balance,
                                reference: entry.reference_id.clone(),
                            },
                            causality,
                        );
                        let body = view(DepositView::new(&updated, &entry));
                        let written = self
                            .store
                            .save_deposit(
                                &updated,
                                &entry,
                                &event,
                                receipt.receipt(StatusCode::OK, &body),
                            )
                            .await;
                        match written {
                            Ok(()) => {
                                tracing::info!(
                                    wallet_id = id.get(),
                                    amount = %deposit.amount,
                                    "deposit credited"
                                );
                                return Ok(Executed::Now(StatusCode::OK, body));
                            }
                            Err(WriteError::AlreadyCommitted) => return Ok(Executed::Earlier),
                            Err(WriteError::Conflict) => continue,
                            Err(WriteError::Store(error)) => return Err(error.into()),
                            Err(other) => return Err(ApiError::internal(other)),
                        }
                    }
                    Err(busy())
                },
            )
            .await
    }

    pub async fn entries(
        &self,
        caller: &Caller,
        id: WalletId,
        limit: i32,
        cursor: Option<&str>,
    ) -> ApiResult<(Wallet, EntryPage)> {
        let wallet = self.owned(caller, id).await?;
        let page = self.store.entries(id, limit, cursor).await?;
        Ok((wallet, page))
    }
}

fn view(view: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(view).expect("views serialize")
}

fn wallet_limit(tier: AccountTier, max: u32) -> ApiError {
    ApiError::Forbidden(format!("The {tier} tier allows at most {max} open wallets"))
}

fn busy() -> ApiError {
    ApiError::Conflict("The wallet is busy with other requests; retry".into())
}

fn rule_error(error: WalletRuleError) -> ApiError {
    match error {
        WalletRuleError::FrozenByStaff => ApiError::Forbidden(error.to_string()),
        WalletRuleError::Closed | WalletRuleError::NotEmpty(_) => {
            ApiError::Conflict(error.to_string())
        }
        WalletRuleError::NotActive(_)
        | WalletRuleError::DepositTooLarge { .. }
        | WalletRuleError::BalanceLimit { .. }
        | WalletRuleError::InsufficientFunds
        | WalletRuleError::Overflow => ApiError::BadRequest(error.to_string()),
        WalletRuleError::HoldMissing => ApiError::internal(error),
    }
}
