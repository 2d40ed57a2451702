//! Payment's use cases: transfer, look up, list, and settle a held payment.

use std::sync::Arc;

use axum::response::Response;
use finflow_kyc::aml::screening::{TransferFacts, WINDOW_MINUTES, screen};
use finflow_shared::events::payment::{
    PaymentCompleted, PaymentFailed, PaymentOnHold, PaymentReleased, PaymentStatus, PaymentVoided,
};
use finflow_shared::events::{Causality, EventEnvelope};
use finflow_shared::http::Caller;
use finflow_shared::idempotency::{IdempotencyKey, IdempotencyStore, fingerprint};
use finflow_shared::{ApiError, ApiResult};
use finflow_wallet::domain::{EntryKind, LedgerEntry, Wallet, WalletRuleError};
use http::StatusCode;
use time::OffsetDateTime;

use crate::domain::{Payment, TransferError, TransferRequest, check_transfer, transfer_limits};
use crate::routes::views::PaymentView;
use crate::store::{PaymentPage, PaymentStore, SettlementWrite, TransferWrite, WriteError};

/// Optimistic writes retry this often when a wallet changed between read and write.
const WRITE_ATTEMPTS: usize = 8;

pub struct Payments {
    store: Arc<dyn PaymentStore>,
    idempotency: IdempotencyStore,
}

/// How a compliance decision ends a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    Release,
    Void,
}

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("payment {0} not found")]
    NotFound(u64),
    #[error("wallet {0} not found")]
    WalletMissing(u64),
    #[error("{0}")]
    Rule(String),
    #[error("{0}")]
    Store(String),
}

impl Payments {
    pub fn new(store: Arc<dyn PaymentStore>, idempotency: IdempotencyStore) -> Self {
        Payments { store, idempotency }
    }

