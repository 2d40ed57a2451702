//! Where reporting keeps its projections: the port, and its DynamoDB adapter.
//!
//! Reporting table layout (pk, sk). Every counter is a set of DynamoDB numbers changed only
//! with ADD; DynamoDB numbers are exact decimals (38 digits), so sums of amounts are exact.
//! - `VOLUME#<yyyy-mm>`, `DAY#<yyyy-mm-dd>#<currency>`: the day's payments per status,
//!   `<status>_count` and `<status>_volume` (a month per partition: a year is 13 queries)
//! - `USER#<user>`, `PROFILE`: the user's newest snapshot (tier, KYC status, version)
//! - `USER#<user>`, `CCY#<currency>`: wallets opened, deposits, payments sent and received
//!   per status
//! - `PAYMENT#<id>`, `META`: the payment's current status and the day it is counted under
//! - `HELD`, `PAYMENT#<id, 20 digits>`: the payments on hold now, for compliance
//! - `STATS`, `USERS` | `KYC` | `AML` | `HELD#<currency>`: the platform-wide counters
//!
//! The inbox markers live in the idempotency table, written in the same transaction.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use finflow_shared::PositiveAmount;
use finflow_shared::consumer::{InboxMarker, inbox_claim};
use finflow_shared::currency::Currency;
use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::dynamo::{
    Item, ItemExt, ListError, StoreError, fetch_page, get_item, money, number, page_query, text,
};
use finflow_shared::events::payment::PaymentStatus;
use finflow_shared::events::user::UserSnapshot;
use finflow_shared::transaction::{TransactError, transact};
use finflow_shared::{PaymentId, UserId};

use crate::domain::aggregates::is_amount;
use crate::domain::{
    Counter, Counts, DayVolume, Delta, HeldPage, Listing, PaymentRecord, PaymentWrite, Period,
    Plan, Totals, UserAnalytics, format_day, parse_day,
};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The inbox already holds the event: it was applied before.
    #[error("the event was already applied")]
    Duplicate,
    /// The payment's record is no longer what the plan was made from.
    #[error("the payment's record changed")]
    PaymentChanged,
    /// A newer snapshot of the user is stored already.
    #[error("a newer snapshot of the user is stored")]
    ProfileNewer,
    /// Another transaction wrote the same counters at the same time.
    #[error("the transaction conflicted with another")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait ReportingStore: Send + Sync {
    /// Reporting's record of a payment, read consistently.
    async fn payment(&self, id: PaymentId) -> Result<Option<PaymentRecord>, StoreError>;
    /// Applies `plan` and the inbox marker of `inbox` (consumer, event id), all or nothing.
    async fn apply(&self, inbox: InboxMarker, plan: &Plan) -> Result<(), ApplyError>;
    async fn volumes(&self, period: Period) -> Result<Vec<DayVolume>, StoreError>;
    async fn user(&self, user_id: UserId) -> Result<UserAnalytics, StoreError>;
    async fn totals(&self) -> Result<Totals, StoreError>;
    async fn held(&self, limit: i32, cursor: Option<&str>) -> Result<HeldPage, ListError>;
}

/// The key of a counter's item.
pub fn counter_key(counter: &Counter) -> (String, String) {
    match counter {
        Counter::Volume { day, currency } => (
            format!("VOLUME#{:04}-{:02}", day.year(), u8::from(day.month())),
            format!("DAY#{}#{currency}", format_day(*day)),
        ),
        Counter::UserCurrency { user_id, currency } => {
            (format!("USER#{user_id}"), format!("CCY#{currency}"))
        }
        Counter::Held { currency } => ("STATS".into(), format!("HELD#{currency}")),
        Counter::Users => ("STATS".into(), "USERS".into()),
        Counter::Kyc => ("STATS".into(), "KYC".into()),
        Counter::Aml => ("STATS".into(), "AML".into()),
    }
}

