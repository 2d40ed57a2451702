//! Where payment keeps its state: the port, and its DynamoDB adapter.
//!
//! A transfer must move money in two wallets and record the payment in one transaction, so
//! the adapter composes wallet's own writes (`DynamoWalletStore::movement`) with payment's.
//!
//! Payment table layout (pk, sk):
//! - `PAYMENT#<id>`, `META`: the payment
//! - `USER#<user>`, `PAY#<id>`: a copy for each party's history, newest id last
//! - `COUNTERPARTY#<payer>`, `WALLET#<wallet>`: the payer has paid this wallet before
//! - `DAILY#<payer>`, `<yyyy-mm-dd>`: what the payer sent that UTC day (enforces the limit);
//!   the day is the payment's `created_at` in UTC, and a hold that ends with the money back
//!   with the payer takes its amount off that same day's total
//! - `CUSTOMER#<user>`, `PROFILE`: the tier, learned from auth's events
//! - `SEQUENCE#payments`, `SEQUENCE`: the payment id counter

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use finflow_shared::consumer::{InboxMarker, inbox_claim};
use finflow_shared::currency::Currency;
use finflow_shared::customer::AccountTier;
use finflow_shared::dynamo::{
    Item, ItemExt, ListError, StoreError, fetch_page, first_page_query, get_item, money,
    next_sequence_value, number, page_query, text, timestamp,
};
use finflow_shared::events::EventEnvelope;
use finflow_shared::events::payment::PaymentStatus;
use finflow_shared::outbox::outbox_put;
use finflow_shared::transaction::{Failure, TransactError, Witness, transact};
use finflow_shared::{Money, PaymentId, PositiveAmount, UserId, WalletId};
use finflow_wallet::domain::{LedgerEntry, Wallet};
use finflow_wallet::store::{DynamoWalletStore, WalletStore};
use time::{Date, OffsetDateTime};

use crate::domain::{Movement, Payment, PaymentState, RecentActivity, TransferPlan};

/// A transfer, fully decided, with its event and the request's receipt: every item its
/// transaction writes.
pub struct TransferWrite {
    pub plan: TransferPlan,
    pub event: EventEnvelope,
    /// The request's receipt, the transaction's witness.
    pub receipt: Witness,
}

/// The end of a hold, fully decided.
pub struct SettlementWrite {
    pub payment: Payment,
    /// The payer's wallet with the hold ended.
    pub source: Wallet,
    /// The payer's entry, when the money came back to it.
    pub source_entry: Option<LedgerEntry>,
    /// The payee's side of a release.
    pub destination: Option<ReleasedCredit>,
    /// The money went back to the payer: take the amount off the daily total it was counted
    /// in, in the same transaction (so exactly once, as the settlement itself).
    pub refund_daily: bool,
    pub event: EventEnvelope,
    /// The consumer and event that caused it, for the inbox.
    pub cause: InboxMarker,
}

/// The payee's wallet after a release's credit, and the highest balance it may have held
/// before (a condition, as at transfer time).
pub struct ReleasedCredit {
    pub credit: Movement,
    pub payee_room: Money,
}

pub struct PaymentPage {
    pub payments: Vec<Payment>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the daily limit would be exceeded")]
    DailyLimit,
    /// An earlier attempt of this operation committed (its receipt or inbox marker exists).
    #[error("the operation was already applied")]
    AlreadyApplied,
    #[error("the daily total holds less than the amount to give back")]
    DailyCounterShort,
    #[error("a wallet or the payment changed concurrently")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait PaymentStore: Send + Sync {
    async fn wallet(&self, id: WalletId) -> Result<Option<Wallet>, StoreError>;
    /// The tier payment last learned for `user`; bronze until it hears otherwise.
    async fn tier(&self, user: UserId) -> Result<AccountTier, StoreError>;
    async fn allocate_payment_id(&self) -> Result<PaymentId, StoreError>;
    async fn recent_activity(
        &self,
        payer: UserId,
        to_wallet: WalletId,
        since: OffsetDateTime,
    ) -> Result<RecentActivity, StoreError>;
    async fn record_transfer(&self, write: TransferWrite) -> Result<(), WriteError>;
    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StoreError>;
    async fn history(
        &self,
        user: UserId,
        status: Option<PaymentStatus>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<PaymentPage, ListError>;
    async fn settle(&self, write: SettlementWrite) -> Result<(), WriteError>;
}

pub struct DynamoPaymentStore {
    client: Client,
    table: String,
    outbox_table: String,
    idempotency_table: String,
    /// Wallet's own item builders: the transfer spans wallets and payments in one transaction.
    wallets: DynamoWalletStore,
}

impl DynamoPaymentStore {
    pub fn new(
        client: Client,
        table: String,
        wallet_table: String,
        outbox_table: String,
        idempotency_table: String,
    ) -> Self {
        DynamoPaymentStore {
            wallets: DynamoWalletStore::new(client.clone(), wallet_table, outbox_table.clone()),
            client,
            table,
            outbox_table,
            idempotency_table,
        }
    }

