//! The aggregation rules: what each fact adds to which counter, and how a payment's status
//! moves its count and volume from one bucket to another. Plain Rust; the store applies a
//! `Plan` atomically (DynamoDB ADD on exact decimal numbers, in one transaction with the
//! consumer's inbox marker).
//!
//! Counters, each one record of named numbers:
//! - `Volume { day, currency }`: per payment status, `<status>_count` and `<status>_volume`
//!   of the payments made that UTC day, by their current status (a released hold moves from
//!   `on_hold_*` to `completed_*` of the day it was made, so a day's total never changes).
//! - `UserCurrency { user, currency }`: `wallets_opened`, `wallets_frozen` (now),
//!   `wallets_closed`, `deposit_count`, `deposit_volume`, and
//!   `<sent|received>_<status>_<count|volume>`.
//! - `Held { currency }`: `count` and `volume` currently held by AML.
//! - `Users`: `registered`, `tier_<tier>`, `kyc_<status>` (users per tier and KYC status).
//! - `Kyc`: `submissions`, `<automatic|staff>_<decision>`.
//! - `Aml`: `holds_opened`, `holds_<released|voided|failed>`, `cases_<release|void>`.

use std::collections::BTreeMap;

use finflow_shared::currency::Currency;
use finflow_shared::events::aml::CaseAction;
use finflow_shared::events::kyc::DecidedBy;
use finflow_shared::events::payment::PaymentStatus;
use finflow_shared::events::user::UserSnapshot;
use finflow_shared::events::wallet::WalletStatus;
use finflow_shared::money::MoneyError;
use finflow_shared::{Money, PaymentId, PositiveAmount, UserId};
use time::Date;

use super::facts::Fact;

/// The statuses a payment is counted under (payment emits no event while PENDING).
pub const COUNTED_STATUSES: [PaymentStatus; 3] = [
    PaymentStatus::Completed,
    PaymentStatus::OnHold,
    PaymentStatus::Failed,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Counter {
    Volume { day: Date, currency: Currency },
    UserCurrency { user_id: UserId, currency: Currency },
    Held { currency: Currency },
    Users,
    Kyc,
    Aml,
}

/// Which side of a payment a user was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

impl Direction {
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
        }
    }
}

/// `on_hold` for ON_HOLD: the prefix of a status's attributes.
pub fn status_key(status: PaymentStatus) -> String {
    status.as_str().to_ascii_lowercase()
}

/// Attribute names ending in `volume` hold amounts; every other one holds a count.
pub fn is_amount(attribute: &str) -> bool {
    attribute == "volume" || attribute.ends_with("_volume")
}

/// A change to one number of a counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    Count(i64),
    Amount(Money),
}

/// The named numbers of one counter. Counts and amounts are kept apart so an amount is
/// always exact `Money`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub counts: BTreeMap<String, i64>,
    pub amounts: BTreeMap<String, Money>,
}

impl Counts {
    pub fn count(&self, attribute: &str) -> i64 {
        self.counts.get(attribute).copied().unwrap_or(0)
    }

    pub fn amount(&self, attribute: &str) -> Money {
        self.amounts.get(attribute).copied().unwrap_or(Money::ZERO)
    }

    /// Adds `delta` to `attribute`, exactly.
    pub fn add(&mut self, attribute: &str, delta: &Delta) -> Result<(), MoneyError> {
        match delta {
            Delta::Count(by) => *self.counts.entry(attribute.to_owned()).or_insert(0) += by,
            Delta::Amount(by) => {
                let sum = self.amount(attribute).checked_add(*by)?;
                self.amounts.insert(attribute.to_owned(), sum);
            }
        }
        Ok(())
    }

    /// The count and volume of `<prefix>_count` and `<prefix>_volume`.
    pub fn pair(&self, prefix: &str) -> (i64, Money) {
        (
            self.count(&format!("{prefix}_count")),
            self.amount(&format!("{prefix}_volume")),
        )
    }
}

/// What reporting keeps of a payment: enough to move it between buckets when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub payment_id: PaymentId,
    pub payer_id: UserId,
    pub payee_id: UserId,
    pub currency: Currency,
    pub amount: PositiveAmount,
    pub status: PaymentStatus,
    /// The UTC day the payment was made: its bucket for good.
    pub day: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentWrite {
    /// The first time reporting hears of the payment; only if it has no record yet.
    Create(PaymentRecord),
    /// The payment's new status; only if its record still holds `from`.
    Move {
        record: PaymentRecord,
        from: PaymentStatus,
    },
}