    /// Moves money once per idempotency key: COMPLETED, or ON_HOLD when AML screening flags it.
    pub async fn transfer(
        &self,
        caller: &Caller,
        request: TransferRequest,
        key: Option<IdempotencyKey>,
        causality: &Causality,
    ) -> ApiResult<Response> {
        let fingerprint = fingerprint(
            "payment.transfer",
            &serde_json::json!({
                "from": request.from_wallet_id, "to": request.to_wallet_id, "amount": request.amount,
                "currency": request.currency, "description": request.description,
            }),
        );
        self.idempotency
            .run("payment.transfer", caller.user_id, key, fingerprint, |completion| async move {
                for _ in 0..WRITE_ATTEMPTS {
                    let source = self.store.wallet(request.from_wallet_id).await?;
                    let destination = self.store.wallet(request.to_wallet_id).await?;
                    let tier = self.store.tier(caller.user_id).await?;
                    let limits = transfer_limits(tier);
                    check_transfer(caller.user_id, &request, source.as_ref(), destination.as_ref(), &limits, tier.as_str()).map_err(transfer_error)?;
                    let (source, destination) = (source.expect("checked"), destination.expect("checked"));
                    let now = OffsetDateTime::now_utc();
                    let activity = self
                        .store
                        .recent_activity(caller.user_id, destination.id, now - time::Duration::minutes(WINDOW_MINUTES))
                        .await?;
                    let reasons = screen(&TransferFacts {
                        amount: request.amount.money(),
                        per_transaction_limit: limits.per_transaction,
                        daily_limit: limits.daily,
                        recent_count: activity.count,
                        recent_total: activity.total,
                        new_counterparty: activity.new_counterparty,
                    });
                    let payment = Payment {
                        id: self.store.allocate_payment_id().await?,
                        from_wallet_id: source.id,
                        to_wallet_id: destination.id,
                        payer_id: source.user_id,
                        payee_id: destination.user_id,
                        amount: request.amount,
                        currency: request.currency,
                        status: if reasons.is_empty() { PaymentStatus::Completed } else { PaymentStatus::OnHold },
                        description: request.description.clone(),
                        hold_reasons: reasons.clone(),
                        resolution: None,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    let write = self.plan_transfer(&payment, &source, &destination, limits.daily, causality, now).map_err(|e| ApiError::BadRequest(e.to_string()))?;
                    let body = serde_json::to_value(PaymentView::from(&payment)).expect("views serialize");
                    let write = TransferWrite { completion: completion.as_ref().map(|c| c.with_response(StatusCode::CREATED, &body)), ..write };
                    match self.store.record_transfer(write).await {
                        Ok(()) => {
                            tracing::info!(payment_id = payment.id, status = payment.status.as_str(), amount = %payment.amount, "transfer recorded");
                            return Ok((StatusCode::CREATED, body));
                        }
                        Err(WriteError::DailyLimit) => {
                            return Err(transfer_error(TransferError::OverDailyLimit { tier: tier.as_str(), limit: limits.daily }));
                        }
                        Err(WriteError::Conflict) => continue,
                        Err(WriteError::Store(error)) => return Err(error.into()),
                        Err(WriteError::AlreadyApplied) => return Err(ApiError::internal("unexpected inbox conflict")),
                    }
                }
                Err(ApiError::Conflict("The wallets are busy with other transfers; retry".into()))
            })
            .await
    }

    fn plan_transfer(
        &self,
        payment: &Payment,
        source: &Wallet,
        destination: &Wallet,
        daily_limit: finflow_shared::Money,
        causality: &Causality,
        now: OffsetDateTime,
    ) -> Result<TransferWrite, WalletRuleError> {
        let reference = payment.id.to_string();
        let entry = |wallet: &Wallet, kind: EntryKind, description: &str| LedgerEntry {
            id: uuid::Uuid::now_v7().to_string(),
            wallet_id: wallet.id,
            kind,
            amount: payment.amount,
            balance_after: wallet.balance,
            reference_type: "payment".into(),
            reference_id: reference.clone(),
            description: Some(description.to_owned()),
            created_at: now,
        };
        if payment.status == PaymentStatus::OnHold {
            let held = source.hold(payment.amount, now)?;
            let event = EventEnvelope::new(
                &PaymentOnHold {
                    payment: payment.snapshot(),
                    reasons: payment.hold_reasons.clone(),
                },
                causality,
            );
            return Ok(TransferWrite {
                payment: payment.clone(),
                source: (
                    held.clone(),
                    entry(&held, EntryKind::Debit, "held for compliance review"),
                ),
                destination: None,
                daily_limit,
                event,
                completion: None,
            });
        }
        let debited = source.debit(payment.amount, now)?;
        let credited = destination.credit(payment.amount, now)?;
        Ok(TransferWrite {
            payment: payment.clone(),
            source: (
                debited.clone(),
                entry(&debited, EntryKind::Debit, "transfer sent"),
            ),
            destination: Some((
                credited.clone(),
                entry(&credited, EntryKind::Credit, "transfer received"),
            )),
            daily_limit,
            event: EventEnvelope::new(
                &PaymentCompleted {
                    payment: payment.snapshot(),
                },
                causality,
            ),
            completion: None,
        })
    }

    /// The payment, for its payer, its payee, or staff; anyone else learns nothing.
    pub async fn payment(&self, caller: &Caller, id: u64) -> ApiResult<Payment> {
        self.store
            .payment(id)
            .await?
            .filter(|p| {
                p.payer_id == caller.user_id || p.payee_id == caller.user_id || caller.is_staff()
            })
            .ok_or_else(|| ApiError::NotFound(format!("Payment {id} not found")))
    }

    pub async fn history(
        &self,
        caller: &Caller,
        status: Option<PaymentStatus>,
        limit: i32,
        cursor: Option<&str>,
    ) -> ApiResult<PaymentPage> {
        Ok(self
            .store
            .history(caller.user_id, status, limit, cursor)
            .await?)
    }

    /// Carries out a compliance decision on a held payment. Releasing to a wallet that can no
    /// longer receive returns the money and fails the payment instead.
    pub async fn settle(
        &self,
        payment_id: u64,
        case_id: u64,
        settlement: Settlement,
        causality: &Causality,
        cause: (&'static str, uuid::Uuid),
    ) -> Result<Option<Payment>, SettleError> {
        let store_error = |e: finflow_shared::dynamo::StoreError| SettleError::Store(e.to_string());
        for _ in 0..WRITE_ATTEMPTS {
            let payment = self
                .store
                .payment(payment_id)
                .await
                .map_err(store_error)?
                .ok_or(SettleError::NotFound(payment_id))?;
            if payment.status != PaymentStatus::OnHold {
                return Ok(None);
            }
            let source = self
                .store
                .wallet(payment.from_wallet_id)
                .await
                .map_err(store_error)?
                .ok_or(SettleError::WalletMissing(payment.from_wallet_id))?;
            let destination = self
                .store
                .wallet(payment.to_wallet_id)
                .await
                .map_err(store_error)?
                .ok_or(SettleError::WalletMissing(payment.to_wallet_id))?;
            let write = plan_settlement(
                &payment,
                &source,
                &destination,
                case_id,
                settlement,
                causality,
                cause,
            )?;
            let settled = write.payment.clone();
            match self.store.settle(write).await {
                Ok(()) => {
                    tracing::info!(
                        payment_id,
                        status = settled.status.as_str(),
                        "held payment settled"
                    );
                    return Ok(Some(settled));
                }
                Err(WriteError::AlreadyApplied) => return Ok(None),
                Err(WriteError::Conflict) => continue,
                Err(other) => return Err(SettleError::Store(other.to_string())),
            }
        }
        Err(SettleError::Store(
            "wallets kept changing; will retry".into(),
        ))
    }
}

fn plan_settlement(
    payment: &Payment,
    source: &Wallet,
    destination: &Wallet,
    case_id: u64,
    settlement: Settlement,
    causality: &Causality,
    cause: (&'static str, uuid::Uuid),
) -> Result<SettlementWrite, SettleError> {
    let now = OffsetDateTime::now_utc();
    let rule = |e: String| SettleError::Rule(e);
    let entry = |wallet: &Wallet, kind: EntryKind, description: &str| LedgerEntry {
        id: uuid::Uuid::now_v7().to_string(),
        wallet_id: wallet.id,
        kind,
        amount: payment.amount,
        balance_after: wallet.balance,
        reference_type: "payment".into(),
        reference_id: payment.id.to_string(),
        description: Some(description.to_owned()),
        created_at: now,
    };
    if settlement == Settlement::Release
        && let Ok(credited) = destination.credit(payment.amount, now)
    {
        let source = source
            .settle_hold(payment.amount, false, now)
            .map_err(|e| rule(e.to_string()))?;
        let settled = payment
            .settle(
                PaymentStatus::Completed,
                format!("released by AML case {case_id}"),
                now,
            )
            .map_err(|e| rule(e.to_string()))?;
        return Ok(SettlementWrite {
            event: EventEnvelope::new(
                &PaymentReleased {
                    payment: settled.snapshot(),
                    case_id,
                },
                causality,
            ),
            destination: Some((
                credited.clone(),
                entry(&credited, EntryKind::Credit, "held transfer released"),
            )),
            source: (source, None),
            payment: settled,
            cause,
        });
    }
    // Voided, or released to a wallet that can no longer receive: the payer gets it back.
    let resolution = match settlement {
        Settlement::Void => format!("voided by AML case {case_id}"),
        Settlement::Release => format!(
            "released by AML case {case_id}, but wallet {} cannot receive it",
            destination.id
        ),
    };
    let returned = source
        .settle_hold(payment.amount, true, now)
        .map_err(|e| rule(e.to_string()))?;
    let settled = payment
        .settle(PaymentStatus::Failed, resolution.clone(), now)
        .map_err(|e| rule(e.to_string()))?;
    let event = match settlement {
        Settlement::Void => EventEnvelope::new(
            &PaymentVoided {
                payment: settled.snapshot(),
                case_id,
            },
            causality,
        ),
        Settlement::Release => EventEnvelope::new(
            &PaymentFailed {
                payment: settled.snapshot(),
                reason: resolution,
            },
            causality,
        ),
    };
    Ok(SettlementWrite {
        source: (
            returned.clone(),
            Some(entry(
                &returned,
                EntryKind::Credit,
                "held transfer returned",
            )),
        ),
        destination: None,
        event,
        payment: settled,
        cause,
    })
}

fn transfer_error(error: TransferError) -> ApiError {
    if error.is_not_found() {
        ApiError::NotFound(error.to_string())
    } else {
        ApiError::BadRequest(error.to_string())
    }
}
