//! The projector: consumes every cascade event (`reporting-events`) into reporting's
//! counters. Each event is applied once: its inbox marker is written in the same DynamoDB
//! transaction as every counter it changes, so a redelivery changes nothing.
//!
//! The same projector rebuilds the counters from the event archive (`reporting-rebuild`,
//! `finflow replay reporting`) into a table of their own: it then takes archive replays only,
//! and remembers each event once per replay, so every replay rebuilds from scratch while a
//! redelivery within one replay still counts once.
//!
//! Ordering. The counters are sums, and sums do not care about order: user, KYC, wallet,
//! deposit and AML case events apply whenever they arrive (a tier change carries the tier it
//! left, so its −1/+1 is right in any order; the user's snapshot is kept by version). A
//! payment's status is different: its end (`payment.released`, `.voided`, `.failed`) moves
//! the payment's count and volume out of the ON_HOLD bucket it was counted in, which only
//! makes sense once the hold (`payment.on_hold`) has been counted. SQS standard queues may
//! deliver the end first; the projector then fails that message (`ConsumeError::Failed`), so
//! SQS delivers it again after the visibility timeout, by when the hold has normally been
//! counted. Should the hold stay missing for maxReceiveCount deliveries, the end lands in
//! the DLQ, where the DLQ depth on `/health` shows it and a redrive applies it once the hold
//! is counted. The move itself is conditioned on the payment's record still being ON_HOLD,
//! so two ends of one payment can never both move it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use finflow_shared::consumer::{
    BusMessage, ConsumeError, Delivery, EventConsumer, InboxMarker, Outcome,
};
use finflow_shared::contracts::{EventRead, Field};
use finflow_shared::events::aml::AmlCaseResolved;
use finflow_shared::events::kyc::KycDecisionRecorded;
use finflow_shared::events::payment::{
    PaymentCompleted, PaymentFailed, PaymentOnHold, PaymentReleased, PaymentVoided,
};
use finflow_shared::events::user::{UserCreated, UserKycUpdated, UserTierChanged};
use finflow_shared::events::wallet::{WalletCreated, WalletDeposited, WalletStatusChanged};
use finflow_shared::retry::RetryPolicy;

use uuid::Uuid;

use crate::domain::{Fact, PlanError, plan};
use crate::store::{ApplyError, ReportingStore};

pub const CONSUMER: &str = "reporting.projector";
pub const REBUILD_CONSUMER: &str = "reporting.rebuild";

/// The values reporting keeps a counter for: the KYC funnel counts users per status, the tier
/// mix per tier, frozen and closed wallets, payments per status (COMPLETED, ON_HOLD, FAILED,
/// each from the event that carries it; PENDING is never published), KYC decisions and AML
/// resolutions per outcome. A value it does not list has no counter and no place in a report.
const KYC_STATUSES: &[&str] = &["pending", "verified", "rejected"];
const TIERS: &[&str] = &["bronze", "silver", "gold"];
const WALLET_STATUSES: &[&str] = &["active", "frozen", "closed"];
const PAYMENT_STATUSES: &[&str] = &["PENDING", "COMPLETED", "FAILED", "ON_HOLD"];

/// A payment event, decoded whole: counted per day, currency and status, and per payer and
/// payee; amounts are summed exactly at four decimal places.
macro_rules! payment_event {
    ($event:ty) => {
        EventRead::whole::<$event>(&[
            Field::value("/payment_id"),
            Field::value("/payer_id"),
            Field::value("/payee_id"),
            Field::money("/amount", 4),
            Field::value("/currency"),
            Field::matches("/status", PAYMENT_STATUSES),
        ])
    };
}