/// The list of payments currently on hold, for compliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    Hold(PaymentRecord),
    Release(PaymentId),
}

/// Everything one event changes, to apply atomically with its inbox marker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Per counter, the deltas of its numbers (one entry per counter: a transaction may
    /// touch each item once).
    pub adds: BTreeMap<Counter, Vec<(String, Delta)>>,
    pub payment: Option<PaymentWrite>,
    pub listing: Option<Listing>,
    /// The user's newest snapshot, written only over an older one.
    pub profile: Option<UserSnapshot>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.adds.is_empty()
            && self.payment.is_none()
            && self.listing.is_none()
            && self.profile.is_none()
    }

    fn add(&mut self, counter: Counter, attribute: impl Into<String>, delta: Delta) {
        let deltas = self.adds.entry(counter).or_default();
        let attribute = attribute.into();
        match deltas.iter_mut().find(|(name, _)| *name == attribute) {
            Some((_, existing)) => {
                *existing = match (&*existing, &delta) {
                    (Delta::Count(a), Delta::Count(b)) => Delta::Count(a + b),
                    (Delta::Amount(a), Delta::Amount(b)) => {
                        Delta::Amount(a.checked_add(*b).expect("two amounts of one event fit"))
                    }
                    _ => unreachable!("an attribute is a count or an amount, never both"),
                }
            }
            None => deltas.push((attribute, delta)),
        }
    }

    fn count(&mut self, counter: Counter, attribute: impl Into<String>, by: i64) {
        self.add(counter, attribute, Delta::Count(by));
    }

    /// `<prefix>_count` and `<prefix>_volume`, up by one payment of `amount` (down when
    /// `sign` is -1).
    fn payment(&mut self, counter: Counter, prefix: &str, amount: PositiveAmount, sign: i64) {
        self.count(counter, format!("{prefix}_count"), sign);
        self.add(
            counter,
            format!("{prefix}_volume"),
            Delta::Amount(signed(amount, sign)),
        );
    }

    /// One payment in (`sign` 1) or out (-1) of `status`'s buckets: the day's volume, the
    /// payer's sent, the payee's received, and what AML holds.
    fn bucket(&mut self, record: &PaymentRecord, status: PaymentStatus, sign: i64) {
        let status_key = status_key(status);
        let currency = record.currency;
        let amount = record.amount;
        self.payment(
            Counter::Volume {
                day: record.day,
                currency,
            },
            &status_key,
            amount,
            sign,
        );
        for (user_id, direction) in [
            (record.payer_id, Direction::Sent),
            (record.payee_id, Direction::Received),
        ] {
            self.payment(
                Counter::UserCurrency { user_id, currency },
                &format!("{}_{status_key}", direction.as_str()),
                amount,
                sign,
            );
        }
        if status == PaymentStatus::OnHold {
            self.count(Counter::Held { currency }, "count", sign);
            self.add(
                Counter::Held { currency },
                "volume",
                Delta::Amount(signed(amount, sign)),
            );
        }
    }
}