fn held_sk(payment_id: PaymentId) -> String {
    format!("PAYMENT#{payment_id:020}")
}

pub struct DynamoReportingStore {
    client: Client,
    table: String,
    inbox_table: String,
}

impl DynamoReportingStore {
    pub fn new(client: Client, table: impl Into<String>, inbox_table: impl Into<String>) -> Self {
        DynamoReportingStore {
            client,
            table: table.into(),
            inbox_table: inbox_table.into(),
        }
    }

    fn put(&self, item: Item) -> Put {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .expect("table and item are set")
    }

    fn payment_write(&self, write: &PaymentWrite) -> TransactWriteItem {
        let (record, from) = match write {
            PaymentWrite::Create(record) => (record, None),
            PaymentWrite::Move { record, from } => (record, Some(from)),
        };
        let item = record_item(
            record,
            format!("PAYMENT#{}", record.payment_id),
            "META".into(),
        );
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = match from {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(from) => put
                .condition_expression("#status = :from")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":from", text(from.as_str())),
        };
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }

    fn listing_write(&self, listing: &Listing) -> TransactWriteItem {
        match listing {
            Listing::Hold(record) => TransactWriteItem::builder()
                .put(self.put(record_item(
                    record,
                    "HELD".into(),
                    held_sk(record.payment_id),
                )))
                .build(),
            Listing::Release(payment_id) => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .key("pk", text("HELD"))
                    .key("sk", text(held_sk(*payment_id)))
                    .build()
                    .expect("table and key are set");
                TransactWriteItem::builder().delete(delete).build()
            }
        }
    }

    fn profile_write(&self, user: &UserSnapshot) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", text(format!("USER#{}", user.user_id)))
            .key("sk", text("PROFILE"))
            .update_expression(
                "SET user_id = :user, kyc_status = :kyc, account_tier = :tier, #version = :version",
            )
            // Events arrive in any order; an older snapshot never overwrites a newer one.
            .condition_expression("attribute_not_exists(#version) OR #version < :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":user", number(user.user_id))
            .expression_attribute_values(":kyc", text(user.kyc_status.as_str()))
            .expression_attribute_values(":tier", text(user.account_tier.as_str()))
            .expression_attribute_values(":version", number(user.version))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    fn counter_write(&self, counter: &Counter, deltas: &[(String, Delta)]) -> TransactWriteItem {
        let (pk, sk) = counter_key(counter);
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", text(pk))
            .key("sk", text(sk));
        let mut clauses = Vec::with_capacity(deltas.len());
        for (i, (attribute, delta)) in deltas.iter().enumerate() {
            clauses.push(format!("#a{i} :v{i}"));
            let value = match delta {
                Delta::Count(by) => number(by),
                Delta::Amount(by) => money(*by),
            };
            update = update
                .expression_attribute_names(format!("#a{i}"), attribute)
                .expression_attribute_values(format!(":v{i}"), value);
        }
        let update = update
            .update_expression(format!("ADD {}", clauses.join(", ")))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    /// Every item of partition `pk` whose sort key lies in `range` (inclusive), all pages.
    async fn query(
        &self,
        pk: String,
        range: Option<(String, String)>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", text(&pk))
                .consistent_read(consistent)
                .set_exclusive_start_key(start.take());
            query = match &range {
                Some((low, high)) => query
                    .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
                    .expression_attribute_values(":low", text(low))
                    .expression_attribute_values(":high", text(high)),
                None => query.key_condition_expression("pk = :pk"),
            };
            let output = query.send().await.map_err(StoreError::sdk)?;
            items.extend(output.items().iter().cloned());
            match output.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(items),
            }
        }
    }
}

fn record_item(record: &PaymentRecord, pk: String, sk: String) -> Item {
    Item::from([
        ("pk".into(), text(pk)),
        ("sk".into(), text(sk)),
        ("payment_id".into(), number(record.payment_id)),
        ("payer_id".into(), number(record.payer_id)),
        ("payee_id".into(), number(record.payee_id)),
        ("currency".into(), text(record.currency.code())),
        ("amount".into(), money(record.amount.money())),
        ("status".into(), text(record.status.as_str())),
        ("day".into(), text(format_day(record.day))),
    ])
}

