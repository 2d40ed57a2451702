//! What reports read back: the counters, shaped for the questions reports answer.

use finflow_shared::currency::Currency;
use finflow_shared::events::payment::PaymentStatus;
use finflow_shared::events::user::UserSnapshot;
use finflow_shared::money::MoneyError;
use finflow_shared::{Money, UserId};
use time::Date;

use super::aggregates::{COUNTED_STATUSES, Counts, PaymentRecord, status_key};

/// One day's payments in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayVolume {
    pub day: Date,
    pub currency: Currency,
    pub counts: Counts,
}

/// One line of the transactions report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRow {
    pub day: Date,
    pub currency: Currency,
    pub status: PaymentStatus,
    pub count: i64,
    pub volume: Money,
}

/// A period's total for one currency and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeTotal {
    pub currency: Currency,
    pub status: PaymentStatus,
    pub count: i64,
    pub volume: Money,
}

/// The rows of `days` for `currency` and `status` (all when `None`), by date, currency and
/// status. A bucket every payment has left (a released hold's) has no row.
pub fn volume_rows(
    days: &[DayVolume],
    currency: Option<Currency>,
    status: Option<PaymentStatus>,
) -> Vec<VolumeRow> {
    let mut rows: Vec<VolumeRow> = days
        .iter()
        .filter(|day| currency.is_none_or(|c| c == day.currency))
        .flat_map(|day| {
            COUNTED_STATUSES
                .into_iter()
                .filter(|s| status.is_none_or(|wanted| wanted == *s))
                .map(|s| {
                    let (count, volume) = day.counts.pair(&status_key(s));
                    VolumeRow {
                        day: day.day,
                        currency: day.currency,
                        status: s,
                        count,
                        volume,
                    }
                })
        })
        .filter(|row| row.count != 0 || !row.volume.is_zero())
        .collect();
    rows.sort_by(|a, b| {
        (a.day, a.currency.code(), a.status.as_str()).cmp(&(
            b.day,
            b.currency.code(),
            b.status.as_str(),
        ))
    });
    rows
}

/// The period's totals per currency and status, exactly.
pub fn volume_totals(rows: &[VolumeRow]) -> Result<Vec<VolumeTotal>, MoneyError> {
    let mut totals: Vec<VolumeTotal> = Vec::new();
    for row in rows {
        match totals
            .iter_mut()
            .find(|t| t.currency == row.currency && t.status == row.status)
        {
            Some(total) => {
                total.count += row.count;
                total.volume = total.volume.checked_add(row.volume)?;
            }
            None => totals.push(VolumeTotal {
                currency: row.currency,
                status: row.status,
                count: row.count,
                volume: row.volume,
            }),
        }
    }
    totals.sort_by(|a, b| {
        (a.currency.code(), a.status.as_str()).cmp(&(b.currency.code(), b.status.as_str()))
    });
    Ok(totals)
}

/// What reporting knows of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAnalytics {
    pub user_id: UserId,
    /// The newest snapshot of the user reporting has seen.
    pub profile: Option<UserSnapshot>,
    /// Per currency: wallets, deposits, payments sent and received.
    pub currencies: Vec<(Currency, Counts)>,
}

impl UserAnalytics {
    pub fn is_empty(&self) -> bool {
        self.profile.is_none() && self.currencies.is_empty()
    }
}

/// The platform-wide counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub users: Counts,
    pub kyc: Counts,
    pub aml: Counts,
    /// What AML holds now, per currency.
    pub held: Vec<(Currency, Counts)>,
}

/// A page of the payments on hold, oldest payment first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPage {
    pub payments: Vec<PaymentRecord>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::aggregates::Delta;
    use time::macros::date;

    fn day(day: Date, currency: &str, values: &[(&str, i64, &str)]) -> DayVolume {
        let mut counts = Counts::default();
        for (status, count, volume) in values {
            counts
                .add(&format!("{status}_count"), &Delta::Count(*count))
                .unwrap();
            counts
                .add(
                    &format!("{status}_volume"),
                    &Delta::Amount(Money::parse(volume).unwrap()),
                )
                .unwrap();
        }
        DayVolume {
            day,
            currency: Currency::parse(currency).unwrap(),
            counts,
        }
    }

    #[test]
    fn rows_filter_sort_and_total_exactly() {
        let days = [
            day(
                date!(2026 - 03 - 02),
                "USD",
                &[("completed", 1, "0.2"), ("on_hold", 0, "0")],
            ),
            day(
                date!(2026 - 03 - 01),
                "USD",
                &[("completed", 1, "0.1"), ("on_hold", 1, "950")],
            ),
            day(date!(2026 - 03 - 01), "EUR", &[("failed", 2, "3.5")]),
        ];
        let rows = volume_rows(&days, None, None);
        let keys: Vec<_> = rows
            .iter()
            .map(|r| (r.day.day(), r.currency.code(), r.status.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                (1, "EUR", "FAILED"),
                (1, "USD", "COMPLETED"),
                (1, "USD", "ON_HOLD"),
                (2, "USD", "COMPLETED")
            ]
        );
        let usd_completed = volume_rows(
            &days,
            Some(Currency::parse("USD").unwrap()),
            Some(PaymentStatus::Completed),
        );
        let totals = volume_totals(&usd_completed).unwrap();
        assert_eq!(totals.len(), 1);
        assert_eq!(
            (totals[0].count, totals[0].volume.to_string()),
            (2, "0.3000".to_owned())
        );
    }
}