/// `amount`, negated when `sign` is negative.
fn signed(amount: PositiveAmount, sign: i64) -> Money {
    if sign < 0 {
        Money::ZERO
            .checked_sub(amount.money())
            .expect("a negated amount fits DECIMAL(20,4)")
    } else {
        amount.money()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A held payment's end arrived before the event that made it (SQS standard queues
    /// reorder). Nothing is known to move yet: the message must be retried later.
    #[error("payment {0} is not known yet; its end arrived before it was made")]
    UnknownPayment(PaymentId),
    /// The payment is already recorded: this is another event making the same payment.
    #[error("payment {0} is already recorded")]
    AlreadyRecorded(PaymentId),
    /// The payment's end arrived, but its record is not ON_HOLD (it already ended).
    #[error("payment {id} is {status}, not ON_HOLD")]
    NotOnHold { id: PaymentId, status: &'static str },
    /// A payment event whose status reporting does not count.
    #[error("payment {id} is reported as {status}, which is not counted")]
    Uncounted { id: PaymentId, status: &'static str },
}

/// What `fact` changes, given reporting's record of its payment (if it has one).
pub fn plan(fact: &Fact, known: Option<&PaymentRecord>) -> Result<Plan, PlanError> {
    let mut plan = Plan::default();
    match fact {
        Fact::PaymentMade {
            payment,
            status,
            day,
        } => {
            if known.is_some() {
                return Err(PlanError::AlreadyRecorded(payment.payment_id));
            }
            if !matches!(status, PaymentStatus::Completed | PaymentStatus::OnHold) {
                return Err(PlanError::Uncounted {
                    id: payment.payment_id,
                    status: status.as_str(),
                });
            }
            let record = PaymentRecord {
                payment_id: payment.payment_id,
                payer_id: payment.payer_id,
                payee_id: payment.payee_id,
                currency: payment.currency,
                amount: payment.amount,
                status: *status,
                day: *day,
            };
            plan.bucket(&record, *status, 1);
            if *status == PaymentStatus::OnHold {
                plan.count(Counter::Aml, "holds_opened", 1);
                plan.listing = Some(Listing::Hold(record.clone()));
            }
            plan.payment = Some(PaymentWrite::Create(record));
        }
        Fact::HoldEnded { payment, end } => {
            let record = known.ok_or(PlanError::UnknownPayment(payment.payment_id))?;
            if record.status != PaymentStatus::OnHold {
                return Err(PlanError::NotOnHold {
                    id: record.payment_id,
                    status: record.status.as_str(),
                });
            }
            let to = end.status();
            plan.bucket(record, PaymentStatus::OnHold, -1);
            plan.bucket(record, to, 1);
            plan.count(Counter::Aml, format!("holds_{}", end.as_str()), 1);
            plan.listing = Some(Listing::Release(record.payment_id));
            plan.payment = Some(PaymentWrite::Move {
                record: PaymentRecord {
                    status: to,
                    ..record.clone()
                },
                from: PaymentStatus::OnHold,
            });
        }
        Fact::UserRegistered { user } => {
            plan.count(Counter::Users, "registered", 1);
            plan.count(
                Counter::Users,
                format!("tier_{}", user.account_tier.as_str()),
                1,
            );
            plan.count(
                Counter::Users,
                format!("kyc_{}", user.kyc_status.as_str()),
                1,
            );
            plan.profile = Some(user.clone());
        }
        Fact::TierChanged { user, previous } => {
            // Every tier change is a real move at auth, so the moves add up in any order.
            if *previous != user.account_tier {
                plan.count(Counter::Users, format!("tier_{}", previous.as_str()), -1);
                plan.count(
                    Counter::Users,
                    format!("tier_{}", user.account_tier.as_str()),
                    1,
                );
            }
            plan.profile = Some(user.clone());
        }
        Fact::KycStatusChanged { user, previous } => {
            if *previous != user.kyc_status {
                plan.count(Counter::Users, format!("kyc_{}", previous.as_str()), -1);
                plan.count(
                    Counter::Users,
                    format!("kyc_{}", user.kyc_status.as_str()),
                    1,
                );
            }
            plan.profile = Some(user.clone());
        }
        Fact::KycDecided {
            decision,
            decided_by,
        } => {
            // Every submission gets the risk model's decision; staff decide reviews.
            let by = match decided_by {
                DecidedBy::Automatic => {
                    plan.count(Counter::Kyc, "submissions", 1);
                    "automatic"
                }
                DecidedBy::Staff(_) => "staff",
            };
            plan.count(Counter::Kyc, format!("{by}_{}", decision.as_str()), 1);
        }
        Fact::WalletOpened { user_id, currency } => {
            plan.count(
                Counter::UserCurrency {
                    user_id: *user_id,
                    currency: *currency,
                },
                "wallets_opened",
                1,
            );
        }
        Fact::WalletStatusChanged {
            user_id,
            currency,
            previous,
            status,
        } => {
            // Each change is a real move at wallet, so the ±1s add up in any order.
            let counter = Counter::UserCurrency {
                user_id: *user_id,
                currency: *currency,
            };
            if previous != status {
                if *previous == WalletStatus::Frozen {
                    plan.count(counter, "wallets_frozen", -1);
                }
                if *status == WalletStatus::Frozen {
                    plan.count(counter, "wallets_frozen", 1);
                }
                if *status == WalletStatus::Closed {
                    plan.count(counter, "wallets_closed", 1);
                }
            }
        }
        Fact::Deposited {
            user_id,
            currency,
            amount,
        } => {
            let counter = Counter::UserCurrency {
                user_id: *user_id,
                currency: *currency,
            };
            plan.payment(counter, "deposit", *amount, 1);
        }
        Fact::CaseResolved { action } => {
            let action = match action {
                CaseAction::Release => "release",
                CaseAction::Void => "void",
            };
            plan.count(Counter::Aml, format!("cases_{action}"), 1);
        }
    }
    Ok(plan)
}

/// Counters in memory, for tests and for anything that folds plans without a store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub counters: BTreeMap<Counter, Counts>,
}

impl Tally {
    pub fn apply(&mut self, plan: &Plan) -> Result<(), MoneyError> {
        // Check every sum first: a plan applies whole or not at all.
        let mut next = self.counters.clone();
        for (counter, deltas) in &plan.adds {
            let counts = next.entry(*counter).or_default();
            for (attribute, delta) in deltas {
                counts.add(attribute, delta)?;
            }
        }
        self.counters = next;
        Ok(())
    }

    pub fn counts(&self, counter: Counter) -> Counts {
        self.counters.get(&counter).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::facts::HoldEnd;
    use finflow_shared::WalletId;
    use finflow_shared::customer::{AccountTier, KycStatus};
    use finflow_shared::events::kyc::KycDecision;
    use finflow_shared::events::payment::PaymentSnapshot;
    use time::macros::date;

    const DAY: Date = date!(2026 - 03 - 14);

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn amount(text: &str) -> PositiveAmount {
        PositiveAmount::new(Money::parse(text).unwrap()).unwrap()
    }

    fn snapshot(id: PaymentId, text: &str, status: PaymentStatus) -> PaymentSnapshot {
        PaymentSnapshot {
            payment_id: id,
            from_wallet_id: WalletId::new(10),
            to_wallet_id: WalletId::new(20),
            payer_id: UserId::new(1),
            payee_id: UserId::new(2),
            amount: amount(text),
            currency: usd(),
            status,
            description: None,
        }
    }

    fn made(id: PaymentId, text: &str, status: PaymentStatus) -> Fact {
        Fact::PaymentMade {
            payment: snapshot(id, text, status),
            status,
            day: DAY,
        }
    }

    /// Folds facts as the projector does: each payment fact sees the record the previous
    /// ones left.
    fn fold(facts: &[Fact]) -> (Tally, BTreeMap<PaymentId, PaymentRecord>) {
        let mut tally = Tally::default();
        let mut records = BTreeMap::new();
        for fact in facts {
            let known = fact.payment_id().and_then(|id| records.get(&id));
            let plan = plan(fact, known).unwrap();
            tally.apply(&plan).unwrap();
            match plan.payment {
                Some(PaymentWrite::Create(record)) | Some(PaymentWrite::Move { record, .. }) => {
                    records.insert(record.payment_id, record);
                }
                None => {}
            }
        }
        (tally, records)
    }

    fn day_counts(tally: &Tally) -> Counts {
        tally.counts(Counter::Volume {
            day: DAY,
            currency: usd(),
        })
    }

    #[test]
    fn sums_are_exact_decimals() {
        let (tally, _) = fold(&[
            made(PaymentId::new(1), "0.1", PaymentStatus::Completed),
            made(PaymentId::new(2), "0.2", PaymentStatus::Completed),
        ]);
        let (count, volume) = day_counts(&tally).pair("completed");
        assert_eq!((count, volume.to_string()), (2, "0.3000".to_owned()));
        let payer = tally.counts(Counter::UserCurrency {
            user_id: UserId::new(1),
            currency: usd(),
        });
        assert_eq!(payer.pair("sent_completed").1.to_string(), "0.3000");
        let payee = tally.counts(Counter::UserCurrency {
            user_id: UserId::new(2),
            currency: usd(),
        });
        assert_eq!(payee.pair("received_completed").1.to_string(), "0.3000");
        assert_eq!(payee.pair("sent_completed"), (0, Money::ZERO));
    }

    #[test]
    fn a_released_hold_moves_from_on_hold_to_completed_of_its_day() {
        let (held, _) = fold(&[
            made(PaymentId::new(1), "100.05", PaymentStatus::Completed),
            made(PaymentId::new(2), "950", PaymentStatus::OnHold),
        ]);
        let counts = day_counts(&held);
        assert_eq!(counts.pair("on_hold"), (1, Money::parse("950").unwrap()));
        let held_now = held.counts(Counter::Held { currency: usd() });
        assert_eq!(
            (
                held_now.count("count"),
                held_now.amount("volume").to_string()
            ),
            (1, "950.0000".to_owned())
        );
        assert_eq!(held.counts(Counter::Aml).count("holds_opened"), 1);

        let (released, records) = fold(&[
            made(PaymentId::new(1), "100.05", PaymentStatus::Completed),
            made(PaymentId::new(2), "950", PaymentStatus::OnHold),
            Fact::HoldEnded {
                payment: snapshot(PaymentId::new(2), "950", PaymentStatus::Completed),
                end: HoldEnd::Released,
            },
        ]);
        let counts = day_counts(&released);
        assert_eq!(counts.pair("on_hold"), (0, Money::ZERO));
        assert_eq!(
            counts.pair("completed"),
            (2, Money::parse("1050.05").unwrap())
        );
        assert_eq!(records[&PaymentId::new(2)].status, PaymentStatus::Completed);
        let held_now = released.counts(Counter::Held { currency: usd() });
        assert_eq!(
            (held_now.count("count"), held_now.amount("volume")),
            (0, Money::ZERO)
        );
        let payer = released.counts(Counter::UserCurrency {
            user_id: UserId::new(1),
            currency: usd(),
        });
        assert_eq!(payer.pair("sent_on_hold"), (0, Money::ZERO));
        assert_eq!(payer.pair("sent_completed").0, 2);
        assert_eq!(released.counts(Counter::Aml).count("holds_released"), 1);
    }

    #[test]
    fn voided_and_failed_holds_end_failed() {
        for end in [HoldEnd::Voided, HoldEnd::Failed] {
            let (tally, records) = fold(&[
                made(PaymentId::new(7), "950", PaymentStatus::OnHold),
                Fact::HoldEnded {
                    payment: snapshot(PaymentId::new(7), "950", PaymentStatus::Failed),
                    end,
                },
            ]);
            let counts = day_counts(&tally);
            assert_eq!(counts.pair("on_hold"), (0, Money::ZERO));
            assert_eq!(counts.pair("failed"), (1, Money::parse("950").unwrap()));
            assert_eq!(records[&PaymentId::new(7)].status, PaymentStatus::Failed);
            assert_eq!(
                tally
                    .counts(Counter::Aml)
                    .count(&format!("holds_{}", end.as_str())),
                1
            );
        }
    }

    #[test]
    fn an_end_before_its_payment_is_retried_and_a_second_end_is_refused() {
        let end = Fact::HoldEnded {
            payment: snapshot(PaymentId::new(3), "950", PaymentStatus::Completed),
            end: HoldEnd::Released,
        };
        assert_eq!(
            plan(&end, None),
            Err(PlanError::UnknownPayment(PaymentId::new(3)))
        );
        let (_, records) = fold(&[
            made(PaymentId::new(3), "950", PaymentStatus::OnHold),
            end.clone(),
        ]);
        assert!(matches!(
            plan(&end, records.get(&PaymentId::new(3))),
            Err(PlanError::NotOnHold {
                id,
                status: "COMPLETED"
            }) if id == PaymentId::new(3)
        ));
        assert_eq!(
            plan(
                &made(PaymentId::new(3), "950", PaymentStatus::OnHold),
                records.get(&PaymentId::new(3))
            ),
            Err(PlanError::AlreadyRecorded(PaymentId::new(3)))
        );
    }

    #[test]
    fn a_move_touches_each_item_once() {
        let (_, records) = fold(&[made(PaymentId::new(4), "950", PaymentStatus::OnHold)]);
        let end = Fact::HoldEnded {
            payment: snapshot(PaymentId::new(4), "950", PaymentStatus::Completed),
            end: HoldEnd::Released,
        };
        let plan = plan(&end, records.get(&PaymentId::new(4))).unwrap();
        // The day, payer, payee, held and AML counters: five items, each written once.
        assert_eq!(plan.adds.len(), 5);
        let day = &plan.adds[&Counter::Volume {
            day: DAY,
            currency: usd(),
        }];
        assert_eq!(day.len(), 4, "{day:?}");
        assert_eq!(plan.listing, Some(Listing::Release(PaymentId::new(4))));
    }

    fn user(id: UserId, tier: AccountTier, kyc: KycStatus, version: u64) -> UserSnapshot {
        UserSnapshot {
            user_id: id,
            kyc_status: kyc,
            account_tier: tier,
            version,
        }
    }

    #[test]
    fn tiers_move_with_the_previous_tier_in_any_order() {
        use AccountTier::*;
        let facts = [
            Fact::UserRegistered {
                user: user(UserId::new(1), Bronze, KycStatus::Pending, 1),
            },
            Fact::UserRegistered {
                user: user(UserId::new(2), Bronze, KycStatus::Pending, 1),
            },
            Fact::TierChanged {
                user: user(UserId::new(1), Silver, KycStatus::Pending, 2),
                previous: Bronze,
            },
            Fact::TierChanged {
                user: user(UserId::new(1), Gold, KycStatus::Pending, 3),
                previous: Silver,
            },
        ];
        let (in_order, _) = fold(&facts);
        let mut reversed = facts.clone();
        reversed.reverse();
        let (out_of_order, _) = fold(&reversed);
        for tally in [in_order, out_of_order] {
            let users = tally.counts(Counter::Users);
            assert_eq!(
                (
                    users.count("registered"),
                    users.count("tier_bronze"),
                    users.count("tier_silver"),
                    users.count("tier_gold")
                ),
                (2, 1, 0, 1)
            );
        }
    }

    #[test]
    fn the_kyc_funnel_counts_submissions_decisions_and_statuses() {
        let decided = |decision, decided_by| Fact::KycDecided {
            decision,
            decided_by,
        };
        let (tally, _) = fold(&[
            Fact::UserRegistered {
                user: user(UserId::new(1), AccountTier::Bronze, KycStatus::Pending, 1),
            },
            Fact::UserRegistered {
                user: user(UserId::new(2), AccountTier::Bronze, KycStatus::Pending, 1),
            },
            decided(KycDecision::Verified, DecidedBy::Automatic),
            decided(KycDecision::ManualReview, DecidedBy::Automatic),
            decided(KycDecision::Rejected, DecidedBy::Staff(UserId::new(9))),
            Fact::KycStatusChanged {
                user: user(UserId::new(1), AccountTier::Bronze, KycStatus::Verified, 2),
                previous: KycStatus::Pending,
            },
            Fact::KycStatusChanged {
                user: user(UserId::new(2), AccountTier::Bronze, KycStatus::Rejected, 2),
                previous: KycStatus::Pending,
            },
        ]);
        let kyc = tally.counts(Counter::Kyc);
        assert_eq!(kyc.count("submissions"), 2);
        assert_eq!(kyc.count("automatic_verified"), 1);
        assert_eq!(kyc.count("automatic_manual_review"), 1);
        assert_eq!(kyc.count("staff_rejected"), 1);
        let users = tally.counts(Counter::Users);
        assert_eq!(
            (
                users.count("kyc_pending"),
                users.count("kyc_verified"),
                users.count("kyc_rejected")
            ),
            (0, 1, 1)
        );
    }

    #[test]
    fn wallets_and_deposits_count_per_user_and_currency() {
        let mut facts = vec![
            Fact::WalletOpened {
                user_id: UserId::new(5),
                currency: usd(),
            },
            Fact::Deposited {
                user_id: UserId::new(5),
                currency: usd(),
                amount: amount("0.1"),
            },
            Fact::Deposited {
                user_id: UserId::new(5),
                currency: usd(),
                amount: amount("0.2"),
            },
        ];
        for (previous, status) in [
            (WalletStatus::Active, WalletStatus::Frozen),
            (WalletStatus::Frozen, WalletStatus::Active),
            (WalletStatus::Active, WalletStatus::Frozen),
            (WalletStatus::Frozen, WalletStatus::Closed),
        ] {
            facts.push(Fact::WalletStatusChanged {
                user_id: UserId::new(5),
                currency: usd(),
                previous,
                status,
            });
        }
        let (tally, _) = fold(&facts);
        let mine = tally.counts(Counter::UserCurrency {
            user_id: UserId::new(5),
            currency: usd(),
        });
        assert_eq!(
            (
                mine.count("wallets_opened"),
                mine.count("wallets_frozen"),
                mine.count("wallets_closed")
            ),
            (1, 0, 1)
        );
        assert_eq!(
            (mine.pair("deposit").0, mine.pair("deposit").1.to_string()),
            (2, "0.3000".to_owned())
        );
    }

    #[test]
    fn amounts_and_counts_are_told_apart_by_name() {
        assert!(is_amount("volume") && is_amount("sent_on_hold_volume"));
        assert!(!is_amount("count") && !is_amount("holds_opened"));
        assert_eq!(status_key(PaymentStatus::OnHold), "on_hold");
    }
}