    fn put(
        &self,
        item: Item,
        condition: Option<(&str, &[(&str, AttributeValue)])>,
    ) -> TransactWriteItem {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some((expression, values)) = condition {
            put = put.condition_expression(expression);
            for (name, value) in values {
                put = put.expression_attribute_values(*name, value.clone());
            }
        }
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }

    /// The payment and both parties' history copies, written only over `version - 1`.
    fn payment_items(&self, payment: &Payment) -> Vec<TransactWriteItem> {
        let record = payment_item(
            payment,
            format!("PAYMENT#{}", payment.id),
            "META".into(),
            None,
        );
        let guard = if payment.version == 1 {
            ("attribute_not_exists(pk)", vec![])
        } else {
            (
                "version = :expected",
                vec![(":expected", number(payment.version - 1))],
            )
        };
        let mut items = vec![self.put(record, Some((guard.0, &guard.1)))];
        for (user, role) in [(payment.payer_id, "payer"), (payment.payee_id, "payee")] {
            let copy = payment_item(
                payment,
                format!("USER#{user}"),
                format!("{PAYMENTS_PREFIX}{:020}", payment.id),
                Some(role),
            );
            items.push(self.put(copy, None));
        }
        items
    }
}

/// Sort keys of a user's copies of their payments, under `USER#<id>`.
const PAYMENTS_PREFIX: &str = "PAY#";

impl DynamoPaymentStore {
    /// Sends a query of the user's payments (`USER#<id>`, `PAY#...`), newest first.
    async fn newest_payments(&self, query: QueryFluentBuilder) -> Result<PaymentPage, StoreError> {
        let query = query.scan_index_forward(false).consistent_read(true);
        let (payments, next_cursor) = fetch_page(query, payment_from_item).await?;
        Ok(PaymentPage {
            payments,
            next_cursor,
        })
    }

    /// Takes a returned hold's amount off the daily total of the day the transfer was counted
    /// under (its `created_at`, as `record_transfer` keyed it), never below zero: the total
    /// must still hold the amount. The settlement's inbox claim and payment version make it
    /// happen once.
    fn daily_refund(&self, payment: &Payment) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", text(format!("DAILY#{}", payment.payer_id)))
            .key("sk", text(day(payment.created_at)))
            .update_expression("SET #total = #total - :amount")
            .condition_expression("#total >= :amount")
            .expression_attribute_names("#total", "total")
            .expression_attribute_values(":amount", money(payment.amount.money()))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }
}