/// Every event in the catalog, decoded whole (`Fact::of`); the fields below are the ones the
/// counters use, every other field is only decoded.
pub const READS: &[EventRead] = &[
    EventRead::whole::<UserCreated>(&[
        Field::value("/user_id"),
        Field::matches("/kyc_status", KYC_STATUSES),
        Field::matches("/account_tier", TIERS),
        Field::value("/version"),
    ]),
    EventRead::whole::<UserTierChanged>(&[
        Field::value("/user_id"),
        Field::value("/kyc_status"),
        Field::matches("/account_tier", TIERS),
        Field::matches("/previous_tier", TIERS),
        Field::value("/version"),
    ]),
    EventRead::whole::<UserKycUpdated>(&[
        Field::value("/user_id"),
        Field::matches("/kyc_status", KYC_STATUSES),
        Field::matches("/previous_kyc_status", KYC_STATUSES),
        Field::value("/account_tier"),
        Field::value("/version"),
    ]),
    EventRead::whole::<WalletCreated>(&[
        Field::value("/user_id"),
        Field::value("/currency"),
        Field::decoded("/status"),
    ]),
    EventRead::whole::<WalletStatusChanged>(&[
        Field::value("/user_id"),
        Field::value("/currency"),
        Field::matches("/previous_status", WALLET_STATUSES),
        Field::matches("/status", WALLET_STATUSES),
    ]),
    EventRead::whole::<WalletDeposited>(&[
        Field::value("/user_id"),
        Field::value("/currency"),
        Field::money("/amount", 4),
        Field::money("/balance_after", 4),
    ]),
    EventRead::whole::<KycDecisionRecorded>(&[
        Field::matches("/decision", &["verified", "rejected", "manual_review"]),
        Field::value("/decided_by"),
        Field::decoded("/document_type"),
    ]),
    payment_event!(PaymentCompleted),
    payment_event!(PaymentOnHold),
    payment_event!(PaymentReleased),
    payment_event!(PaymentVoided),
    payment_event!(PaymentFailed),
    EventRead::whole::<AmlCaseResolved>(&[Field::matches("/action", &["release", "void"])]),
];

/// Attempts per message when the payment's record changed under it or a concurrent
/// transaction wrote the same counters. Every payment writes the same few counters, so
/// contended writers wait a little longer than the default before trying again.
const WRITES: RetryPolicy = RetryPolicy::new(CONSUMER, 5)
    .with_backoff(Duration::from_millis(10), Duration::from_millis(40));

pub struct Projector {
    store: Arc<dyn ReportingStore>,
    delivery: Delivery,
}

impl Projector {
    /// Projects the live events into the counters the reports read.
    pub fn live(store: Arc<dyn ReportingStore>) -> Self {
        Projector {
            store,
            delivery: Delivery::Live,
        }
    }

    /// Projects archive replays into a rebuild of the counters.
    pub fn rebuild(store: Arc<dyn ReportingStore>) -> Self {
        Projector {
            store,
            delivery: Delivery::Replay,
        }
    }

    /// The inbox marker of this delivery: the event id, or for a rebuild the event id within
    /// its replay (a name-based UUID of both), since a new replay must count the event again.
    fn inbox(&self, message: &BusMessage) -> InboxMarker {
        let event_id = message.detail.event_id;
        match (self.delivery, &message.replay_name) {
            (Delivery::Replay, Some(replay)) => InboxMarker {
                consumer: REBUILD_CONSUMER,
                event_id: Uuid::new_v5(&event_id, replay.as_bytes()),
            },
            _ => InboxMarker {
                consumer: CONSUMER,
                event_id,
            },
        }
    }
}

