//! Payment's use cases: transfer, look up, list, and settle a held payment.

use std::sync::Arc;

use axum::response::Response;
use finflow_shared::consumer::InboxMarker;
use finflow_shared::customer::AccountTier;
use finflow_shared::dynamo::StoreError;
use finflow_shared::events::payment::{
    PaymentCompleted, PaymentFailed, PaymentOnHold, PaymentReleased, PaymentStatus, PaymentVoided,
};
use finflow_shared::events::wallet::WalletStatus;
use finflow_shared::events::{Causality, EventEnvelope};
use finflow_shared::http::Caller;
use finflow_shared::idempotency::{Executed, IdempotencyKey, IdempotencyStore, fingerprint};
use finflow_shared::retry::RetryPolicy;
use finflow_shared::{ApiError, ApiResult, CaseId, PaymentId, UserId, WalletId};
use finflow_wallet::domain::{EntryKind, Wallet};
use http::StatusCode;
use time::OffsetDateTime;

use crate::domain::screening::WINDOW_MINUTES;
use crate::domain::{
    BalanceCap, HoldOutcome, Movement, Payment, PaymentState, TransferError, TransferReads,
    TransferRequest, balance_cap, decide_transfer, needs_payee_tier, transfer_limits,
};
use crate::routes::views::PaymentView;
use crate::store::{
    PaymentPage, PaymentStore, ReleasedCredit, SettlementWrite, TransferWrite, WriteError,
};

/// Optimistic writes retry this often when a wallet changed between read and write.
const WRITES: RetryPolicy = RetryPolicy::new("payment", 8);

pub struct PaymentService {
    store: Arc<dyn PaymentStore>,
    idempotency: IdempotencyStore,
}

/// How a compliance decision ends a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldDecision {
    Release,
    Void,
}

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("payment {0} not found")]
    NotFound(PaymentId),
    #[error("wallet {0} not found")]
    WalletMissing(WalletId),
    #[error("{0}")]
    Rule(String),
    #[error("{0}")]
    Store(String),
}

impl PaymentService {
    pub fn new(store: Arc<dyn PaymentStore>, idempotency: IdempotencyStore) -> Self {
        PaymentService { store, idempotency }
    }