fn record_from_item(item: &Item) -> Result<PaymentRecord, StoreError> {
    Ok(PaymentRecord {
        payment_id: item.number("payment_id")?,
        payer_id: item.number("payer_id")?,
        payee_id: item.number("payee_id")?,
        currency: Currency::parse(&item.string("currency")?)
            .map_err(|_| item.corrupt("currency"))?,
        amount: PositiveAmount::new(item.money("amount")?).map_err(|_| item.corrupt("amount"))?,
        status: PaymentStatus::parse(&item.string("status")?)
            .ok_or_else(|| item.corrupt("status"))?,
        day: parse_day(&item.string("day")?).ok_or_else(|| item.corrupt("day"))?,
    })
}

/// The numbers of a counter's item: amounts as exact `Money`, the rest as counts.
fn counts_from_item(item: &Item) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    for (attribute, value) in item {
        let AttributeValue::N(number) = value else {
            continue;
        };
        if is_amount(attribute) {
            let amount =
                finflow_shared::Money::parse(number).map_err(|_| item.corrupt(attribute))?;
            counts.amounts.insert(attribute.clone(), amount);
        } else {
            let count = number.parse().map_err(|_| item.corrupt(attribute))?;
            counts.counts.insert(attribute.clone(), count);
        }
    }
    Ok(counts)
}

fn currency_after(item: &Item, prefix: &str) -> Result<Currency, StoreError> {
    let sk = item.string("sk")?;
    sk.strip_prefix(prefix)
        .and_then(|code| Currency::parse(code).ok())
        .ok_or_else(|| item.corrupt("sk"))
}

fn profile_from_item(item: &Item) -> Result<UserSnapshot, StoreError> {
    Ok(UserSnapshot {
        user_id: item.number("user_id")?,
        kyc_status: KycStatus::parse(&item.string("kyc_status")?)
            .ok_or_else(|| item.corrupt("kyc_status"))?,
        account_tier: AccountTier::parse(&item.string("account_tier")?)
            .ok_or_else(|| item.corrupt("account_tier"))?,
        version: item.number("version")?,
    })
}

#[async_trait]
impl ReportingStore for DynamoReportingStore {
    async fn payment(&self, id: PaymentId) -> Result<Option<PaymentRecord>, StoreError> {
        get_item(&self.client, &self.table, format!("PAYMENT#{id}"), "META")
            .await?
            .map(|item| record_from_item(&item))
            .transpose()
    }

    async fn apply(&self, inbox: InboxMarker, plan: &Plan) -> Result<(), ApplyError> {
        let inbox = inbox_claim(&self.inbox_table, inbox);
        let mut items = Vec::new();
        let mut payment_at = None;
        let mut profile_at = None;
        if let Some(write) = &plan.payment {
            payment_at = Some(items.len());
            items.push(self.payment_write(write));
        }
        if let Some(profile) = &plan.profile {
            profile_at = Some(items.len());
            items.push(self.profile_write(profile));
        }
        if let Some(listing) = &plan.listing {
            items.push(self.listing_write(listing));
        }
        for (counter, deltas) in &plan.adds {
            items.push(self.counter_write(counter, deltas));
        }
        transact(&self.client, inbox, items)
            .await
            .map_err(|error| match error {
                TransactError::AlreadyCommitted => ApplyError::Duplicate,
                e if payment_at.is_some_and(|i| e.condition_failed_at(i)) => {
                    ApplyError::PaymentChanged
                }
                e if profile_at.is_some_and(|i| e.condition_failed_at(i)) => {
                    ApplyError::ProfileNewer
                }
                e if e.is_conflict() => ApplyError::Conflict,
                TransactError::Cancelled { reasons } => ApplyError::Store(StoreError::Sdk(
                    format!("transaction cancelled: {reasons:?}"),
                )),
                TransactError::Store(error) => ApplyError::Store(error),
            })
    }