fn day(at: OffsetDateTime) -> String {
    let date: Date = at.to_offset(time::UtcOffset::UTC).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn payment_item(payment: &Payment, pk: String, sk: String, role: Option<&str>) -> Item {
    let mut item = Item::from([
        ("pk".into(), text(pk)),
        ("sk".into(), text(sk)),
        ("payment_id".into(), number(payment.id)),
        ("from_wallet_id".into(), number(payment.from_wallet_id)),
        ("to_wallet_id".into(), number(payment.to_wallet_id)),
        ("payer_id".into(), number(payment.payer_id)),
        ("payee_id".into(), number(payment.payee_id)),
        ("amount".into(), money(payment.amount.money())),
        ("currency".into(), text(payment.currency.code())),
        ("status".into(), text(payment.status().as_str())),
        (
            "hold_reasons".into(),
            AttributeValue::L(payment.state.hold_reasons().iter().map(text).collect()),
        ),
        ("version".into(), number(payment.version)),
        ("created_at".into(), timestamp(payment.created_at)),
        ("updated_at".into(), timestamp(payment.updated_at)),
    ]);
    if let Some(description) = &payment.description {
        item.insert("description".into(), text(description));
    }
    if let Some(resolution) = payment.state.resolution() {
        item.insert("resolution".into(), text(resolution));
    }
    if let Some(role) = role {
        item.insert("role".into(), text(role));
    }
    item
}

fn payment_from_item(item: &Item) -> Result<Payment, StoreError> {
    Ok(Payment {
        id: item.number("payment_id")?,
        from_wallet_id: item.number("from_wallet_id")?,
        to_wallet_id: item.number("to_wallet_id")?,
        payer_id: item.number("payer_id")?,
        payee_id: item.number("payee_id")?,
        amount: PositiveAmount::new(item.money("amount")?).map_err(|_| item.corrupt("amount"))?,
        currency: Currency::parse(&item.string("currency")?)
            .map_err(|_| item.corrupt("currency"))?,
        state: PaymentState::from_parts(
            PaymentStatus::parse(&item.string("status")?).ok_or_else(|| item.corrupt("status"))?,
            match item.get("hold_reasons") {
                Some(AttributeValue::L(reasons)) => reasons
                    .iter()
                    .filter_map(|r| r.as_s().ok().cloned())
                    .collect(),
                _ => Vec::new(),
            },
            item.optional_string("resolution"),
        )
        .ok_or_else(|| item.corrupt("status"))?,
        description: item.optional_string("description"),
        version: item.number("version")?,
        created_at: item.timestamp("created_at")?,
        updated_at: item.timestamp("updated_at")?,
    })
}

/// A transaction item whose failed condition means a particular refusal.
type Refusal = (usize, fn() -> WriteError);

/// The failed item tells which rule the transaction refused; `rules` in order of precedence.
fn write_error(error: TransactError, rules: &[Refusal]) -> WriteError {
    if let Some((_, rule)) = rules.iter().find(|(i, _)| error.condition_failed_at(*i)) {
        return rule();
    }
    match Failure::from(error) {
        Failure::AlreadyCommitted => WriteError::AlreadyApplied,
        // A condition failed or another transaction touched the same wallet: re-read, retry.
        Failure::Conflict => WriteError::Conflict,
        Failure::Store(error) => WriteError::Store(error),
    }
}

#[async_trait]
impl PaymentStore for DynamoPaymentStore {
    async fn wallet(&self, id: WalletId) -> Result<Option<Wallet>, StoreError> {
        self.wallets.wallet(id).await
    }

    async fn tier(&self, user: UserId) -> Result<AccountTier, StoreError> {
        let item = get_item(
            &self.client,
            &self.table,
            format!("CUSTOMER#{user}"),
            "PROFILE",
        )
        .await?;
        Ok(item
            .and_then(|item| item.optional_string("account_tier"))
            .and_then(|tier| AccountTier::parse(&tier))
            .unwrap_or(AccountTier::Bronze))
    }

    async fn allocate_payment_id(&self) -> Result<PaymentId, StoreError> {
        next_sequence_value(&self.client, &self.table, "payments").await
    }

    async fn recent_activity(
        &self,
        payer: UserId,
        to_wallet: WalletId,
        since: OffsetDateTime,
    ) -> Result<RecentActivity, StoreError> {
        let query = first_page_query(
            &self.client,
            &self.table,
            &format!("USER#{payer}"),
            PAYMENTS_PREFIX,
            50,
        );
        let counterparty = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", text(format!("COUNTERPARTY#{payer}")))
            .key("sk", text(format!("WALLET#{to_wallet}")))
            .send();
        // Independent reads: sent together, one round trip.
        let (history, counterparty) = tokio::try_join!(self.newest_payments(query), async {
            counterparty.await.map_err(StoreError::sdk)
        })?;
        let known = counterparty.item.is_some();
        Ok(RecentActivity::of(&history.payments, payer, since, !known))
    }

    async fn record_transfer(&self, write: TransferWrite) -> Result<(), WriteError> {
        let plan = &write.plan;
        let payment = &plan.payment;
        let mut items = self
            .wallets
            .movement(&plan.source.wallet, Some(&plan.source.entry));
        // The payee's maximum balance, in the transaction: a credited wallet is written only
        // over a balance that leaves room; a held transfer checks the same bound.
        match &plan.destination {
            Some(credit) => {
                items.extend(self.wallets.capped_movement(
                    &credit.wallet,
                    Some(&credit.entry),
                    plan.payee_room,
                ));
            }
            // A held transfer does not write the payee's wallet, yet it must find room there.
            None => items.push(
                self.wallets
                    .balance_at_most(payment.to_wallet_id, plan.payee_room),
            ),
        }
        items.extend(self.payment_items(payment));
        let counterparty = Item::from([
            (
                "pk".into(),
                text(format!("COUNTERPARTY#{}", payment.payer_id)),
            ),
            (
                "sk".into(),
                text(format!("WALLET#{}", payment.to_wallet_id)),
            ),
            ("first_payment_id".into(), number(payment.id)),
        ]);
        items.push(self.put(counterparty, None));
        // The limit is enforced by the transaction itself, so concurrent transfers cannot
        // together exceed it.
        let remaining = plan
            .daily_limit
            .checked_sub(payment.amount.money())
            .map_err(|e| WriteError::Store(StoreError::Sdk(e.to_string())))?;
        let daily = Update::builder()
            .table_name(&self.table)
            .key("pk", text(format!("DAILY#{}", payment.payer_id)))
            .key("sk", text(day(payment.created_at)))
            .update_expression("ADD #total :amount")
            .condition_expression("attribute_not_exists(#total) OR #total <= :remaining")
            .expression_attribute_names("#total", "total")
            .expression_attribute_values(":amount", money(payment.amount.money()))
            .expression_attribute_values(":remaining", money(remaining))
            .build()
            .expect("table, key and expression are set");
        let daily_index = items.len();
        items.push(TransactWriteItem::builder().update(daily).build());
        items.push(outbox_put(&self.outbox_table, &write.event));
        transact(&self.client, write.receipt, items)
            .await
            .map_err(|e| write_error(e, &[(daily_index, || WriteError::DailyLimit)]))
    }

    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        let item = get_item(&self.client, &self.table, format!("PAYMENT#{id}"), "META").await?;
        item.map(|item| payment_from_item(&item)).transpose()
    }

    async fn history(
        &self,
        user: UserId,
        status: Option<PaymentStatus>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<PaymentPage, ListError> {
        let pk = format!("USER#{user}");
        let mut query = page_query(
            &self.client,
            &self.table,
            &pk,
            PAYMENTS_PREFIX,
            limit,
            cursor,
        )?;
        if let Some(status) = status {
            query = query
                .filter_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", text(status.as_str()));
        }
        Ok(self.newest_payments(query).await?)
    }

    async fn settle(&self, write: SettlementWrite) -> Result<(), WriteError> {
        let inbox = inbox_claim(&self.idempotency_table, write.cause);
        let mut items = self
            .wallets
            .movement(&write.source, write.source_entry.as_ref());
        if let Some(ReleasedCredit { credit, payee_room }) = &write.destination {
            items.extend(self.wallets.capped_movement(
                &credit.wallet,
                Some(&credit.entry),
                *payee_room,
            ));
        }
        items.extend(self.payment_items(&write.payment));
        let mut rules: Vec<Refusal> = Vec::new();
        if write.refund_daily {
            rules.push((items.len(), || WriteError::DailyCounterShort));
            items.push(self.daily_refund(&write.payment));
        }
        items.push(outbox_put(&self.outbox_table, &write.event));
        transact(&self.client, inbox, items)
            .await
            .map_err(|e| write_error(e, &rules))
    }
}