    /// Moves money at most once per request and once per idempotency key: read, decide
    /// ([`decide_transfer`]: COMPLETED, or ON_HOLD when AML screening flags it), write; a
    /// wallet changed in between is read again and the transfer decided anew.
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
        let request = &request;
        self.idempotency
            .run(
                "payment.transfer",
                caller.user_id,
                key,
                fingerprint,
                |receipt| async move {
                    let mut attempts = WRITES.attempts();
                    while attempts.next().await.is_some() {
                        let now = OffsetDateTime::now_utc();
                        // The id is taken alongside the reads, not after the decision: a refused
                        // or conflicting attempt leaves a gap in the ids, and the answer comes a
                        // round trip sooner.
                        let (reads, payment_id) = tokio::try_join!(
                            self.read_transfer(caller.user_id, request, now),
                            self.store.allocate_payment_id(),
                        )?;
                        let allowed = decide_transfer(caller.user_id, request, &reads, now)
                            .map_err(transfer_error)?;
                        let plan = allowed.numbered(payment_id);
                        let body = serde_json::to_value(PaymentView::from(&plan.payment))
                            .expect("views serialize");
                        let event = transfer_event(&plan.payment, causality);
                        let recorded = plan.payment.clone();
                        let write = TransferWrite {
                            plan,
                            event,
                            receipt: receipt.receipt(StatusCode::CREATED, &body),
                        };
                        match self.store.record_transfer(write).await {
                            Ok(()) => {
                                tracing::info!(
                                    payment_id = recorded.id.get(),
                                    status = recorded.status().as_str(),
                                    amount = %request.amount,
                                    "transfer recorded"
                                );
                                crate::metrics::transfer_recorded(&recorded);
                                return Ok(Executed::Now(StatusCode::CREATED, body));
                            }
                            Err(WriteError::AlreadyApplied) => return Ok(Executed::Earlier),
                            Err(WriteError::DailyLimit) => {
                                return Err(transfer_error(TransferError::OverDailyLimit {
                                    tier: reads.payer_tier,
                                    limit: transfer_limits(reads.payer_tier).daily,
                                }));
                            }
                            // Also a payee whose balance grew meanwhile: the re-read refuses it.
                            Err(WriteError::Conflict) => {
                                crate::metrics::transfer_conflicted();
                                continue;
                            }
                            Err(WriteError::Store(error)) => return Err(error.into()),
                            Err(WriteError::DailyCounterShort) => {
                                return Err(ApiError::internal("unexpected daily counter refund"));
                            }
                        }
                    }
                    Err(ApiError::Conflict(
                        "The wallets are busy with other transfers; retry".into(),
                    ))
                },
            )
            .await
    }

    /// What a transfer is decided on. Independent reads go out together; only the payee's
    /// tier waits, for the payee, and only when the lowest tier's cap would not admit the
    /// credit.
    async fn read_transfer(
        &self,
        payer: UserId,
        request: &TransferRequest,
        now: OffsetDateTime,
    ) -> Result<TransferReads, StoreError> {
        let since = now - time::Duration::minutes(WINDOW_MINUTES);
        let (source, destination, payer_tier, activity) = tokio::try_join!(
            self.store.wallet(request.from_wallet_id),
            self.store.wallet(request.to_wallet_id),
            self.store.tier(payer),
            self.store
                .recent_activity(payer, request.to_wallet_id, since),
        )?;
        // A payee payment has not heard of yet holds the lowest tier.
        let payee_tier = match &destination {
            Some(wallet) if needs_payee_tier(wallet.balance, request.amount.money()) => {
                self.store.tier(wallet.user_id).await?
            }
            _ => AccountTier::Bronze,
        };
        Ok(TransferReads {
            source,
            destination,
            payer_tier,
            payee_tier,
            activity,
        })
    }

    /// The payment, for its payer, its payee, or staff; anyone else learns nothing.
    pub async fn payment(&self, caller: &Caller, id: PaymentId) -> ApiResult<Payment> {
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
    /// longer receive (not active, or the amount would take it above its tier's maximum
    /// balance: a hold reserves no room, see `check_transfer`) returns the money and fails the
    /// payment instead. Whenever the money goes back to the payer, the amount comes off the
    /// payer's daily total of the day the transfer was counted under, in the same transaction.
    pub async fn settle(
        &self,
        payment_id: PaymentId,
        case_id: CaseId,
        settlement: HoldDecision,
        causality: &Causality,
        cause: InboxMarker,
    ) -> Result<Option<Payment>, SettleError> {
        let store_error = |e: finflow_shared::dynamo::StoreError| SettleError::Store(e.to_string());
        let mut refund_daily = true;
        let mut attempts = WRITES.attempts();
        while attempts.next().await.is_some() {
            let payment = self
                .store
                .payment(payment_id)
                .await
                .map_err(store_error)?
                .ok_or(SettleError::NotFound(payment_id))?;
            if payment.status() != PaymentStatus::OnHold {
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
            let payee_cap = balance_cap(
                self.store
                    .tier(payment.payee_id)
                    .await
                    .map_err(store_error)?,
            );
            let mut write = plan_settlement(
                &payment,
                &source,
                &destination,
                &payee_cap,
                case_id,
                settlement,
                causality,
                cause,
            )?;
            write.refund_daily &= refund_daily;
            let settled = write.payment.clone();
            match self.store.settle(write).await {
                Ok(()) => {
                    tracing::info!(
                        payment_id = payment_id.get(),
                        status = settled.status().as_str(),
                        "held payment settled"
                    );
                    return Ok(Some(settled));
                }
                Err(WriteError::AlreadyApplied) => return Ok(None),
                Err(WriteError::Conflict) => continue,
                // Cannot happen while every daily total holds what was counted in it; if it
                // does, returning the money matters more than giving the limit back.
                Err(WriteError::DailyCounterShort) => {
                    tracing::error!(
                        payment_id = payment_id.get(),
                        "the payer's daily total holds less than the returned hold; returning it without giving the limit back"
                    );
                    refund_daily = false;
                    continue;
                }
                Err(other) => return Err(SettleError::Store(other.to_string())),
            }
        }
        Err(SettleError::Store(
            "wallets kept changing; will retry".into(),
        ))
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_settlement(
    payment: &Payment,
    source: &Wallet,
    destination: &Wallet,
    payee_cap: &BalanceCap,
    case_id: CaseId,
    settlement: HoldDecision,
    causality: &Causality,
    cause: InboxMarker,
) -> Result<SettlementWrite, SettleError> {
    let now = OffsetDateTime::now_utc();
    let rule = |e: String| SettleError::Rule(e);
    let entry = |wallet: &Wallet, kind: EntryKind, description: &str| {
        payment.entry(wallet, kind, description, now)
    };
    let receivable = payee_cap
        .room_before(payment.amount.money())
        .filter(|room| destination.balance <= *room);
    if settlement == HoldDecision::Release
        && let Some(room) = receivable
        && let Ok(credited) = destination.credit(payment.amount, now)
    {
        let source = source
            .settle_hold(payment.amount, false, now)
            .map_err(|e| rule(e.to_string()))?;
        let settled = payment
            .settle(
                HoldOutcome::Released,
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
            destination: Some(ReleasedCredit {
                credit: Movement {
                    entry: entry(&credited, EntryKind::Credit, "held transfer released"),
                    wallet: credited,
                },
                payee_room: room,
            }),
            refund_daily: false,
            source,
            source_entry: None,
            payment: settled,
            cause,
        });
    }
    // Voided, or released to a wallet that can no longer receive: the payer gets it back.
    let resolution = match settlement {
        HoldDecision::Void => format!("voided by AML case {case_id}"),
        HoldDecision::Release
            if receivable.is_none() && destination.status() == WalletStatus::Active =>
        {
            format!(
                "released by AML case {case_id}, but wallet {} cannot receive it: it would \
                 exceed the {} tier's maximum balance of {}",
                destination.id, payee_cap.tier, payee_cap.max_balance
            )
        }
        HoldDecision::Release => format!(
            "released by AML case {case_id}, but wallet {} cannot receive it",
            destination.id
        ),
    };
    let returned = source
        .settle_hold(payment.amount, true, now)
        .map_err(|e| rule(e.to_string()))?;
    let settled = payment
        .settle(HoldOutcome::Returned, resolution.clone(), now)
        .map_err(|e| rule(e.to_string()))?;
    let event = match settlement {
        HoldDecision::Void => EventEnvelope::new(
            &PaymentVoided {
                payment: settled.snapshot(),
                case_id,
            },
            causality,
        ),
        HoldDecision::Release => EventEnvelope::new(
            &PaymentFailed {
                payment: settled.snapshot(),
                reason: resolution,
            },
            causality,
        ),
    };
    Ok(SettlementWrite {
        source_entry: Some(entry(
            &returned,
            EntryKind::Credit,
            "held transfer returned",
        )),
        source: returned,
        destination: None,
        refund_daily: true,
        event,
        payment: settled,
        cause,
    })
}

/// The event a transfer announces: completed, or on hold with the reasons.
fn transfer_event(payment: &Payment, causality: &Causality) -> EventEnvelope {
    if let PaymentState::OnHold { reasons } = &payment.state {
        EventEnvelope::new(
            &PaymentOnHold {
                payment: payment.snapshot(),
                reasons: reasons.clone(),
            },
            causality,
        )
    } else {
        EventEnvelope::new(
            &PaymentCompleted {
                payment: payment.snapshot(),
            },
            causality,
        )
    }
}

fn transfer_error(error: TransferError) -> ApiError {
    crate::metrics::transfer_refused(&error);
    if error.is_not_found() {
        ApiError::NotFound(error.to_string())
    } else {
        ApiError::BadRequest(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use finflow_shared::currency::Currency;
    use finflow_shared::customer::AccountTier;
    use finflow_shared::trace::TraceId;
    use finflow_shared::{Money, PositiveAmount};

    fn m(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn wallet(id: WalletId, user: UserId, balance: &str, held: &str) -> Wallet {
        let mut wallet = Wallet::open(
            id,
            user,
            Currency::parse("USD").unwrap(),
            OffsetDateTime::now_utc(),
        );
        wallet.balance = m(balance);
        wallet.held = m(held);
        wallet.version = 3;
        wallet
    }

    fn held(amount: &str) -> Payment {
        let now = OffsetDateTime::now_utc();
        Payment {
            id: PaymentId::new(9),
            from_wallet_id: WalletId::new(1),
            to_wallet_id: WalletId::new(2),
            payer_id: UserId::new(7),
            payee_id: UserId::new(8),
            amount: PositiveAmount::new(m(amount)).unwrap(),
            currency: Currency::parse("USD").unwrap(),
            state: PaymentState::OnHold {
                reasons: vec!["structuring".into()],
            },
            description: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn plan(
        settlement: HoldDecision,
        payee_balance: &str,
        payee_tier: AccountTier,
    ) -> SettlementWrite {
        plan_settlement(
            &held("950"),
            &wallet(WalletId::new(1), UserId::new(7), "2050", "950"),
            &wallet(WalletId::new(2), UserId::new(8), payee_balance, "0"),
            &balance_cap(payee_tier),
            CaseId::new(4),
            settlement,
            &Causality::from_request(TraceId::generate()),
            InboxMarker {
                consumer: "test",
                event_id: uuid::Uuid::now_v7(),
            },
        )
        .unwrap()
    }

    #[test]
    fn a_void_returns_the_hold_and_gives_the_daily_limit_back() {
        let write = plan(HoldDecision::Void, "0", AccountTier::Bronze);
        assert_eq!(write.payment.status(), PaymentStatus::Failed);
        assert!(write.refund_daily, "the amount comes off the daily total");
        assert!(write.destination.is_none());
        assert_eq!(
            (write.source.balance, write.source.held),
            (m("3000"), Money::ZERO)
        );
    }

    #[test]
    fn a_release_credits_the_payee_within_its_max_balance() {
        let write = plan(HoldDecision::Release, "9050", AccountTier::Bronze);
        assert_eq!(write.payment.status(), PaymentStatus::Completed);
        assert!(!write.refund_daily, "the money left: the limit stays used");
        let ReleasedCredit { credit, payee_room } = write.destination.unwrap();
        assert_eq!(credit.wallet.balance, m("10000"), "exactly the maximum");
        assert_eq!(
            payee_room,
            m("9050"),
            "the transaction's condition on the payee"
        );
        assert_eq!(
            (write.source.balance, write.source.held),
            (m("2050"), Money::ZERO)
        );
    }

    #[test]
    fn a_release_above_the_payees_max_balance_returns_the_money() {
        let write = plan(HoldDecision::Release, "9050.0001", AccountTier::Bronze);
        assert_eq!(write.payment.status(), PaymentStatus::Failed);
        assert!(write.destination.is_none(), "the payee gets nothing");
        assert!(write.refund_daily);
        assert_eq!(
            (write.source.balance, write.source.held),
            (m("3000"), Money::ZERO)
        );
        assert!(
            write
                .payment
                .state
                .resolution()
                .unwrap()
                .contains("bronze tier's maximum balance of 10000.0000")
        );
        // The payee's tier decides.
        let gold = plan(HoldDecision::Release, "9050.0001", AccountTier::Gold);
        assert_eq!(gold.payment.status(), PaymentStatus::Completed);
    }

    fn customer(user_id: UserId) -> Caller {
        use finflow_shared::jwt::{Claims, Role};
        Caller {
            user_id,
            role: Role::Customer,
            session_id: "s".into(),
            claims: Claims {
                sub: user_id.to_string(),
                sid: "s".into(),
                role: Role::Customer,
                iss: "finflow".into(),
                aud: "finflow-api".into(),
                iat: 0,
                exp: 0,
                jti: "j".into(),
            },
        }
    }

    /// PaymentService over an in-memory store. Without an `Idempotency-Key`, a request that commits
    /// on its first write never reaches the idempotency table, so its client is never called.
    fn payments(store: Arc<crate::memory::MemoryPaymentStore>) -> PaymentService {
        let offline = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .build();
        PaymentService::new(
            store,
            IdempotencyStore::new(aws_sdk_dynamodb::Client::from_conf(offline), "unused"),
        )
    }

    fn send(amount: &str) -> TransferRequest {
        TransferRequest {
            from_wallet_id: WalletId::new(1),
            to_wallet_id: WalletId::new(2),
            amount: PositiveAmount::new(m(amount)).unwrap(),
            currency: Currency::parse("USD").unwrap(),
            description: None,
        }
    }

    async fn transfer(payments: &PaymentService, request: TransferRequest) -> StatusCode {
        let causality = Causality::from_request(TraceId::generate());
        match payments
            .transfer(&customer(UserId::new(7)), request, None, &causality)
            .await
        {
            Ok(response) => response.status(),
            Err(error) => error.status(),
        }
    }

    #[tokio::test]
    async fn a_transfer_that_meets_conflicts_is_decided_again_and_moves_money_once() {
        let store = Arc::new(crate::memory::MemoryPaymentStore::with_wallets([
            wallet(WalletId::new(1), UserId::new(7), "500", "0"),
            wallet(WalletId::new(2), UserId::new(8), "0", "0"),
        ]));
        *store.conflicts_to_inject.lock().unwrap() = 3;
        let payments = payments(store.clone());
        assert_eq!(transfer(&payments, send("100")).await, StatusCode::CREATED);
        assert_eq!(store.payments.lock().unwrap().len(), 1);
        assert_eq!(store.balance(WalletId::new(1)), (m("400"), Money::ZERO));
        assert_eq!(store.balance(WalletId::new(2)), (m("100"), Money::ZERO));
    }

    #[tokio::test]
    async fn a_transfer_that_keeps_meeting_conflicts_gives_up_with_a_409_and_writes_nothing() {
        let store = Arc::new(crate::memory::MemoryPaymentStore::with_wallets([
            wallet(WalletId::new(1), UserId::new(7), "500", "0"),
            wallet(WalletId::new(2), UserId::new(8), "0", "0"),
        ]));
        *store.conflicts_to_inject.lock().unwrap() = u32::MAX;
        let payments = payments(store.clone());
        assert_eq!(transfer(&payments, send("100")).await, StatusCode::CONFLICT);
        assert!(store.payments.lock().unwrap().is_empty());
        assert_eq!(store.balance(WalletId::new(1)), (m("500"), Money::ZERO));
    }

    #[tokio::test]
    async fn refusals_write_nothing_and_the_daily_limit_holds_across_transfers() {
        let store = Arc::new(crate::memory::MemoryPaymentStore::with_wallets([
            wallet(WalletId::new(1), UserId::new(7), "3000", "0"),
            wallet(WalletId::new(2), UserId::new(8), "0", "0"),
        ]));
        let payments = payments(store.clone());
        assert_eq!(
            transfer(&payments, send("3000.0001")).await,
            StatusCode::BAD_REQUEST
        );
        assert!(store.payments.lock().unwrap().is_empty());
        // Bronze: 1000 per transfer, 2000 a day.
        for _ in 0..4 {
            assert_eq!(transfer(&payments, send("400")).await, StatusCode::CREATED);
        }
        assert_eq!(
            transfer(&payments, send("400.0001")).await,
            StatusCode::BAD_REQUEST
        );
        let sent: Vec<PaymentStatus> = store
            .payments
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.status())
            .collect();
        // The fourth reaches 80% of the daily limit within ten minutes: AML holds it.
        assert_eq!(
            sent,
            [
                PaymentStatus::Completed,
                PaymentStatus::Completed,
                PaymentStatus::Completed,
                PaymentStatus::OnHold
            ]
        );
        assert_eq!(
            store.balance(WalletId::new(1)),
            (m("1400"), m("400")),
            "held, not gone"
        );
        assert_eq!(store.balance(WalletId::new(2)), (m("1200"), Money::ZERO));
    }
}
