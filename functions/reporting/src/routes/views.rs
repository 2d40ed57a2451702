//! What the API shows of reports: JSON views, and the transactions report as CSV.

use finflow_shared::Money;
use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::events::kyc::KycDecision;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::domain::aggregates::status_key;
use crate::domain::{
    COUNTED_STATUSES, Counts, HeldPage, PaymentRecord, Totals, UserAnalytics, VolumeRow,
    VolumeTotal, format_day,
};

#[derive(Debug, Serialize)]
pub struct RowView {
    pub date: String,
    pub currency: &'static str,
    pub status: &'static str,
    pub count: i64,
    pub volume: Money,
}

impl From<&VolumeRow> for RowView {
    fn from(row: &VolumeRow) -> Self {
        RowView {
            date: format_day(row.day),
            currency: row.currency.code(),
            status: row.status.as_str(),
            count: row.count,
            volume: row.volume,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TotalView {
    pub currency: &'static str,
    pub status: &'static str,
    pub count: i64,
    pub volume: Money,
}

impl From<&VolumeTotal> for TotalView {
    fn from(total: &VolumeTotal) -> Self {
        TotalView {
            currency: total.currency.code(),
            status: total.status.as_str(),
            count: total.count,
            volume: total.volume,
        }
    }
}

pub const CSV_HEADER: &str = "date,currency,status,count,volume";

/// The rows as CSV (RFC 4180): a header line, then one line per row. No field ever needs
/// quoting: dates, ISO codes, status names and plain decimals.
pub fn csv(rows: &[VolumeRow]) -> String {
    let mut out = String::with_capacity(32 * (rows.len() + 1));
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&format!(
            "{},{},{},{},{}\r\n",
            format_day(row.day),
            row.currency.code(),
            row.status.as_str(),
            row.count,
            row.volume
        ));
    }
    out
}

fn pair(counts: &Counts, prefix: &str) -> Value {
    let (count, volume) = counts.pair(prefix);
    json!({ "count": count, "volume": volume })
}

fn by_status(counts: &Counts, direction: &str) -> Value {
    let map: Map<String, Value> = COUNTED_STATUSES
        .iter()
        .map(|s| {
            (
                s.as_str().to_owned(),
                pair(counts, &format!("{direction}_{}", status_key(*s))),
            )
        })
        .collect();
    Value::Object(map)
}

pub fn user_analytics(analytics: &UserAnalytics) -> Value {
    let mut currencies: Vec<_> = analytics.currencies.iter().collect();
    currencies.sort_by_key(|(currency, _)| currency.code());
    let wallets: i64 = currencies
        .iter()
        .map(|(_, counts)| counts.count("wallets_opened"))
        .sum();
    json!({
        "user_id": analytics.user_id,
        "account_tier": analytics.profile.as_ref().map(|p| p.account_tier.as_str()),
        "kyc_status": analytics.profile.as_ref().map(|p| p.kyc_status.as_str()),
        "wallets_opened": wallets,
        "currencies": currencies.iter().map(|(currency, counts)| json!({
            "currency": currency.code(),
            "wallets_opened": counts.count("wallets_opened"),
            "wallets_frozen": counts.count("wallets_frozen"),
            "wallets_closed": counts.count("wallets_closed"),
            "deposits": pair(counts, "deposit"),
            "sent": by_status(counts, "sent"),
            "received": by_status(counts, "received"),
        })).collect::<Vec<_>>(),
    })
}

pub fn tiers(totals: &Totals) -> Value {
    let map: Map<String, Value> = [AccountTier::Bronze, AccountTier::Silver, AccountTier::Gold]
        .iter()
        .map(|t| {
            (
                t.as_str().to_owned(),
                json!(totals.users.count(&format!("tier_{}", t.as_str()))),
            )
        })
        .collect();
    Value::Object(map)
}

pub fn kyc_funnel(totals: &Totals) -> Value {
    let decisions = |by: &str| -> Value {
        let map: Map<String, Value> = [
            KycDecision::Verified,
            KycDecision::Rejected,
            KycDecision::ManualReview,
        ]
        .iter()
        .map(|d| {
            (
                d.as_str().to_owned(),
                json!(totals.kyc.count(&format!("{by}_{}", d.as_str()))),
            )
        })
        .collect();
        Value::Object(map)
    };
    let statuses: Map<String, Value> =
        [KycStatus::Pending, KycStatus::Verified, KycStatus::Rejected]
            .iter()
            .map(|s| {
                (
                    s.as_str().to_owned(),
                    json!(totals.users.count(&format!("kyc_{}", s.as_str()))),
                )
            })
            .collect();
    json!({
        "registered": totals.users.count("registered"),
        "submissions": totals.kyc.count("submissions"),
        "decisions": { "automatic": decisions("automatic"), "staff": decisions("staff") },
        "users_by_status": statuses,
    })
}

pub fn aml(totals: &Totals) -> Value {
    let mut held: Vec<_> = totals
        .held
        .iter()
        .filter(|(_, c)| c.count("count") != 0 || !c.amount("volume").is_zero())
        .collect();
    held.sort_by_key(|(currency, _)| currency.code());
    json!({
        "holds_opened": totals.aml.count("holds_opened"),
        "holds_released": totals.aml.count("holds_released"),
        "holds_voided": totals.aml.count("holds_voided"),
        "holds_failed": totals.aml.count("holds_failed"),
        "cases_resolved": {
            "release": totals.aml.count("cases_release"),
            "void": totals.aml.count("cases_void"),
        },
        "held": held.iter().map(|(currency, counts)| json!({
            "currency": currency.code(),
            "count": counts.count("count"),
            "volume": counts.amount("volume"),
        })).collect::<Vec<_>>(),
    })
}

fn held_payment(record: &PaymentRecord) -> Value {
    json!({
        "payment_id": record.payment_id,
        "payer_id": record.payer_id,
        "payee_id": record.payee_id,
        "currency": record.currency.code(),
        "amount": record.amount.money(),
        "date": format_day(record.day),
    })
}

pub fn held_payments(page: &HeldPage) -> Value {
    json!({
        "items": page.payments.iter().map(held_payment).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use finflow_shared::currency::Currency;
    use finflow_shared::events::payment::PaymentStatus;
    use time::macros::date;

    #[test]
    fn csv_has_a_header_and_one_line_per_row() {
        let rows = [VolumeRow {
            day: date!(2026 - 03 - 14),
            currency: Currency::parse("USD").unwrap(),
            status: PaymentStatus::OnHold,
            count: 1,
            volume: Money::parse("950").unwrap(),
        }];
        assert_eq!(
            csv(&rows),
            "date,currency,status,count,volume\r\n2026-03-14,USD,ON_HOLD,1,950.0000\r\n"
        );
        assert_eq!(csv(&[]), "date,currency,status,count,volume\r\n");
    }
}