#[async_trait]
impl EventConsumer for Projector {
    fn name(&self) -> &'static str {
        match self.delivery {
            Delivery::Live => CONSUMER,
            Delivery::Replay => REBUILD_CONSUMER,
        }
    }

    fn reads(&self) -> &'static [EventRead] {
        READS
    }

    fn delivery(&self) -> Delivery {
        self.delivery
    }

    async fn consume(&self, message: &BusMessage) -> Result<Outcome, ConsumeError> {
        let event = &message.detail;
        let Some(fact) = Fact::of(event).map_err(|e| ConsumeError::Malformed(e.to_string()))?
        else {
            return Ok(Outcome::Ignored);
        };
        let mut keep_profile = true;
        let mut attempts = WRITES.attempts();
        while attempts.next().await.is_some() {
            let known = match fact.payment_id() {
                Some(id) => self.store.payment(id).await.map_err(ConsumeError::failed)?,
                None => None,
            };
            let mut plan = match plan(&fact, known.as_ref()) {
                Ok(plan) => plan,
                // Not counted yet: fail, so SQS delivers it again later (see the module docs).
                Err(error @ PlanError::UnknownPayment(_)) => {
                    return Err(ConsumeError::failed(error));
                }
                // Another event already made this payment, or it has already ended: counting
                // it again would count it twice.
                Err(error) => {
                    tracing::warn!(%error, "payment event not counted");
                    return Ok(Outcome::Ignored);
                }
            };
            if !keep_profile {
                plan.profile = None;
            }
            if plan.is_empty() {
                return Ok(Outcome::Ignored);
            }
            match self.store.apply(self.inbox(message), &plan).await {
                Ok(()) => return Ok(Outcome::Applied),
                Err(ApplyError::Duplicate) => return Ok(Outcome::Duplicate),
                // The counters still apply; only the older snapshot is left out.
                Err(ApplyError::ProfileNewer) => keep_profile = false,
                Err(ApplyError::PaymentChanged | ApplyError::Conflict) => {}
                Err(ApplyError::Store(error)) => return Err(ConsumeError::failed(error)),
            }
        }
        Err(ConsumeError::failed(format!(
            "gave up after {} attempts on contended records",
            WRITES.max_attempts()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Period;
    use crate::memory::MemoryReportingStore;
    use finflow_shared::currency::Currency;
    use finflow_shared::customer::{AccountTier, KycStatus};
    use finflow_shared::events::payment::{
        PaymentCompleted, PaymentOnHold, PaymentReleased, PaymentSnapshot, PaymentStatus,
        PaymentVoided,
    };
    use finflow_shared::events::user::{UserCreated, UserSnapshot, UserTierChanged};
    use finflow_shared::events::wallet::{WalletStatus, WalletStatusChanged};
    use finflow_shared::events::{Causality, DomainEvent, EventEnvelope};
    use finflow_shared::trace::TraceId;
    use finflow_shared::{CaseId, Money, PaymentId, PositiveAmount, UserId, WalletId};

    fn message<E: DomainEvent>(event: &E) -> BusMessage {
        let envelope = EventEnvelope::new(event, &Causality::from_request(TraceId::generate()));
        BusMessage {
            id: "e".into(),
            detail_type: envelope.event_type.clone(),
            source: envelope.source(),
            replay_name: None,
            detail: envelope,
        }
    }

    fn payment(id: PaymentId, amount: &str, status: PaymentStatus) -> PaymentSnapshot {
        PaymentSnapshot {
            payment_id: id,
            from_wallet_id: WalletId::new(1),
            to_wallet_id: WalletId::new(2),
            payer_id: UserId::new(10),
            payee_id: UserId::new(20),
            amount: PositiveAmount::new(Money::parse(amount).unwrap()).unwrap(),
            currency: Currency::parse("USD").unwrap(),
            status,
            description: None,
        }
    }

    fn setup() -> (Arc<MemoryReportingStore>, Projector) {
        let store = Arc::new(MemoryReportingStore::default());
        (store.clone(), Projector::live(store))
    }

    fn replayed(message: &BusMessage, replay: &str) -> BusMessage {
        BusMessage {
            id: message.id.clone(),
            detail_type: message.detail_type.clone(),
            source: message.source.clone(),
            replay_name: Some(replay.into()),
            detail: message.detail.clone(),
        }
    }

    #[tokio::test]
    async fn each_replay_counts_an_event_once_whatever_live_counted() {
        let store = Arc::new(MemoryReportingStore::default());
        let live = Projector::live(store.clone());
        let rebuild = Projector::rebuild(store.clone());
        let completed = message(&PaymentCompleted {
            payment: payment(PaymentId::new(7), "2.5", PaymentStatus::Completed),
        });
        let first = replayed(&completed, "reporting-rebuild-1");
        let second = replayed(&completed, "reporting-rebuild-2");

        assert_eq!(rebuild.consume(&first).await.unwrap(), Outcome::Applied);
        assert_ne!(rebuild.consume(&first).await.unwrap(), Outcome::Applied);
        assert_eq!(rebuild.inbox(&first).consumer, REBUILD_CONSUMER);
        assert_ne!(
            rebuild.inbox(&first).event_id,
            rebuild.inbox(&second).event_id
        );
        assert_eq!(
            live.inbox(&completed),
            InboxMarker {
                consumer: CONSUMER,
                event_id: completed.detail.event_id
            }
        );
        assert_eq!(today(&store).await.pair("completed").0, 1);
    }

    async fn today(store: &MemoryReportingStore) -> crate::domain::Counts {
        let today = time::OffsetDateTime::now_utc().date();
        let days = store
            .volumes(Period {
                from: today,
                to: today,
            })
            .await
            .unwrap();
        days.into_iter()
            .next()
            .map(|d| d.counts)
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_redelivered_event_counts_once() {
        let (store, projector) = setup();
        let completed = message(&PaymentCompleted {
            payment: payment(PaymentId::new(1), "0.1", PaymentStatus::Completed),
        });
        assert_eq!(
            projector.consume(&completed).await.unwrap(),
            Outcome::Applied
        );
        assert_eq!(
            projector.consume(&completed).await.unwrap(),
            Outcome::Ignored,
            "the payment is already recorded"
        );
        let user = message(&UserCreated {
            user: UserSnapshot {
                user_id: UserId::new(1),
                kyc_status: KycStatus::Pending,
                account_tier: AccountTier::Bronze,
                version: 1,
            },
            email: "a@b.c".into(),
            name: "A".into(),
        });
        assert_eq!(projector.consume(&user).await.unwrap(), Outcome::Applied);
        assert_eq!(projector.consume(&user).await.unwrap(), Outcome::Duplicate);
        let totals = store.totals().await.unwrap();
        assert_eq!(totals.users.count("registered"), 1);
        assert_eq!(today(&store).await.pair("completed").0, 1);
    }

    #[tokio::test]
    async fn an_end_before_its_hold_fails_until_the_hold_is_counted() {
        let (store, projector) = setup();
        let released = message(&PaymentReleased {
            payment: payment(PaymentId::new(5), "950", PaymentStatus::Completed),
            case_id: CaseId::new(1),
        });
        assert!(matches!(
            projector.consume(&released).await,
            Err(ConsumeError::Failed(_))
        ));
        let held = message(&PaymentOnHold {
            payment: payment(PaymentId::new(5), "950", PaymentStatus::OnHold),
            reasons: vec!["structuring".into()],
        });
        projector.consume(&held).await.unwrap();
        assert_eq!(
            today(&store).await.pair("on_hold"),
            (1, Money::parse("950").unwrap())
        );
        assert_eq!(store.held(10, None).await.unwrap().payments.len(), 1);
        // The redelivery now moves it.
        assert_eq!(
            projector.consume(&released).await.unwrap(),
            Outcome::Applied
        );
        let counts = today(&store).await;
        assert_eq!(counts.pair("on_hold"), (0, Money::ZERO));
        assert_eq!(counts.pair("completed"), (1, Money::parse("950").unwrap()));
        assert!(store.held(10, None).await.unwrap().payments.is_empty());
        // A second end of the same payment moves nothing.
        let voided = message(&PaymentVoided {
            payment: payment(PaymentId::new(5), "950", PaymentStatus::Failed),
            case_id: CaseId::new(1),
        });
        assert_eq!(projector.consume(&voided).await.unwrap(), Outcome::Ignored);
        assert_eq!(today(&store).await.pair("failed").0, 0);
    }

    #[tokio::test]
    async fn an_older_snapshot_still_counts_its_tier_move() {
        let (store, projector) = setup();
        let snapshot = |tier, version| UserSnapshot {
            user_id: UserId::new(3),
            kyc_status: KycStatus::Verified,
            account_tier: tier,
            version,
        };
        let to_gold = message(&UserTierChanged {
            user: snapshot(AccountTier::Gold, 3),
            previous_tier: AccountTier::Silver,
            changed_by: UserId::new(1),
        });
        let to_silver = message(&UserTierChanged {
            user: snapshot(AccountTier::Silver, 2),
            previous_tier: AccountTier::Bronze,
            changed_by: UserId::new(1),
        });
        projector.consume(&to_gold).await.unwrap();
        assert_eq!(
            projector.consume(&to_silver).await.unwrap(),
            Outcome::Applied
        );
        let totals = store.totals().await.unwrap();
        assert_eq!(
            (
                totals.users.count("tier_bronze"),
                totals.users.count("tier_silver"),
                totals.users.count("tier_gold")
            ),
            (-1, 0, 1),
            "user.created has not arrived yet; its +1 bronze will balance"
        );
        let analytics = store.user(UserId::new(3)).await.unwrap();
        assert_eq!(
            analytics.profile.map(|p| p.account_tier),
            Some(AccountTier::Gold)
        );
        assert_eq!(
            projector.consume(&to_silver).await.unwrap(),
            Outcome::Duplicate
        );
    }

    #[tokio::test]
    async fn a_frozen_wallet_counts_until_it_thaws() {
        let (store, projector) = setup();
        let change = |previous, status| {
            message(&WalletStatusChanged {
                wallet_id: WalletId::new(1),
                user_id: UserId::new(8),
                currency: Currency::parse("USD").unwrap(),
                previous_status: previous,
                status,
                changed_by: UserId::new(8),
                reason: None,
            })
        };
        let frozen = change(WalletStatus::Active, WalletStatus::Frozen);
        projector.consume(&frozen).await.unwrap();
        projector.consume(&frozen).await.unwrap();
        let counts = &store.user(UserId::new(8)).await.unwrap().currencies[0].1;
        assert_eq!(counts.count("wallets_frozen"), 1);
        projector
            .consume(&change(WalletStatus::Frozen, WalletStatus::Active))
            .await
            .unwrap();
        let counts = &store.user(UserId::new(8)).await.unwrap().currencies[0].1;
        assert_eq!(counts.count("wallets_frozen"), 0);
    }
}
