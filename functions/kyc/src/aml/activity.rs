//! The velocity state AML monitoring keeps per user, learned from payment's events: what the
//! user sent each UTC day, per currency (how many transfers, and their exact volume), and how
//! many of their transfers were held and how those holds ended.
//!
//! Every change is an addition, so the order in which events arrive does not matter; the
//! consumer's inbox makes each event count once. A sent transfer counts on the day payment
//! accepted it (the event's time), whether it completed at once or was held; how a hold ends
//! is counted separately and does not take the transfer back out of the day's volume.

use finflow_shared::currency::Currency;
use finflow_shared::events::payment::PaymentSnapshot;
use finflow_shared::{Money, UserId};
use time::OffsetDateTime;

use super::case::PaymentEnd;

/// The UTC day of `at`, as `yyyy-mm-dd`.
pub fn utc_day(at: OffsetDateTime) -> String {
    let date = at.to_offset(time::UtcOffset::UTC).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A transfer a user sent: counted on its UTC day, in its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentTransfer {
    pub day: String,
    pub currency: Currency,
    pub amount: Money,
}

/// What one payment event adds to its payer's activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityChange {
    pub user_id: UserId,
    pub sent: Option<SentTransfer>,
    /// 1 when the transfer was held.
    pub holds: u32,
    /// How a held transfer ended.
    pub ended: Option<PaymentEnd>,
}

impl ActivityChange {
    /// A transfer payment accepted at `at`: completed at once, or held.
    pub fn transfer(payment: &PaymentSnapshot, at: OffsetDateTime, held: bool) -> Self {
        ActivityChange {
            user_id: payment.payer_id,
            sent: Some(SentTransfer {
                day: utc_day(at),
                currency: payment.currency,
                amount: payment.amount.money(),
            }),
            holds: u32::from(held),
            ended: None,
        }
    }

    /// The end of a held transfer.
    pub fn hold_ended(payment: &PaymentSnapshot, outcome: PaymentEnd) -> Self {
        ActivityChange {
            user_id: payment.payer_id,
            sent: None,
            holds: 0,
            ended: Some(outcome),
        }
    }
}

/// What the user sent on one UTC day in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayActivity {
    pub day: String,
    pub currency: Currency,
    pub sent_count: u64,
    pub sent_volume: Money,
}

/// A user's AML activity, as compliance reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserActivity {
    pub user_id: UserId,
    pub holds: u64,
    pub released: u64,
    pub voided: u64,
    pub failed: u64,
    /// Newest day first.
    pub days: Vec<DayActivity>,
}

impl UserActivity {
    pub fn new(user_id: UserId) -> Self {
        UserActivity {
            user_id,
            holds: 0,
            released: 0,
            voided: 0,
            failed: 0,
            days: Vec::new(),
        }
    }

    /// Holds whose end is not known yet.
    pub fn open_holds(&self) -> u64 {
        self.holds
            .saturating_sub(self.released + self.voided + self.failed)
    }

    /// The activity after `change`, as the store applies it (kept here so the rule is
    /// testable without a database, and used by in-memory stores).
    pub fn apply(
        &mut self,
        change: &ActivityChange,
    ) -> Result<(), finflow_shared::money::MoneyError> {
        self.holds += u64::from(change.holds);
        match change.ended {
            Some(PaymentEnd::Released) => self.released += 1,
            Some(PaymentEnd::Voided) => self.voided += 1,
            Some(PaymentEnd::Failed) => self.failed += 1,
            None => {}
        }
        if let Some(sent) = &change.sent {
            match self
                .days
                .iter_mut()
                .find(|d| d.day == sent.day && d.currency == sent.currency)
            {
                Some(day) => {
                    day.sent_count += 1;
                    day.sent_volume = day.sent_volume.checked_add(sent.amount)?;
                }
                None => {
                    self.days.push(DayActivity {
                        day: sent.day.clone(),
                        currency: sent.currency,
                        sent_count: 1,
                        sent_volume: sent.amount,
                    });
                    self.days.sort_by(|a, b| {
                        (b.day.as_str(), b.currency.code())
                            .cmp(&(a.day.as_str(), a.currency.code()))
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use finflow_shared::PositiveAmount;
    use finflow_shared::events::payment::PaymentStatus;
    use finflow_shared::{PaymentId, WalletId};
    use time::macros::datetime;

    use super::*;

    fn payment(amount: &str, currency: &str) -> PaymentSnapshot {
        PaymentSnapshot {
            payment_id: PaymentId::new(1),
            from_wallet_id: WalletId::new(1),
            to_wallet_id: WalletId::new(2),
            payer_id: UserId::new(5),
            payee_id: UserId::new(6),
            amount: PositiveAmount::new(Money::parse(amount).unwrap()).unwrap(),
            currency: Currency::parse(currency).unwrap(),
            status: PaymentStatus::Completed,
            description: None,
        }
    }

    #[test]
    fn days_are_utc_days() {
        assert_eq!(
            utc_day(datetime!(2026-03-01 23:59:59.999 UTC)),
            "2026-03-01"
        );
        assert_eq!(utc_day(datetime!(2026-03-01 23:30 -01:00)), "2026-03-02");
    }

    #[test]
    fn volumes_are_exact_per_day_and_currency_in_any_order() {
        let changes = [
            ActivityChange::transfer(
                &payment("0.1", "USD"),
                datetime!(2026-03-01 10:00 UTC),
                false,
            ),
            ActivityChange::transfer(
                &payment("950.0001", "USD"),
                datetime!(2026-03-01 23:00 UTC),
                true,
            ),
            ActivityChange::hold_ended(&payment("950.0001", "USD"), PaymentEnd::Voided),
            ActivityChange::transfer(
                &payment("0.2", "USD"),
                datetime!(2026-03-02 00:00 UTC),
                false,
            ),
            ActivityChange::transfer(&payment("5", "EUR"), datetime!(2026-03-01 12:00 UTC), false),
        ];
        let mut forward = UserActivity::new(UserId::new(5));
        let mut backward = UserActivity::new(UserId::new(5));
        for change in &changes {
            forward.apply(change).unwrap();
        }
        for change in changes.iter().rev() {
            backward.apply(change).unwrap();
        }
        assert_eq!(forward, backward);
        let days: Vec<_> = forward
            .days
            .iter()
            .map(|d| {
                (
                    d.day.as_str(),
                    d.currency.code(),
                    d.sent_count,
                    d.sent_volume.to_string(),
                )
            })
            .collect();
        assert_eq!(
            days,
            [
                ("2026-03-02", "USD", 1, "0.2000".to_owned()),
                ("2026-03-01", "USD", 2, "950.1001".to_owned()),
                ("2026-03-01", "EUR", 1, "5.0000".to_owned()),
            ]
        );
        assert_eq!(
            (forward.holds, forward.voided, forward.open_holds()),
            (1, 1, 0)
        );
    }
}