    async fn volumes(&self, period: Period) -> Result<Vec<DayVolume>, StoreError> {
        let mut days = Vec::new();
        for (year, month) in period.months() {
            let pk = format!("VOLUME#{year:04}-{:02}", u8::from(month));
            let range = (
                format!("DAY#{}", format_day(period.from)),
                // '~' sorts after every currency code, so the last day is included whole.
                format!("DAY#{}#~", format_day(period.to)),
            );
            for item in self.query(pk, Some(range), false).await? {
                let sk = item.string("sk")?;
                let mut parts = sk.splitn(3, '#').skip(1);
                let day = parts
                    .next()
                    .and_then(parse_day)
                    .ok_or_else(|| item.corrupt("sk"))?;
                let currency = parts
                    .next()
                    .and_then(|code| Currency::parse(code).ok())
                    .ok_or_else(|| item.corrupt("sk"))?;
                if period.contains(day) {
                    days.push(DayVolume {
                        day,
                        currency,
                        counts: counts_from_item(&item)?,
                    });
                }
            }
        }
        Ok(days)
    }

    async fn user(&self, user_id: UserId) -> Result<UserAnalytics, StoreError> {
        let mut analytics = UserAnalytics {
            user_id,
            profile: None,
            currencies: Vec::new(),
        };
        for item in self.query(format!("USER#{user_id}"), None, false).await? {
            let sk = item.string("sk")?;
            if sk == "PROFILE" {
                analytics.profile = Some(profile_from_item(&item)?);
            } else if sk.starts_with("CCY#") {
                analytics
                    .currencies
                    .push((currency_after(&item, "CCY#")?, counts_from_item(&item)?));
            }
        }
        Ok(analytics)
    }

    async fn totals(&self) -> Result<Totals, StoreError> {
        let mut totals = Totals::default();
        for item in self.query("STATS".into(), None, false).await? {
            let sk = item.string("sk")?;
            match sk.as_str() {
                "USERS" => totals.users = counts_from_item(&item)?,
                "KYC" => totals.kyc = counts_from_item(&item)?,
                "AML" => totals.aml = counts_from_item(&item)?,
                held if held.starts_with("HELD#") => totals
                    .held
                    .push((currency_after(&item, "HELD#")?, counts_from_item(&item)?)),
                _ => {}
            }
        }
        Ok(totals)
    }

    async fn held(&self, limit: i32, cursor: Option<&str>) -> Result<HeldPage, ListError> {
        let query = page_query(&self.client, &self.table, "HELD", "PAYMENT#", limit, cursor)?;
        let (payments, next_cursor) = fetch_page(query, record_from_item).await?;
        Ok(HeldPage {
            payments,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn counters_have_stable_keys() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(
            counter_key(&Counter::Volume {
                day: date!(2026 - 03 - 04),
                currency: usd
            }),
            ("VOLUME#2026-03".to_owned(), "DAY#2026-03-04#USD".to_owned())
        );
        assert_eq!(
            counter_key(&Counter::UserCurrency {
                user_id: UserId::new(7),
                currency: usd
            }),
            ("USER#7".to_owned(), "CCY#USD".to_owned())
        );
        assert_eq!(held_sk(PaymentId::new(42)), "PAYMENT#00000000000000000042");
    }

    #[test]
    fn counts_read_amounts_exactly() {
        let item = Item::from([
            ("pk".into(), text("STATS")),
            ("sk".into(), text("HELD#USD")),
            ("count".into(), number(2)),
            ("volume".into(), AttributeValue::N("0.3".into())),
        ]);
        let counts = counts_from_item(&item).unwrap();
        assert_eq!(counts.count("count"), 2);
        assert_eq!(counts.amount("volume").to_string(), "0.3000");
    }
}
